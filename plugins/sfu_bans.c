/*! \file    sfu_bans.c
 * \brief    janus-sfu: kick bans, revocations, mutes and jti ownership (see sfu_bans.h)
 * \details  Each table is a hash table (identity -> entry) for lookups and a
 * sequence ordered by expiry for pruning and for making room, so pruning takes
 * only what has expired and a full table gives up (or refuses) by expiry.
 */
#include <string.h>

#include "sfu_bans.h"
#include "sfu_lock.h"

/* One entry of any table: the identity (kind, scope, value) and what is kept about it. */
typedef struct entry {
	int kind;
	char *scope, *value; /* the identity: (kind, scope, value); scope is a room, or "" */
	char *user_id, *by;  /* bans: the kicked user, who kicked; jti: the owner; mutes/revocations: by */
	guint mask;          /* mutes: SFU_MUTE_* */
	gint64 until;
	guint64 seq;
	GSequenceIter *pos;       /* in its table's by_until */
	GSequenceIter *scope_pos; /* tables counted per room (bans, mutes): in its room's by_until */
} entry;

/* One room's entries in a table counted per room (kick bans, mutes). */
typedef struct room_entries {
	GSequence *by_until; /* entry*, ordered by (until, seq) */
	guint count;
} room_entries;

/* A bounded table: lookups by identity, pruning and making room by expiry. */
typedef struct table {
	GHashTable *hash;    /* entry* -> entry* (the key is the entry) */
	GSequence *by_until; /* entry*, ordered by (until, seq) */
	guint max;
	GHashTable *rooms; /* room_id -> room_entries*, for tables counted per room (bans, mutes); else NULL */
} table;

static sfu_mutex lock = SFU_MUTEX_INIT;
static table bans, jtis, revocations, mutes;
static guint max_bans_per_room = 1;
static gboolean ready = FALSE;
static guint64 next_seq = 0;

/* =============================================================================
 * Entries and tables (lock held)
 * ==========================================================================*/

static guint entry_hash(gconstpointer p) {
	const entry *e = p;
	return (g_str_hash(e->scope) * 31u + g_str_hash(e->value)) * 7u + (guint)e->kind;
}

static gboolean entry_equal(gconstpointer x, gconstpointer y) {
	const entry *a = x, *b = y;
	return a->kind == b->kind && !strcmp(a->scope, b->scope) && !strcmp(a->value, b->value);
}

static void entry_free(gpointer data) {
	entry *e = data;
	g_free(e->scope);
	g_free(e->value);
	g_free(e->user_id);
	g_free(e->by);
	g_free(e);
}

static gint by_until(gconstpointer x, gconstpointer y, gpointer unused) {
	(void)unused;
	const entry *a = x, *b = y;
	if(a->until != b->until)
		return a->until < b->until ? -1 : 1;
	return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

static void table_init(table *t, guint max) {
	t->max = MAX(max, 1);
	if(t->hash == NULL) {
		t->hash = g_hash_table_new_full(entry_hash, entry_equal, NULL, entry_free);
		t->by_until = g_sequence_new(NULL);
	}
}

static void room_entries_free(gpointer data) {
	room_entries *r = data;
	g_sequence_free(r->by_until);
	g_free(r);
}

/* A table whose entries are also counted per room (scope). */
static void table_init_per_room(table *t, guint max) {
	table_init(t, max);
	if(t->rooms == NULL)
		t->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, room_entries_free);
}

static void table_clear(table *t) {
	g_clear_pointer(&t->rooms, g_hash_table_destroy);
	g_clear_pointer(&t->by_until, g_sequence_free);
	g_clear_pointer(&t->hash, g_hash_table_destroy);
}

static void entry_drop(table *t, entry *e) {
	if(e->scope_pos != NULL) {
		room_entries *r = g_hash_table_lookup(t->rooms, e->scope);
		g_sequence_remove(e->scope_pos);
		if(--r->count == 0)
			g_hash_table_remove(t->rooms, e->scope);
	}
	g_sequence_remove(e->pos);
	g_hash_table_remove(t->hash, e); /* frees it */
}

/* Drop what has expired, soonest first: only the expired entries are visited. */
static void table_prune(table *t, gint64 now_s) {
	GSequenceIter *first;
	while(t->by_until != NULL && !g_sequence_iter_is_end(first = g_sequence_get_begin_iter(t->by_until))) {
		entry *e = g_sequence_get(first);
		if(e->until > now_s)
			break;
		entry_drop(t, e);
	}
}

static void prune_all(gint64 now_s) {
	table_prune(&bans, now_s);
	table_prune(&jtis, now_s);
	table_prune(&revocations, now_s);
	table_prune(&mutes, now_s);
}

