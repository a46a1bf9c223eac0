/*! \file    sfu_expiry.c
 * \brief    janus-sfu: deadline scheduler (see sfu_expiry.h)
 */
#include <string.h>

#include "sfu_expiry.h"
#include "sfu_lock.h"

/* One deadline. The entry is its own hash key: (kind, room, user) compared field by field, so no two
 * different ids can ever share a key (a joined string would, for ids holding its separator). */
typedef struct entry {
	char *room_id, *user_id;
	sfu_expiry_kind kind;
	gint64 deadline;
	guint64 seq; /* tie-breaker: the tree needs a strict order */
	GSequenceIter *pos;
} entry;

static sfu_mutex lock = SFU_MUTEX_INIT;
static sfu_cond wake;
static GSequence *timeline = NULL; /* entries ordered by (deadline, seq) */
static GHashTable *by_key = NULL;  /* entry -> entry (owns it) */
static GThread *thread = NULL;
static gboolean quit = FALSE;
static guint64 next_seq = 0;
static sfu_expiry_fire_cb fire_cb = NULL;

static void entry_free(gpointer data) {
	entry *e = data;
	g_free(e->room_id);
	g_free(e->user_id);
	g_free(e);
}

static gint compare(gconstpointer a, gconstpointer b, gpointer unused) {
	(void)unused;
	const entry *x = a, *y = b;
	if(x->deadline != y->deadline)
		return x->deadline < y->deadline ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static guint entry_hash(gconstpointer p) {
	const entry *e = p;
	return (g_str_hash(e->room_id) * 31u + g_str_hash(e->user_id)) * 4u + (guint)e->kind;
}

static gboolean entry_equal(gconstpointer x, gconstpointer y) {
	const entry *a = x, *b = y;
	return a->kind == b->kind && !strcmp(a->room_id, b->room_id) && !strcmp(a->user_id, b->user_id);
}

/* A lookup key on the stack (borrows the strings). */
static entry probe(const char *room_id, const char *user_id, sfu_expiry_kind kind) {
	entry e = {.room_id = (char *)room_id, .user_id = (char *)user_id, .kind = kind};
	return e;
}

static gpointer run(gpointer unused) {
	(void)unused;
	sfu_mutex_lock(&lock);
	while(!quit) {
		GSequenceIter *first = g_sequence_get_begin_iter(timeline);
		if(g_sequence_iter_is_end(first)) {
			sfu_cond_wait(&wake, &lock);
			continue;
		}
		entry *e = g_sequence_get(first);
		gint64 now = g_get_real_time();
		if(e->deadline > now) {
			/* Deadlines are real time; the wait is on the monotonic clock. */
			sfu_cond_wait_until(&wake, &lock, g_get_monotonic_time() + (e->deadline - now));
			continue;
		}
		/* Known from here: \c e is due. Take it out, then call back without the lock. */
		g_sequence_remove(e->pos);
		g_hash_table_steal(by_key, e);
		sfu_mutex_unlock(&lock);
		if(fire_cb != NULL)
			fire_cb(e->room_id, e->user_id, e->kind, e->deadline, now - e->deadline);
		entry_free(e);
		sfu_mutex_lock(&lock);
	}
	sfu_mutex_unlock(&lock);
	return NULL;
}

int sfu_expiry_start(sfu_expiry_fire_cb fire) {
	sfu_mutex_lock(&lock);
	sfu_cond_init(&wake);
	timeline = g_sequence_new(NULL);
	by_key = g_hash_table_new_full(entry_hash, entry_equal, NULL, entry_free);
	quit = FALSE;
	fire_cb = fire;
	sfu_mutex_unlock(&lock);
	GError *error = NULL;
	thread = g_thread_try_new("sfu-expiry", run, NULL, &error);
	if(thread == NULL) {
		g_clear_error(&error);
		return -1;
	}
	return 0;
}

void sfu_expiry_stop(void) {
	sfu_mutex_lock(&lock);
	gboolean started = by_key != NULL;
	quit = TRUE;
	if(started)
		sfu_cond_signal(&wake);
	sfu_mutex_unlock(&lock);
	if(thread != NULL)
		g_thread_join(thread);
	thread = NULL;
	sfu_mutex_lock(&lock);
	if(timeline != NULL)
		g_sequence_free(timeline);
	timeline = NULL;
	if(by_key != NULL)
		g_hash_table_destroy(by_key);
	by_key = NULL;
	if(started)
		sfu_cond_clear(&wake);
	sfu_mutex_unlock(&lock);
}

void sfu_expiry_set(const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us) {
	entry key = probe(room_id, user_id, kind);
	sfu_mutex_lock(&lock);
	if(by_key == NULL) {
		sfu_mutex_unlock(&lock);
		return;
	}
	entry *e = g_hash_table_lookup(by_key, &key);
	if(e != NULL) {
		g_sequence_remove(e->pos);
		g_hash_table_remove(by_key, e);
	}
	if(deadline_us > 0) {
		e = g_malloc0(sizeof(entry));
		e->room_id = g_strdup(room_id);
		e->user_id = g_strdup(user_id);
		e->kind = kind;
		e->deadline = deadline_us;
		e->seq = next_seq++;
		e->pos = g_sequence_insert_sorted(timeline, e, compare, NULL);
		g_hash_table_add(by_key, e);
		/* Wake the thread only if this is now the earliest deadline. */
		if(g_sequence_iter_is_begin(e->pos))
			sfu_cond_signal(&wake);
	}
	sfu_mutex_unlock(&lock);
}

gint64 sfu_expiry_get(const char *room_id, const char *user_id, sfu_expiry_kind kind) {
	entry key = probe(room_id, user_id, kind);
	sfu_mutex_lock(&lock);
	entry *e = by_key ? g_hash_table_lookup(by_key, &key) : NULL;
	gint64 deadline = e ? e->deadline : 0;
	sfu_mutex_unlock(&lock);
	return deadline;
}

void sfu_expiry_cancel_user(const char *room_id, const char *user_id) {
	for(int k = 0; k < SFU_EXPIRY__KINDS; k++)
		sfu_expiry_set(room_id, user_id, k, 0);
}

guint sfu_expiry_count(void) {
	sfu_mutex_lock(&lock);
	guint n = by_key ? g_hash_table_size(by_key) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}
