/*! \file    sfu_expiry.c
 * \brief    janus-sfu: deadline scheduler (see sfu_expiry.h)
 */
#include <string.h>

#include "sfu_expiry.h"

typedef struct entry {
	char *key; /* "<kind>\x1f<room>\x1f<user>" */
	char *room_id, *user_id;
	sfu_expiry_kind kind;
	gint64 deadline;
	guint64 seq; /* tie-breaker: the tree needs a strict order */
	GSequenceIter *pos;
} entry;

static GMutex lock;
static GCond wake;
static GSequence *timeline = NULL; /* entries ordered by (deadline, seq) */
static GHashTable *by_key = NULL;  /* key -> entry (owns it) */
static GThread *thread = NULL;
static gboolean quit = FALSE;
static guint64 next_seq = 0;
static sfu_expiry_fire_cb fire_cb = NULL;

static void entry_free(gpointer data) {
	entry *e = data;
	g_free(e->key);
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

static char *make_key(const char *room_id, const char *user_id, sfu_expiry_kind kind) {
	return g_strdup_printf("%d\x1f%s\x1f%s", (int)kind, room_id, user_id);
}

static gpointer run(gpointer unused) {
	(void)unused;
	g_mutex_lock(&lock);
	while(!quit) {
		GSequenceIter *first = g_sequence_get_begin_iter(timeline);
		if(g_sequence_iter_is_end(first)) {
			g_cond_wait(&wake, &lock);
			continue;
		}
		entry *e = g_sequence_get(first);
		gint64 now = g_get_real_time();
		if(e->deadline > now) {
			/* g_cond_wait_until takes monotonic time. */
			g_cond_wait_until(&wake, &lock, g_get_monotonic_time() + (e->deadline - now));
			continue;
		}
		/* Known from here: \c e is due. Take it out, then call back without the lock. */
		g_sequence_remove(e->pos);
		g_hash_table_steal(by_key, e->key);
		g_mutex_unlock(&lock);
		if(fire_cb != NULL)
			fire_cb(e->room_id, e->user_id, e->kind, e->deadline, now - e->deadline);
		entry_free(e);
		g_mutex_lock(&lock);
	}
	g_mutex_unlock(&lock);
	return NULL;
}

int sfu_expiry_start(sfu_expiry_fire_cb fire) {
	g_mutex_lock(&lock);
	timeline = g_sequence_new(NULL);
	by_key = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
	quit = FALSE;
	fire_cb = fire;
	g_mutex_unlock(&lock);
	GError *error = NULL;
	thread = g_thread_try_new("sfu-expiry", run, NULL, &error);
	if(thread == NULL) {
		g_clear_error(&error);
		return -1;
	}
	return 0;
}

void sfu_expiry_stop(void) {
	g_mutex_lock(&lock);
	quit = TRUE;
	g_cond_signal(&wake);
	g_mutex_unlock(&lock);
	if(thread != NULL)
		g_thread_join(thread);
	thread = NULL;
	g_mutex_lock(&lock);
	if(timeline != NULL)
		g_sequence_free(timeline);
	timeline = NULL;
	if(by_key != NULL)
		g_hash_table_destroy(by_key);
	by_key = NULL;
	g_mutex_unlock(&lock);
}

void sfu_expiry_set(const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us) {
	char *key = make_key(room_id, user_id, kind);
	g_mutex_lock(&lock);
	if(by_key == NULL) {
		g_mutex_unlock(&lock);
		g_free(key);
		return;
	}
	entry *e = g_hash_table_lookup(by_key, key);
	if(e != NULL) {
		g_sequence_remove(e->pos);
		g_hash_table_remove(by_key, key);
	}
	if(deadline_us > 0) {
		e = g_malloc0(sizeof(entry));
		e->key = key;
		key = NULL;
		e->room_id = g_strdup(room_id);
		e->user_id = g_strdup(user_id);
		e->kind = kind;
		e->deadline = deadline_us;
		e->seq = next_seq++;
		e->pos = g_sequence_insert_sorted(timeline, e, compare, NULL);
		g_hash_table_insert(by_key, e->key, e);
		/* Wake the thread only if this is now the earliest deadline. */
		if(g_sequence_iter_is_begin(e->pos))
			g_cond_signal(&wake);
	}
	g_mutex_unlock(&lock);
	g_free(key);
}

gint64 sfu_expiry_get(const char *room_id, const char *user_id, sfu_expiry_kind kind) {
	char *key = make_key(room_id, user_id, kind);
	g_mutex_lock(&lock);
	entry *e = by_key ? g_hash_table_lookup(by_key, key) : NULL;
	gint64 deadline = e ? e->deadline : 0;
	g_mutex_unlock(&lock);
	g_free(key);
	return deadline;
}

void sfu_expiry_cancel_user(const char *room_id, const char *user_id) {
	for(int k = 0; k < SFU_EXPIRY__KINDS; k++)
		sfu_expiry_set(room_id, user_id, k, 0);
}

guint sfu_expiry_count(void) {
	g_mutex_lock(&lock);
	guint n = by_key ? g_hash_table_size(by_key) : 0;
	g_mutex_unlock(&lock);
	return n;
}
