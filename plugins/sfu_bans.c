/*! \file    sfu_bans.c
 * \brief    janus-sfu: kick bans and jti ownership (see sfu_bans.h)
 * \details  Each table is a hash table (identity -> entry) for lookups and a
 * sequence ordered by expiry for pruning and for making room, so pruning takes
 * only what has expired and a full table gives up its soonest-expiring entry.
 */
#include <string.h>

#include "sfu_bans.h"
#include "sfu_lock.h"

typedef struct ban {
	sfu_ban_kind kind;
	char *room_id, *value; /* the identity: (kind, room, value) */
	char *user_id, *by;    /* the kicked user, who kicked */
	gint64 until;
	guint64 seq;
	GSequenceIter *pos;      /* in bans_by_until */
	GSequenceIter *room_pos; /* in its room's by_until */
} ban;

/* One room's bans, for its quota. */
typedef struct room_bans {
	GSequence *by_until; /* ban*, ordered by (until, seq) */
	guint count;
} room_bans;

typedef struct jti_claim {
	char *jti, *user_id;
	gint64 exp;
	guint64 seq;
	GSequenceIter *pos;
} jti_claim;

static sfu_mutex lock = SFU_MUTEX_INIT;
static GHashTable *bans = NULL;         /* ban* -> ban* (the key is the entry: kind, room, value) */
static GSequence *bans_by_until = NULL; /* ban*, ordered by (until, seq) */
static GHashTable *rooms = NULL;        /* room_id -> room_bans* */
static GHashTable *jtis = NULL;         /* jti -> jti_claim* */
static GSequence *jtis_by_exp = NULL;   /* jti_claim*, ordered by (exp, seq) */
static guint max_bans = 1, max_per_room = 1, max_jtis = 1;
static guint64 next_seq = 0;

/* =============================================================================
 * Entries
 * ==========================================================================*/

static guint ban_hash(gconstpointer p) {
	const ban *b = p;
	return (g_str_hash(b->room_id) * 31u + g_str_hash(b->value)) * 3u + (guint)b->kind;
}

static gboolean ban_equal(gconstpointer x, gconstpointer y) {
	const ban *a = x, *b = y;
	return a->kind == b->kind && !strcmp(a->room_id, b->room_id) && !strcmp(a->value, b->value);
}

static void ban_free(gpointer data) {
	ban *b = data;
	g_free(b->room_id);
	g_free(b->value);
	g_free(b->user_id);
	g_free(b->by);
	g_free(b);
}

static void claim_free(gpointer data) {
	jti_claim *c = data;
	g_free(c->jti);
	g_free(c->user_id);
	g_free(c);
}

static gint by_until(gconstpointer x, gconstpointer y, gpointer unused) {
	(void)unused;
	const ban *a = x, *b = y;
	if(a->until != b->until)
		return a->until < b->until ? -1 : 1;
	return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static gint by_exp(gconstpointer x, gconstpointer y, gpointer unused) {
	(void)unused;
	const jti_claim *a = x, *b = y;
	if(a->exp != b->exp)
		return a->exp < b->exp ? -1 : 1;
	return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static void room_bans_free(gpointer data) {
	room_bans *r = data;
	g_sequence_free(r->by_until);
	g_free(r);
}

/* Unlink and free \p b (lock held). */
static void ban_drop(ban *b) {
	room_bans *r = g_hash_table_lookup(rooms, b->room_id);
	g_sequence_remove(b->room_pos);
	if(--r->count == 0)
		g_hash_table_remove(rooms, b->room_id);
	g_sequence_remove(b->pos);
	g_hash_table_remove(bans, b); /* frees it */
}

static void claim_drop(jti_claim *c) {
	g_sequence_remove(c->pos);
	g_hash_table_remove(jtis, c->jti); /* frees it */
}

/* Drop what has expired, soonest first: only the expired entries are visited (lock held). */
static void prune(gint64 now_s) {
	GSequenceIter *first;
	while(
		bans_by_until != NULL && !g_sequence_iter_is_end(first = g_sequence_get_begin_iter(bans_by_until))) {
		ban *b = g_sequence_get(first);
		if(b->until > now_s)
			break;
		ban_drop(b);
	}
	while(jtis_by_exp != NULL && !g_sequence_iter_is_end(first = g_sequence_get_begin_iter(jtis_by_exp))) {
		jti_claim *c = g_sequence_get(first);
		if(c->exp > now_s)
			break;
		claim_drop(c);
	}
}

/* =============================================================================
 * Public API
 * ==========================================================================*/

void sfu_bans_init(guint bans_bound, guint per_room_bound, guint jtis_bound) {
	sfu_mutex_lock(&lock);
	max_bans = MAX(bans_bound, 1);
	max_per_room = MAX(per_room_bound, 1);
	max_jtis = MAX(jtis_bound, 1);
	if(bans == NULL) {
		bans = g_hash_table_new_full(ban_hash, ban_equal, NULL, ban_free);
		bans_by_until = g_sequence_new(NULL);
		rooms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, room_bans_free);
		jtis = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, claim_free);
		jtis_by_exp = g_sequence_new(NULL);
	}
	sfu_mutex_unlock(&lock);
}