static entry *table_lookup(table *t, int kind, const char *scope, const char *value) {
	if(t->hash == NULL || value == NULL)
		return NULL;
	entry probe = {.kind = kind, .scope = (char *)scope, .value = (char *)value};
	return g_hash_table_lookup(t->hash, &probe);
}

/* A live entry of (kind, scope, value)? */
static entry *table_live(table *t, int kind, const char *scope, const char *value, gint64 now_s) {
	entry *e = table_lookup(t, kind, scope, value);
	return e != NULL && e->until > now_s ? e : NULL;
}

static entry *table_insert(table *t, int kind, const char *scope, const char *value, const char *user_id,
	const char *by, gint64 until_s) {
	entry *e = g_new0(entry, 1);
	e->kind = kind;
	e->scope = g_strdup(scope);
	e->value = g_strdup(value);
	e->user_id = g_strdup(user_id);
	e->by = g_strdup(by);
	e->until = until_s;
	e->seq = next_seq++;
	e->pos = g_sequence_insert_sorted(t->by_until, e, by_until, NULL);
	g_hash_table_add(t->hash, e);
	return e;
}

/* Give up the entry that expires soonest (the table is full of live entries). */
static void table_drop_soonest(table *t) {
	entry_drop(t, g_sequence_get(g_sequence_get_begin_iter(t->by_until)));
}

/* The room holding the most entries of a table counted per room; on a tie, \p mine (the room adding one). */
static room_entries *biggest_room(table *t, room_entries *mine) {
	room_entries *biggest = NULL;
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, t->rooms);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		room_entries *r = value;
		if(biggest == NULL || r->count > biggest->count || (r->count == biggest->count && r == mine))
			biggest = r;
	}
	return biggest;
}

/* A table counted per room is full of live entries: the room holding the most gives up its soonest one, so
 * a room flooding the table pays for it itself, never a room with fewer entries.
 * @returns TRUE when the entry given up was \p room_id's own */
static gboolean give_up_biggest_rooms(table *t, const char *room_id) {
	room_entries *mine = g_hash_table_lookup(t->rooms, room_id), *biggest = biggest_room(t, mine);
	entry_drop(t, g_sequence_get(g_sequence_get_begin_iter(biggest->by_until)));
	return biggest == mine;
}

/* table_insert into a table counted per room (\p room_id is the scope). */
static entry *room_insert(table *t, int kind, const char *room_id, const char *value, const char *user_id,
	const char *by, gint64 until_s) {
	room_entries *r = g_hash_table_lookup(t->rooms, room_id);
	if(r == NULL) {
		r = g_new0(room_entries, 1);
		r->by_until = g_sequence_new(NULL);
		g_hash_table_insert(t->rooms, g_strdup(room_id), r);
	}
	entry *e = table_insert(t, kind, room_id, value, user_id, by, until_s);
	e->scope_pos = g_sequence_insert_sorted(r->by_until, e, by_until, NULL);
	r->count++;
	return e;
}

/* =============================================================================
 * Life
 * ==========================================================================*/

void sfu_bans_init(guint bans_bound, guint per_room_bound, guint jtis_bound) {
	sfu_mutex_lock(&lock);
	table_init_per_room(&bans, bans_bound);
	max_bans_per_room = MAX(per_room_bound, 1);
	table_init(&jtis, jtis_bound);
	if(revocations.hash == NULL)
		table_init(&revocations, 100000);
	if(mutes.hash == NULL)
		table_init_per_room(&mutes, 100000);
	ready = TRUE;
	sfu_mutex_unlock(&lock);
}

void sfu_bans_init_moderation(guint revocations_bound, guint mutes_bound) {
	sfu_mutex_lock(&lock);
	table_init(&revocations, revocations_bound);
	table_init_per_room(&mutes, mutes_bound);
	sfu_mutex_unlock(&lock);
}

void sfu_bans_shutdown(void) {
	sfu_mutex_lock(&lock);
	table_clear(&bans);
	table_clear(&jtis);
	table_clear(&revocations);
	table_clear(&mutes);
	ready = FALSE;
	sfu_mutex_unlock(&lock);
}

/* =============================================================================
 * Kick bans
 * ==========================================================================*/

sfu_ban_added sfu_bans_add(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until_s, const char *by, gint64 now_s) {
	if(room_id == NULL || value == NULL || user_id == NULL)
		return SFU_BAN_ADDED;
	sfu_ban_added out = SFU_BAN_ADDED;
	sfu_mutex_lock(&lock);
	if(!ready) {
		sfu_mutex_unlock(&lock);
		return SFU_BAN_ADDED;
	}
	table_prune(&bans, now_s);
	entry *b = table_lookup(&bans, kind, room_id, value);
	if(b != NULL && b->until >= until_s) {
		sfu_mutex_unlock(&lock);
		return SFU_BAN_ADDED;
	}
	room_entries *r = g_hash_table_lookup(bans.rooms, room_id);
	if(b != NULL) {
		entry_drop(&bans, b);
	} else if(r != NULL && r->count >= max_bans_per_room) {
		/* Known from here: the room is at its quota. It gives up its own ban that expires soonest. */
		entry_drop(&bans, g_sequence_get(g_sequence_get_begin_iter(r->by_until)));
		out = SFU_BAN_REPLACED_OWN;
	} else if(g_hash_table_size(bans.hash) >= bans.max) {
		out = give_up_biggest_rooms(&bans, room_id) ? SFU_BAN_REPLACED_OWN : SFU_BAN_REPLACED_OTHER;
	}
	room_insert(&bans, kind, room_id, value, user_id, by, until_s);
	sfu_mutex_unlock(&lock);
	return out;
}

gboolean sfu_bans_check(
	const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 now_s) {
	if(room_id == NULL)
		return FALSE;
	sfu_mutex_lock(&lock);
	gboolean out = ready && (table_live(&bans, SFU_BAN_USER, room_id, user_id, now_s) != NULL ||
								table_live(&bans, SFU_BAN_SUB, room_id, sub, now_s) != NULL ||
								table_live(&bans, SFU_BAN_JTI, room_id, jti, now_s) != NULL);
	sfu_mutex_unlock(&lock);
	return out;
}

guint sfu_bans_remove(const char *room_id, const char *user_id) {
	guint n = 0;
	sfu_mutex_lock(&lock);
	/* An operator's request, rare: a walk over the table is fine here (never on the join path). */
	GSequenceIter *it = bans.by_until ? g_sequence_get_begin_iter(bans.by_until) : NULL;
	while(it != NULL && !g_sequence_iter_is_end(it)) {
		entry *b = g_sequence_get(it);
		it = g_sequence_iter_next(it);
		if(!strcmp(b->scope, room_id) && !strcmp(b->user_id, user_id)) {
			entry_drop(&bans, b);
			n++;
		}
	}
	sfu_mutex_unlock(&lock);
	return n;
}