void sfu_bans_shutdown(void) {
	sfu_mutex_lock(&lock);
	g_clear_pointer(&rooms, g_hash_table_destroy);
	g_clear_pointer(&bans_by_until, g_sequence_free);
	g_clear_pointer(&bans, g_hash_table_destroy);
	g_clear_pointer(&jtis_by_exp, g_sequence_free);
	g_clear_pointer(&jtis, g_hash_table_destroy);
	sfu_mutex_unlock(&lock);
}

sfu_ban_added sfu_bans_add(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until_s, const char *by, gint64 now_s) {
	if(room_id == NULL || value == NULL || user_id == NULL)
		return SFU_BAN_ADDED;
	sfu_ban_added out = SFU_BAN_ADDED;
	sfu_mutex_lock(&lock);
	if(bans == NULL) {
		sfu_mutex_unlock(&lock);
		return SFU_BAN_ADDED;
	}
	prune(now_s);
	ban probe = {.kind = kind, .room_id = (char *)room_id, .value = (char *)value};
	ban *b = g_hash_table_lookup(bans, &probe);
	if(b != NULL && b->until >= until_s) {
		sfu_mutex_unlock(&lock);
		return SFU_BAN_ADDED;
	}
	room_bans *r = g_hash_table_lookup(rooms, room_id);
	if(b != NULL) {
		ban_drop(b);
	} else if(r != NULL && r->count >= max_per_room) {
		/* Known from here: the room is at its quota. It gives up its own ban that expires soonest. */
		ban_drop(g_sequence_get(g_sequence_get_begin_iter(r->by_until)));
		out = SFU_BAN_REPLACED_OWN;
	} else if(g_hash_table_size(bans) >= max_bans) {
		/* Full of live bans: the room holding the most gives up its soonest one, so a room flooding the table
		 * with its own kicks pays for them itself, never a room with fewer bans. */
		room_bans *biggest = r;
		GHashTableIter iter;
		gpointer entry;
		g_hash_table_iter_init(&iter, rooms);
		while(g_hash_table_iter_next(&iter, NULL, &entry)) {
			room_bans *other = entry;
			if(biggest == NULL || other->count > biggest->count)
				biggest = other;
		}
		out = biggest == r ? SFU_BAN_REPLACED_OWN : SFU_BAN_REPLACED_OTHER;
		ban_drop(g_sequence_get(g_sequence_get_begin_iter(biggest->by_until)));
	}
	r = g_hash_table_lookup(rooms, room_id); /* ban_drop may have freed it */
	if(r == NULL) {
		r = g_new0(room_bans, 1);
		r->by_until = g_sequence_new(NULL);
		g_hash_table_insert(rooms, g_strdup(room_id), r);
	}
	b = g_new0(ban, 1);
	b->kind = kind;
	b->room_id = g_strdup(room_id);
	b->value = g_strdup(value);
	b->user_id = g_strdup(user_id);
	b->by = g_strdup(by);
	b->until = until_s;
	b->seq = next_seq++;
	b->pos = g_sequence_insert_sorted(bans_by_until, b, by_until, NULL);
	b->room_pos = g_sequence_insert_sorted(r->by_until, b, by_until, NULL);
	r->count++;
	g_hash_table_add(bans, b);
	sfu_mutex_unlock(&lock);
	return out;
}