const char *sfu_ban_kind_name(sfu_ban_kind kind) {
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

gboolean sfu_ban_kind_parse(const char *name, sfu_ban_kind *out) {
	for(int k = SFU_BAN_USER; k <= SFU_BAN_JTI; k++) {
		if(name != NULL && !strcmp(name, sfu_ban_kind_name(k))) {
			*out = k;
			return TRUE;
		}
	}
	return FALSE;
}

json_t *sfu_bans_list(const char *room_id, gint64 now_s) {
	json_t *list = json_array();
	sfu_mutex_lock(&lock);
	if(ready)
		table_prune(&bans, now_s);
	GSequenceIter *it = bans.by_until ? g_sequence_get_begin_iter(bans.by_until) : NULL;
	for(; it != NULL && !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
		entry *b = g_sequence_get(it);
		if(room_id != NULL && strcmp(b->scope, room_id) != 0)
			continue;
		json_t *item = json_pack("{sssssssI}", "room_id", b->scope, "user_id", b->user_id, "identity",
			sfu_ban_kind_name(b->kind), "until", (json_int_t)b->until);
		if(b->kind != SFU_BAN_USER)
			json_object_set_new(item, sfu_ban_kind_name(b->kind), json_string(b->value));
		if(b->by != NULL)
			json_object_set_new(item, "by", json_string(b->by));
		json_array_append_new(list, item);
	}
	sfu_mutex_unlock(&lock);
	return list;
}

guint sfu_bans_count(void) {
	sfu_mutex_lock(&lock);
	guint n = bans.hash ? g_hash_table_size(bans.hash) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}

/* =============================================================================
 * Revocations
 * ==========================================================================*/

const char *sfu_revoke_kind_name(sfu_revoke_kind kind) {
	switch(kind) {
		case SFU_REVOKE_SUB:
			return "sub";
		case SFU_REVOKE_USER:
			return "user_id";
		case SFU_REVOKE_KID:
			return "kid";
		case SFU_REVOKE_JTI:
		default:
			return "jti";
	}
}

gboolean sfu_revoke_kind_parse(const char *name, sfu_revoke_kind *out) {
	for(int k = SFU_REVOKE_JTI; k <= SFU_REVOKE_KID; k++) {
		if(name != NULL && !strcmp(name, sfu_revoke_kind_name(k))) {
			*out = k;
			return TRUE;
		}
	}
	return FALSE;
}

gboolean sfu_bans_revoke(
	sfu_revoke_kind kind, const char *value, gint64 until_s, const char *by, gint64 now_s) {
	if(value == NULL)
		return FALSE;
	gboolean ok = TRUE;
	sfu_mutex_lock(&lock);
	if(!ready) {
		sfu_mutex_unlock(&lock);
		return FALSE;
	}
	table_prune(&revocations, now_s);
	entry *e = table_lookup(&revocations, kind, "", value);
	if(e != NULL && e->until >= until_s) {
		/* already revoked for at least as long: never shortened */
	} else if(e != NULL) {
		entry_drop(&revocations, e);
		table_insert(&revocations, kind, "", value, NULL, by, until_s);
	} else if(g_hash_table_size(revocations.hash) >= revocations.max) {
		ok = FALSE; /* full of live revocations: refused, never one silently dropped */
	} else {
		table_insert(&revocations, kind, "", value, NULL, by, until_s);
	}
	sfu_mutex_unlock(&lock);
	return ok;
}

gint64 sfu_bans_revocation_until(sfu_revoke_kind kind, const char *value, gint64 now_s) {
	sfu_mutex_lock(&lock);
	entry *e = ready ? table_live(&revocations, kind, "", value, now_s) : NULL;
	gint64 until = e ? e->until : 0;
	sfu_mutex_unlock(&lock);
	return until;
}

gint64 sfu_bans_ban_until(const char *room_id, sfu_ban_kind kind, const char *value, gint64 now_s) {
	sfu_mutex_lock(&lock);
	entry *e = ready && room_id ? table_live(&bans, kind, room_id, value, now_s) : NULL;
	gint64 until = e ? e->until : 0;
	sfu_mutex_unlock(&lock);
	return until;
}

gboolean sfu_bans_unrevoke(sfu_revoke_kind kind, const char *value) {
	sfu_mutex_lock(&lock);
	entry *e = table_lookup(&revocations, kind, "", value);
	if(e != NULL)
		entry_drop(&revocations, e);
	sfu_mutex_unlock(&lock);
	return e != NULL;
}

gboolean sfu_bans_revoked(
	const char *jti, const char *sub, const char *user_id, const char *kid, gint64 now_s) {
	sfu_mutex_lock(&lock);
	gboolean out = ready && revocations.hash != NULL && g_hash_table_size(revocations.hash) > 0 &&
				   (table_live(&revocations, SFU_REVOKE_JTI, "", jti, now_s) != NULL ||
					   table_live(&revocations, SFU_REVOKE_SUB, "", sub, now_s) != NULL ||
					   table_live(&revocations, SFU_REVOKE_USER, "", user_id, now_s) != NULL ||
					   table_live(&revocations, SFU_REVOKE_KID, "", kid, now_s) != NULL);
	sfu_mutex_unlock(&lock);
	return out;
}

json_t *sfu_bans_list_revocations(gint64 now_s) {
	json_t *list = json_array();
	sfu_mutex_lock(&lock);
	if(ready)
		table_prune(&revocations, now_s);
	GSequenceIter *it = revocations.by_until ? g_sequence_get_begin_iter(revocations.by_until) : NULL;
	for(; it != NULL && !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
		entry *e = g_sequence_get(it);
		json_t *item = json_pack("{sssssI}", "kind", sfu_revoke_kind_name(e->kind), "value", e->value,
			"until", (json_int_t)e->until);
		if(e->by != NULL)
			json_object_set_new(item, "by", json_string(e->by));
		json_array_append_new(list, item);
	}
	sfu_mutex_unlock(&lock);
	return list;
}

guint sfu_bans_revocations_count(void) {
	sfu_mutex_lock(&lock);
	guint n = revocations.hash ? g_hash_table_size(revocations.hash) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}

/* =============================================================================
 * Mutes
 * ==========================================================================*/

gboolean sfu_bans_set_mute(
	const char *room_id, const char *user_id, guint mask, gint64 until_s, const char *by, gint64 now_s) {
	if(room_id == NULL || user_id == NULL)
		return TRUE;
	gboolean kept_all = TRUE;
	sfu_mutex_lock(&lock);
	if(!ready) {
		sfu_mutex_unlock(&lock);
		return TRUE;
	}
	table_prune(&mutes, now_s);
	entry *e = table_lookup(&mutes, 0, room_id, user_id);
	if(e != NULL)
		entry_drop(&mutes, e);
	if(mask != 0 && until_s > now_s) {
		if(g_hash_table_size(mutes.hash) >= mutes.max) {
			give_up_biggest_rooms(&mutes, room_id);
			kept_all = FALSE;
		}
		e = room_insert(&mutes, 0, room_id, user_id, user_id, by, until_s);
		e->mask = mask & 3u;
	}
	sfu_mutex_unlock(&lock);
	return kept_all;
}

guint sfu_bans_mute_of(const char *room_id, const char *user_id, gint64 now_s) {
	if(room_id == NULL || user_id == NULL)
		return 0;
	sfu_mutex_lock(&lock);
	entry *e = ready ? table_live(&mutes, 0, room_id, user_id, now_s) : NULL;
	guint mask = e ? e->mask : 0;
	sfu_mutex_unlock(&lock);
	return mask;
}

json_t *sfu_bans_list_mutes(const char *room_id, gint64 now_s) {
	json_t *list = json_array();
	sfu_mutex_lock(&lock);
	if(ready)
		table_prune(&mutes, now_s);
	GSequenceIter *it = mutes.by_until ? g_sequence_get_begin_iter(mutes.by_until) : NULL;
	for(; it != NULL && !g_sequence_iter_is_end(it); it = g_sequence_iter_next(it)) {
		entry *e = g_sequence_get(it);
		if(room_id != NULL && strcmp(e->scope, room_id) != 0)
			continue;
		json_t *item = json_pack("{sssssisI}", "room_id", e->scope, "user_id", e->value, "mask", (int)e->mask,
			"until", (json_int_t)e->until);
		if(e->by != NULL)
			json_object_set_new(item, "by", json_string(e->by));
		json_array_append_new(list, item);
	}
	sfu_mutex_unlock(&lock);
	return list;
}

guint sfu_bans_mutes_count(void) {
	sfu_mutex_lock(&lock);
	guint n = mutes.hash ? g_hash_table_size(mutes.hash) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}

/* =============================================================================
 * jti claims
 * ==========================================================================*/

/* The claim of \p jti for \p user_id: decided, and recorded when \p record. */
static sfu_jti_claim claim_jti(
	const char *jti, const char *user_id, gint64 exp_s, gint64 now_s, gboolean record) {
	if(jti == NULL || user_id == NULL)
		return SFU_JTI_OK;
	sfu_jti_claim out = SFU_JTI_OK;
	sfu_mutex_lock(&lock);
	if(!ready) {
		sfu_mutex_unlock(&lock);
		return SFU_JTI_OK;
	}
	prune_all(now_s);
	entry *c = table_lookup(&jtis, 0, "", jti);
	if(c != NULL) {
		/* Known from here: a live claim (expired ones were pruned). */
		if(strcmp(c->user_id, user_id) != 0)
			out = SFU_JTI_TAKEN;
	} else if(exp_s <= now_s) {
		/* Nothing to remember: the token is not valid for longer than now. */
	} else if(g_hash_table_size(jtis.hash) >= jtis.max) {
		out = SFU_JTI_FULL;
	} else if(record) {
		table_insert(&jtis, 0, "", jti, user_id, NULL, exp_s);
	}
	sfu_mutex_unlock(&lock);
	return out;
}

sfu_jti_claim sfu_bans_claim_jti(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s) {
	return claim_jti(jti, user_id, exp_s, now_s, TRUE);
}

sfu_jti_claim sfu_bans_jti_peek(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s) {
	return claim_jti(jti, user_id, exp_s, now_s, FALSE);
}

gboolean sfu_bans_set_jti_owner(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s) {
	if(jti == NULL || user_id == NULL || exp_s <= now_s)
		return FALSE;
	gboolean changed = FALSE;
	sfu_mutex_lock(&lock);
	if(ready) {
		table_prune(&jtis, now_s);
		entry *c = table_lookup(&jtis, 0, "", jti);
		if(c == NULL || strcmp(c->user_id, user_id) != 0) {
			if(c != NULL)
				entry_drop(&jtis, c);
			else if(g_hash_table_size(jtis.hash) >= jtis.max)
				table_drop_soonest(&jtis);
			table_insert(&jtis, 0, "", jti, user_id, NULL, exp_s);
			changed = c != NULL;
		}
	}
	sfu_mutex_unlock(&lock);
	return changed;
}

guint sfu_bans_jti_count(void) {
	sfu_mutex_lock(&lock);
	guint n = jtis.hash ? g_hash_table_size(jtis.hash) : 0;
	sfu_mutex_unlock(&lock);
	return n;
}