/* A live ban of (kind, room, value)? (lock held) */
static gboolean banned(sfu_ban_kind kind, const char *room_id, const char *value, gint64 now_s) {
	if(value == NULL)
		return FALSE;
	ban probe = {.kind = kind, .room_id = (char *)room_id, .value = (char *)value};
	ban *b = g_hash_table_lookup(bans, &probe);
	return b != NULL && b->until > now_s;
}

gboolean sfu_bans_check(
	const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 now_s) {
	if(room_id == NULL)
		return FALSE;
	sfu_mutex_lock(&lock);
	gboolean out = bans != NULL &&
				   (banned(SFU_BAN_USER, room_id, user_id, now_s) ||
					   banned(SFU_BAN_SUB, room_id, sub, now_s) || banned(SFU_BAN_JTI, room_id, jti, now_s));
	sfu_mutex_unlock(&lock);
	return out;
}

guint sfu_bans_remove(const char *room_id, const char *user_id) {
	guint n = 0;
	sfu_mutex_lock(&lock);
	/* An operator's request, rare: a walk over the table is fine here (never on the join path). */
	GSequenceIter *it = bans_by_until ? g_sequence_get_begin_iter(bans_by_until) : NULL;
	while(it != NULL && !g_sequence_iter_is_end(it)) {
		ban *b = g_sequence_get(it);
		it = g_sequence_iter_next(it);
		if(!strcmp(b->room_id, room_id) && !strcmp(b->user_id, user_id)) {
			ban_drop(b);
			n++;
		}
	}
	sfu_mutex_unlock(&lock);
	return n;
}

static const char *kind_name(sfu_ban_kind kind) {
	switch(kind) {
		case SFU_BAN_SUB:
			return "sub";
		case SFU_BAN_JTI:
			return "jti";
		case SFU_BAN_USER:
		default:
			return "user_id";
	}
}

json_t *sfu_bans_list(const char *room_id, gint64 now_s) {
	json_t *list = json_array();
	sfu_mutex_lock(&lock);
	if(bans != NULL)
		prune(now_s);
	GSequenceIter *it = bans_by_until ? g_sequence_get_begin_iter(bans_by_until) : NULL;
	for(; it != NULL && !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
		ban *b = g_sequence_get(it);
		if(room_id != NULL && strcmp(b->room_id, room_id) != 0)
			continue;
		json_t *item = json_pack("{sssssssI}", "room_id", b->room_id, "user_id", b->user_id, "identity",
			kind_name(b->kind), "until", (json_int_t)b->until);
		if(b->kind != SFU_BAN_USER)
			json_object_set_new(item, kind_name(b->kind), json_string(b->value));
		if(b->by != NULL)
			json_object_set_new(item, "by", json_string(b->by));
		json_array_append_new(list, item);
	}
	sfu_mutex_unlock(&lock);
	return list;
}

guint sfu_bans_count(void) {
	sfu_mutex_lock(&lock);
	guint n = bans ? g_hash_table_size(bans) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}

sfu_jti_claim sfu_bans_claim_jti(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s) {
	if(jti == NULL || user_id == NULL)
		return SFU_JTI_OK;
	sfu_jti_claim out = SFU_JTI_OK;
	sfu_mutex_lock(&lock);
	if(jtis == NULL) {
		sfu_mutex_unlock(&lock);
		return SFU_JTI_OK;
	}
	prune(now_s);
	jti_claim *c = g_hash_table_lookup(jtis, jti);
	if(c != NULL) {
		/* Known from here: a live claim (expired ones were pruned). */
		if(strcmp(c->user_id, user_id) != 0)
			out = SFU_JTI_TAKEN;
	} else if(exp_s <= now_s) {
		/* Nothing to remember: the token is not valid for longer than now. */
	} else if(g_hash_table_size(jtis) >= max_jtis) {
		out = SFU_JTI_FULL;
	} else {
		c = g_new0(jti_claim, 1);
		c->jti = g_strdup(jti);
		c->user_id = g_strdup(user_id);
		c->exp = exp_s;
		c->seq = next_seq++;
		c->pos = g_sequence_insert_sorted(jtis_by_exp, c, by_exp, NULL);
		g_hash_table_insert(jtis, c->jti, c);
	}
	sfu_mutex_unlock(&lock);
	return out;
}

guint sfu_bans_jti_count(void) {
	sfu_mutex_lock(&lock);
	guint n = jtis ? g_hash_table_size(jtis) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}
