/*! \file    sfu_registry.c
 * \brief    janus-sfu: handles, rooms, membership, subscriptions and blocks (see sfu_registry.h)
 */
#include <string.h>

#include "sfu_registry.h"

/* One user's handles in one room. Registry lock. */
typedef struct sfu_member {
	char *user_id;
	GList
		*publishers; /* sfu_handle* (borrowed: the handles table owns them), join order; head = registered */
	GList *subscribers;   /* sfu_handle* (borrowed) */
	sfu_data_bucket data; /* the user's websocket data rate in this room */
} sfu_member;

struct sfu_room {
	janus_refcount ref;
	char *id;
	GHashTable *members;   /* user_id -> sfu_member* (registry lock) */
	GList *pub_order;      /* every publisher handle, join order (registry lock, borrowed) */
	guint publisher_users; /* members with at least one publisher (registry lock) */
	sfu_mutex snap_mutex;  /* guards the swap of \c publishers */
	GPtrArray *publishers; /* snapshot of pub_order, each element a reference */
	volatile gint video;   /* the room's video codec (sfu_vcodec of sfu_signal; 0: not chosen yet), atomic */
};

static sfu_mutex reg_mutex = SFU_MUTEX_INIT;
static const sfu_signal_hooks *signal_hooks = NULL; /* set once before any handle exists */
static __thread gboolean reg_held = FALSE;          /* this thread holds reg_mutex */
static GHashTable *handles = NULL;         /* janus_plugin_session* -> sfu_handle* (owns a reference) */
static GHashTable *rooms = NULL;           /* room_id -> sfu_room* (owns a reference) */
static GHashTable *publisher_users = NULL; /* user_id -> number of rooms where it publishes */
static GHashTable *users = NULL; /* user_id -> GPtrArray of the sfu_room* where it is a member (borrowed) */
static guint64 next_handle_id = 0;
static guint max_blocks = 1000;

/* Blocks: written under the registry lock and blocks_lock, read by the data path under blocks_lock only. */
static sfu_rwlock blocks_lock = SFU_RWLOCK_INIT;
static GHashTable *blocks = NULL;      /* room_id -> (blocker user_id -> (blocked user_id -> 1)) */
static volatile gint blocks_count = 0; /* entries in \c blocks: 0 lets the data path skip the lock */

/* =============================================================================
 * The registry lock
 * ==========================================================================*/

void sfu_registry_lock(void) {
	sfu_mutex_lock(&reg_mutex);
	reg_held = TRUE;
}

void sfu_registry_unlock(void) {
	reg_held = FALSE;
	sfu_mutex_unlock(&reg_mutex);
}

gboolean sfu_registry_lock_held(void) {
	return reg_held;
}

/* =============================================================================
 * Object lifecycles
 * ==========================================================================*/

static void auth_clear(sfu_handle_auth *a) {
	g_free(a->kid);
	g_free(a->jti);
	g_free(a->sub);
	g_free(a->bound_user);
	a->kid = a->jti = a->sub = a->bound_user = NULL;
}

static void handle_free(const janus_refcount *ref) {
	sfu_handle *h = janus_refcount_containerof(ref, sfu_handle, ref);
	SFU_TSAN_ACQUIRE(h); /* after every read of h through a snapshot (sfu_snapshot_release) */
	g_free(h->room_id);
	g_free(h->user_id);
	if(h->room != NULL)
		janus_refcount_decrease(&h->room->ref);
	auth_clear(&h->auth);
	g_free(h->subscriber_offer);
	g_free(h->publisher_offer);
	if(h->subs != NULL)
		g_ptr_array_unref(h->subs);
	if(h->publisher != NULL)
		sfu_handle_unref(h->publisher);
	if(h->signal != NULL && signal_hooks != NULL)
		signal_hooks->destroy(h->signal);
	sfu_mutex_clear(&h->mutex);
	sfu_mutex_clear(&h->subs_mutex);
	/* The core gave the plugin one reference to its session when it attached the handle; it is ours
	 * to drop, and only now: until here a queued request or a snapshot could still use h->jh. */
	if(h->jh != NULL)
		janus_refcount_decrease(&h->jh->ref);
	g_free(h);
}

void sfu_handle_ref(sfu_handle *h) {
	janus_refcount_increase(&h->ref);
}

void sfu_handle_unref(sfu_handle *h) {
	if(h != NULL)
		janus_refcount_decrease(&h->ref);
}

static void handle_unref_cb(gpointer h) {
	sfu_handle_unref(h);
}

static void room_free(const janus_refcount *ref) {
	sfu_room *room = janus_refcount_containerof(ref, sfu_room, ref);
	g_free(room->id);
	g_hash_table_destroy(room->members);
	g_list_free(room->pub_order);
	if(room->publishers != NULL)
		g_ptr_array_unref(room->publishers);
	sfu_mutex_clear(&room->snap_mutex);
	g_free(room);
}

static void member_free(gpointer data) {
	sfu_member *m = data;
	g_free(m->user_id);
	g_list_free(m->publishers);
	g_list_free(m->subscribers);
	g_free(m);
}

static void room_unref_cb(gpointer room) {
	janus_refcount_decrease(&((sfu_room *)room)->ref);
}

static GPtrArray *handle_array(void) {
	return g_ptr_array_new_with_free_func(handle_unref_cb);
}

/* Build a snapshot array (each element a reference) from \p items and swap it into \p slot under \p lock. */
static void swap_snapshot(sfu_mutex *lock, GPtrArray **slot, GList *items) {
	GPtrArray *fresh = handle_array();
	for(GList *l = items; l != NULL; l = l->next) {
		sfu_handle_ref(l->data);
		g_ptr_array_add(fresh, l->data);
	}
	sfu_mutex_lock(lock);
	GPtrArray *old = *slot;
	*slot = fresh;
	sfu_mutex_unlock(lock);
	sfu_snapshot_release(old);
}

/* Same, from an array of handles (minus \p drop, plus \p add). */
static void swap_snapshot_edit(sfu_mutex *lock, GPtrArray **slot, sfu_handle *drop, sfu_handle *add) {
	GList *items = NULL;
	sfu_mutex_lock(lock);
	GPtrArray *cur = *slot;
	for(guint i = 0; cur != NULL && i < cur->len; i++) {
		if(cur->pdata[i] != drop)
			items = g_list_prepend(items, cur->pdata[i]);
	}
	sfu_mutex_unlock(lock);
	items = g_list_reverse(items);
	if(add != NULL)
		items = g_list_append(items, add);
	/* The handles in \c items stay alive: the registry lock is held by our
	 * callers and every one of them is referenced by the table or the old snapshot. */
	swap_snapshot(lock, slot, items);
	g_list_free(items);
}

void sfu_registry_init(guint max_blocks_per_user) {
	sfu_registry_lock();
	max_blocks = MAX(max_blocks_per_user, 1);
	if(handles == NULL) {
		handles = g_hash_table_new_full(NULL, NULL, NULL, handle_unref_cb);
		rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, room_unref_cb);
		publisher_users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
	}
	sfu_rwlock_writer_lock(&blocks_lock);
	if(blocks == NULL)
		blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_destroy);
	sfu_rwlock_unlock(&blocks_lock);
	sfu_registry_unlock();
}

void sfu_registry_shutdown(void) {
	sfu_registry_lock();
	GList *all = handles ? g_hash_table_get_keys(handles) : NULL;
	for(GList *l = all; l != NULL; l = l->next) {
		sfu_departure d;
		sfu_registry_remove_locked(l->data, &d);
		sfu_departure_clear(&d);
	}
	g_list_free(all);
	g_clear_pointer(&handles, g_hash_table_destroy);
	g_clear_pointer(&rooms, g_hash_table_destroy);
	g_clear_pointer(&publisher_users, g_hash_table_destroy);
	g_clear_pointer(&users, g_hash_table_destroy);
	sfu_rwlock_writer_lock(&blocks_lock);
	g_clear_pointer(&blocks, g_hash_table_destroy);
	g_atomic_int_set(&blocks_count, 0);
	sfu_rwlock_unlock(&blocks_lock);
	sfu_registry_unlock();
}

void sfu_registry_set_signal_hooks(const sfu_signal_hooks *hooks) {
	signal_hooks = hooks;
}

sfu_handle *sfu_registry_add(janus_plugin_session *jh) {
	sfu_handle *h = g_malloc0(sizeof(sfu_handle));
	h->audio_pt = h->video_pt = -1;
	/* Permissions stay denied (0) until a grant is attached by a join. */
	sfu_mutex_init(&h->mutex);
	sfu_mutex_init(&h->subs_mutex);
	h->subs = handle_array();
	if(signal_hooks != NULL)
		h->signal = signal_hooks->create();
	janus_refcount_init(&h->ref, handle_free);
	sfu_registry_lock();
	if(handles == NULL || g_hash_table_contains(handles, jh)) {
		sfu_registry_unlock();
		janus_refcount_decrease(&h->ref); /* h->jh is still NULL: the core's reference is not ours */
		return NULL;
	}
	h->jh = jh;
	h->id = ++next_handle_id;
	g_hash_table_insert(handles, jh, h);
	sfu_registry_unlock();
	return h;
}

sfu_handle *sfu_registry_lookup(janus_plugin_session *jh) {
	sfu_registry_lock();
	sfu_handle *h = handles ? g_hash_table_lookup(handles, jh) : NULL;
	if(h != NULL && !g_atomic_int_get(&h->destroyed))
		sfu_handle_ref(h);
	else
		h = NULL;
	sfu_registry_unlock();
	return h;
}

/* =============================================================================
 * Helpers (registry lock held)
 * ==========================================================================*/

static sfu_member *member_get(sfu_room *room, const char *user_id) {
	return room && user_id ? g_hash_table_lookup(room->members, user_id) : NULL;
}

/* The registered publisher of \p user_id in \p room: its oldest live publisher handle. */
static sfu_handle *registered_publisher(sfu_room *room, const char *user_id) {
	sfu_member *m = member_get(room, user_id);
	for(GList *l = m ? m->publishers : NULL; l != NULL; l = l->next) {
		sfu_handle *p = l->data;
		if(!g_atomic_int_get(&p->destroyed))
			return p;
	}
	return NULL;
}

/* Add \p delta to \p user_id's count in \p table (removed at zero). @returns the new count */
static guint count_add(GHashTable *table, const char *user_id, int delta) {
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(table, user_id));
	n = delta > 0 ? n + 1 : (n > 0 ? n - 1 : 0);
	if(n == 0)
		g_hash_table_remove(table, user_id);
	else
		g_hash_table_insert(table, g_strdup(user_id), GUINT_TO_POINTER(n));
	return n;
}

/* The user index: which rooms \p user_id is a member of, so that work about one user (block flags, finding
 * its publisher) visits its rooms only, never every room. */
static void user_room_add(const char *user_id, sfu_room *room) {
	GPtrArray *mine = g_hash_table_lookup(users, user_id);
	if(mine == NULL) {
		mine = g_ptr_array_new();
		g_hash_table_insert(users, g_strdup(user_id), mine);
	}
	g_ptr_array_add(mine, room);
}

/* @returns how many rooms \p user_id is still a member of */
static guint user_room_remove(const char *user_id, sfu_room *room) {
	GPtrArray *mine = g_hash_table_lookup(users, user_id);
	if(mine == NULL)
		return 0;
	g_ptr_array_remove_fast(mine, room);
	guint left = mine->len;
	if(left == 0)
		g_hash_table_remove(users, user_id);
	return left;
}

static GPtrArray *user_rooms(const char *user_id) {
	return user_id ? g_hash_table_lookup(users, user_id) : NULL;
}

/* Publisher handles in \p room with the wanted flag, excluding \p user_id's handles (if set). */
static GPtrArray *room_targets(
	sfu_room *room, gboolean want_data, const char *only_user, const char *except_user) {
	GPtrArray *out = handle_array();
	for(GList *l = room ? room->pub_order : NULL; l != NULL; l = l->next) {
		sfu_handle *p = l->data;
		if(g_atomic_int_get(&p->destroyed))
			continue;
		if(want_data ? !p->data : !p->notifications)
			continue;
		if(only_user != NULL && strcmp(p->user_id, only_user) != 0)
			continue;
		if(except_user != NULL && strcmp(p->user_id, except_user) == 0)
			continue;
		sfu_handle_ref(p);
		g_ptr_array_add(out, p);
	}
	return out;
}

/* The users with a publisher in \p room, but \p except (may be NULL). */
static json_t *room_users(sfu_room *room, const char *except) {
	json_t *list = json_array();
	if(room == NULL)
		return list;
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, room->members);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		sfu_member *m = value;
		if(m->publishers != NULL && (except == NULL || strcmp(m->user_id, except) != 0))
			json_array_append_new(list, json_string(m->user_id));
	}
	return list;
}

/* The block sets of room \p room_id by blocker, or NULL (blocks_lock or registry lock held). */
static GHashTable *room_blocks(const char *room_id) {
	return blocks != NULL && room_id != NULL ? g_hash_table_lookup(blocks, room_id) : NULL;
}

/* Either user blocks the other in room \p room_id (blocks_lock held, or registry lock held: writers hold
 * both). A block is a member's wish about that room: a handle in another room, even under the same user_id,
 * neither sees nor changes it. */
static gboolean blocked_pair(const char *room_id, const char *a, const char *b) {
	GHashTable *in_room = room_blocks(room_id);
	if(in_room == NULL || a == NULL || b == NULL)
		return FALSE;
	GHashTable *of_a = g_hash_table_lookup(in_room, a);
	GHashTable *of_b = g_hash_table_lookup(in_room, b);
	return (of_a != NULL && g_hash_table_contains(of_a, b)) ||
		   (of_b != NULL && g_hash_table_contains(of_b, a));
}

/* Subscribe \p h to \p pub (both live; registry lock held). */
static void attach_subscriber(sfu_handle *h, sfu_handle *pub) {
	sfu_handle_ref(pub);
	g_atomic_int_set(&h->blocked, blocked_pair(h->room_id, pub->user_id, h->user_id));
	sfu_mutex_lock(&h->mutex);
	h->publisher = pub;
	sfu_mutex_unlock(&h->mutex);
	swap_snapshot_edit(&pub->subs_mutex, &pub->subs, NULL, h);
}

/* The offer of \p media's registered publisher in \p room for \p h. */
static sfu_err find_offer(sfu_handle *h, sfu_room *room, const char *media, sfu_handle **pub, char **offer) {
	sfu_handle *p = registered_publisher(room, media);
	if(p == NULL || p == h)
		return SFU_ERR_NO_PUBLISHER;
	sfu_mutex_lock(&p->mutex);
	*offer = g_strdup(p->subscriber_offer);
	sfu_mutex_unlock(&p->mutex);
	if(*offer == NULL)
		return SFU_ERR_PUBLISHER_NOT_READY;
	*pub = p;
	return SFU_OK;
}

static sfu_room *room_new(const char *room_id) {
	sfu_room *room = g_malloc0(sizeof(sfu_room));
	room->id = g_strdup(room_id);
	room->members = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, member_free);
	room->publishers = handle_array();
	sfu_mutex_init(&room->snap_mutex);
	janus_refcount_init(&room->ref, room_free);
	g_hash_table_insert(rooms, room->id, room);
	return room;
}

/* =============================================================================
 * Membership changes (registry lock held)
 * ==========================================================================*/

void sfu_handle_set_auth_locked(sfu_handle *h, const sfu_handle_auth *a) {
	g_atomic_int_set(&h->auth.publish_media, a->publish_media ? 1 : 0);
	g_atomic_int_set(&h->auth.send_data, a->send_data ? 1 : 0);
	h->auth.kick_users = a->kick_users;
	if(h->auth.exp != a->exp)
		h->auth.warned_exp = 0; /* a new expiry gets its own warning */
	h->auth.exp = a->exp;
	h->auth.eject_at = a->eject_at;
	h->auth.session_end = a->session_end;
	char *kid = g_strdup(a->kid), *jti = g_strdup(a->jti), *sub = g_strdup(a->sub);
	char *bound = g_strdup(a->bound_user);
	auth_clear(&h->auth);
	h->auth.kid = kid;
	h->auth.jti = jti;
	h->auth.sub = sub;
	h->auth.bound_user = bound;
}

void sfu_join_result_clear(sfu_join_result *r) {
	json_decref(r->users);
	if(r->notify != NULL)
		g_ptr_array_unref(r->notify);
	g_free(r->offer);
	memset(r, 0, sizeof(*r));
}

/* Everything that can refuse a join, before anything changes. */
static sfu_err join_check(sfu_handle *h, const sfu_join *j, sfu_room *room, sfu_handle **pub, char **offer) {
	if(h->role != SFU_ROLE_NONE || g_atomic_int_get(&h->destroyed))
		return SFU_ERR_ALREADY_JOINED;
	if(j->subscribe && h->subscribed)
		return SFU_ERR_HANDLE_SUBSCRIBED;
	if(j->role == SFU_ROLE_PUBLISHER) {
		sfu_member *m = member_get(room, j->user_id);
		gboolean new_publisher = m == NULL || m->publishers == NULL;
		if(j->limits.max_room_size > 0 && room != NULL && new_publisher &&
			room->publisher_users >= j->limits.max_room_size)
			return SFU_ERR_ROOM_FULL;
		if(j->limits.max_ccu > 0 && !g_hash_table_contains(publisher_users, j->user_id) &&
			g_hash_table_size(publisher_users) >= j->limits.max_ccu)
			return SFU_ERR_SERVER_FULL;
		/* A user_id may keep a few publisher handles (naf's reconnects leave stale ones for a while), not any
		 * number: each one receives every room event and data message. */
		if(j->limits.max_publishers_per_user > 0 && m != NULL && !j->replacing &&
			g_list_length(m->publishers) >= j->limits.max_publishers_per_user)
			return SFU_ERR_TOO_MANY_HANDLES;
	}
	if(j->media != NULL)
		return find_offer(h, room, j->media, pub, offer);
	return SFU_OK;
}

sfu_err sfu_registry_join_locked(sfu_handle *h, const sfu_join *j, sfu_join_result *out) {
	memset(out, 0, sizeof(*out));
	g_assert(reg_held);
	sfu_room *room = g_hash_table_lookup(rooms, j->room_id);
	sfu_handle *pub = NULL;
	sfu_err err = join_check(h, j, room, &pub, &out->offer);
	if(err != SFU_OK) {
		g_clear_pointer(&out->offer, g_free);
		return err;
	}
	/* Known from here: the join is accepted. The users list is taken before the joiner is added. */
	out->users = room_users(room, j->replacing ? j->user_id : NULL);
	if(room == NULL)
		room = room_new(j->room_id);
	sfu_member *m = member_get(room, j->user_id);
	if(m == NULL) {
		m = g_malloc0(sizeof(sfu_member));
		m->user_id = g_strdup(j->user_id);
		g_hash_table_insert(room->members, m->user_id, m);
		user_room_add(j->user_id, room);
	}
	h->role = j->role;
	h->room_id = g_strdup(j->room_id);
	h->user_id = g_strdup(j->user_id);
	h->notifications = j->notifications;
	h->data = j->data;
	h->subscribed = h->subscribed || j->subscribe;
	if(j->auth != NULL)
		sfu_handle_set_auth_locked(h, j->auth);
	janus_refcount_increase(&room->ref);
	h->joined_at = g_get_real_time();
	/* Published last, atomically: the media path reads h->room without the registry lock
	 * (sfu_room_publishers), and everything above must be visible once it sees the room. */
	g_atomic_pointer_set(&h->room, room);
	if(j->role == SFU_ROLE_PUBLISHER) {
		if(m->publishers == NULL) {
			room->publisher_users++;
			count_add(publisher_users, j->user_id, +1);
		}
		m->publishers = g_list_append(m->publishers, h);
		room->pub_order = g_list_append(room->pub_order, h);
		swap_snapshot(&room->snap_mutex, &room->publishers, room->pub_order);
		out->notify = room_targets(room, FALSE, NULL, j->user_id);
	} else {
		m->subscribers = g_list_append(m->subscribers, h);
	}
	if(pub != NULL)
		attach_subscriber(h, pub);
	return SFU_OK;
}

sfu_err sfu_registry_subscribe_locked(
	sfu_handle *h, gboolean notifications, gboolean data, const char *media, char **offer) {
	*offer = NULL;
	g_assert(reg_held);
	if(h->subscribed || h->detached || g_atomic_int_get(&h->destroyed))
		return SFU_ERR_HANDLE_SUBSCRIBED;
	sfu_handle *pub = NULL;
	if(media != NULL) {
		sfu_err err = h->room ? find_offer(h, h->room, media, &pub, offer) : SFU_ERR_NO_PUBLISHER;
		if(err != SFU_OK) {
			g_clear_pointer(offer, g_free);
			return err;
		}
	}
	/* Known from here: the subscription is accepted. The flags of a joined handle were fixed by its join
	 * (they only matter for publishers, whose join always carries them). */
	h->subscribed = TRUE;
	if(h->role == SFU_ROLE_NONE) {
		h->notifications = notifications;
		h->data = data;
	}
	if(pub != NULL)
		attach_subscriber(h, pub);
	return SFU_OK;
}

char *sfu_registry_publisher_room_locked(
	const char *media, gboolean (*allowed)(const char *room_id, gpointer ud), gpointer ud) {
	g_assert(reg_held);
	GPtrArray *theirs = user_rooms(media);
	for(guint i = 0; theirs != NULL && i < theirs->len; i++) {
		sfu_room *room = theirs->pdata[i];
		if(registered_publisher(room, media) != NULL && (allowed == NULL || allowed(room->id, ud)))
			return g_strdup(room->id);
	}
	return NULL;
}

GPtrArray *sfu_registry_user_handles_locked(const char *room_id, const char *user_id) {
	g_assert(reg_held);
	GPtrArray *out = handle_array();
	sfu_member *m = member_get(g_hash_table_lookup(rooms, room_id), user_id);
	for(int pass = 0; m != NULL && pass < 2; pass++) {
		for(GList *l = pass ? m->subscribers : m->publishers; l != NULL; l = l->next) {
			if(g_atomic_int_get(&((sfu_handle *)l->data)->destroyed))
				continue;
			sfu_handle_ref(l->data);
			g_ptr_array_add(out, l->data);
		}
	}
	return out;
}

GPtrArray *sfu_registry_handles_locked(const char *room_id) {
	g_assert(reg_held);
	GPtrArray *out = handle_array();
	GHashTableIter rit, mit;
	gpointer rv, mv;
	g_hash_table_iter_init(&rit, rooms);
	while(g_hash_table_iter_next(&rit, NULL, &rv)) {
		sfu_room *room = rv;
		if(room_id != NULL && strcmp(room->id, room_id) != 0)
			continue;
		g_hash_table_iter_init(&mit, room->members);
		while(g_hash_table_iter_next(&mit, NULL, &mv)) {
			sfu_member *m = mv;
			for(int pass = 0; pass < 2; pass++) {
				for(GList *l = pass ? m->subscribers : m->publishers; l != NULL; l = l->next) {
					if(g_atomic_int_get(&((sfu_handle *)l->data)->destroyed))
						continue;
					sfu_handle_ref(l->data);
					g_ptr_array_add(out, l->data);
				}
			}
		}
	}
	return out;
}

/* A user with no membership left in a room takes its blocks there with it (blocks are bounded per user). */
static void drop_blocks_of(const char *room_id, const char *user_id) {
	sfu_rwlock_writer_lock(&blocks_lock);
	GHashTable *in_room = room_blocks(room_id);
	GHashTable *mine = in_room ? g_hash_table_lookup(in_room, user_id) : NULL;
	if(mine != NULL) {
		g_atomic_int_add(&blocks_count, -(gint)g_hash_table_size(mine));
		g_hash_table_remove(in_room, user_id);
		if(g_hash_table_size(in_room) == 0)
			g_hash_table_remove(blocks, room_id);
	}
	sfu_rwlock_unlock(&blocks_lock);
}

int sfu_registry_room_video(sfu_handle *h, int initial) {
	sfu_room *room = g_atomic_pointer_get(&h->room);
	if(room == NULL)
		return 0;
	g_atomic_int_compare_and_exchange(&room->video, 0, initial);
	return g_atomic_int_get(&room->video);
}

GPtrArray *sfu_registry_room_video_switch(sfu_handle *h, int from, int to) {
	sfu_room *room = g_atomic_pointer_get(&h->room);
	if(room == NULL || !g_atomic_int_compare_and_exchange(&room->video, from, to))
		return NULL;
	return sfu_room_publishers(h);
}

/* Detach \p h from everything (registry lock held). Fills \p out. */
static void detach_locked(sfu_handle *h, sfu_departure *out) {
	if(h->detached)
		return;
	h->detached = TRUE;
	/* Subscriber side: leave the publisher's list. */
	sfu_mutex_lock(&h->mutex);
	sfu_handle *pub = h->publisher;
	h->publisher = NULL;
	sfu_mutex_unlock(&h->mutex);
	if(pub != NULL) {
		swap_snapshot_edit(&pub->subs_mutex, &pub->subs, h, NULL);
		sfu_handle_unref(pub);
	}
	/* Publisher side: its subscribers lose their source (breaks the reference cycle). */
	GPtrArray *subs = sfu_handle_subscribers(h);
	for(guint i = 0; i < subs->len; i++) {
		sfu_handle *s = subs->pdata[i];
		sfu_mutex_lock(&s->mutex);
		sfu_handle *was = s->publisher;
		if(was == h)
			s->publisher = NULL;
		sfu_mutex_unlock(&s->mutex);
		if(was == h)
			sfu_handle_unref(h);
	}
	sfu_snapshot_release(subs);
	swap_snapshot(&h->subs_mutex, &h->subs, NULL);
	if(h->role == SFU_ROLE_NONE)
		return;
	sfu_room *room = h->room;
	sfu_member *m = member_get(room, h->user_id);
	out->joined = TRUE;
	out->room_id = g_strdup(h->room_id);
	out->user_id = g_strdup(h->user_id);
	if(m == NULL)
		return;
	if(h->role == SFU_ROLE_PUBLISHER) {
		m->publishers = g_list_remove(m->publishers, h);
		room->pub_order = g_list_remove(room->pub_order, h);
		swap_snapshot(&room->snap_mutex, &room->publishers, room->pub_order);
		if(m->publishers == NULL) {
			room->publisher_users--;
			count_add(publisher_users, h->user_id, -1);
		}
	} else {
		m->subscribers = g_list_remove(m->subscribers, h);
	}
	if(m->publishers == NULL && m->subscribers == NULL) {
		g_hash_table_remove(room->members, h->user_id);
		out->user_left = TRUE;
		out->notify = room_targets(room, FALSE, NULL, h->user_id);
		user_room_remove(h->user_id, room);
		drop_blocks_of(room->id, h->user_id);
	}
	if(g_hash_table_size(room->members) == 0)
		g_hash_table_remove(rooms, room->id);
}

gboolean sfu_registry_remove_locked(janus_plugin_session *jh, sfu_departure *out) {
	memset(out, 0, sizeof(*out));
	g_assert(reg_held);
	sfu_handle *h = handles ? g_hash_table_lookup(handles, jh) : NULL;
	if(h == NULL)
		return FALSE;
	g_atomic_int_set(&h->destroyed, 1);
	g_hash_table_steal(handles, jh);
	detach_locked(h, out);
	sfu_handle_unref(h); /* the table's reference (snapshots and queued requests may keep others) */
	return TRUE;
}

GPtrArray *sfu_registry_evict_locked(
	const char *room_id, const char *user_id, sfu_handle *except, sfu_departure *out) {
	memset(out, 0, sizeof(*out));
	g_assert(reg_held);
	GPtrArray *victims = handle_array();
	sfu_member *m = member_get(g_hash_table_lookup(rooms, room_id), user_id);
	GList *all = m ? g_list_concat(g_list_copy(m->publishers), g_list_copy(m->subscribers)) : NULL;
	for(GList *l = all; l != NULL; l = l->next) {
		sfu_handle *h = l->data;
		if(h == except)
			continue;
		sfu_handle_ref(h);
		g_ptr_array_add(victims, h);
		g_atomic_int_set(&h->destroyed, 1);
		sfu_departure d;
		memset(&d, 0, sizeof(d));
		/* The member (and even the room) may go away inside: \c all holds no reference to them. */
		detach_locked(h, &d);
		if(d.user_left) {
			sfu_departure_clear(out);
			*out = d;
		} else {
			sfu_departure_clear(&d);
		}
	}
	g_list_free(all);
	return victims;
}

void sfu_registry_evict_handle_locked(sfu_handle *h, sfu_departure *out) {
	memset(out, 0, sizeof(*out));
	g_assert(reg_held);
	g_atomic_int_set(&h->destroyed, 1);
	detach_locked(h, out);
}

void sfu_departure_clear(sfu_departure *d) {
	g_free(d->room_id);
	g_free(d->user_id);
	if(d->notify != NULL)
		g_ptr_array_unref(d->notify);
	memset(d, 0, sizeof(*d));
}

/* =============================================================================
 * Blocks
 * ==========================================================================*/

/* Recompute the block flag of every subscription between \p a and \p b in \p room (registry lock held). The
 * media path reads only these flags, never the block table. */
static void refresh_block_flags(sfu_room *room, const char *a, const char *b) {
	gboolean on = blocked_pair(room->id, a, b);
	for(int side = 0; side < 2; side++) {
		const char *self = side ? b : a, *other = side ? a : b;
		sfu_member *m = member_get(room, self);
		for(GList *l = m ? m->subscribers : NULL; l != NULL; l = l->next) {
			sfu_handle *s = l->data;
			sfu_mutex_lock(&s->mutex);
			gboolean match = s->publisher != NULL && !strcmp(s->publisher->user_id, other);
			sfu_mutex_unlock(&s->mutex);
			if(match)
				g_atomic_int_set(&s->blocked, on);
		}
	}
}

sfu_err sfu_registry_block(sfu_handle *h, const char *whom, GPtrArray **targets) {
	*targets = NULL;
	sfu_err err = SFU_OK;
	sfu_registry_lock();
	if(h->role == SFU_ROLE_NONE || h->detached) {
		sfu_registry_unlock();
		return SFU_ERR_BLOCK_NOT_JOINED;
	}
	sfu_rwlock_writer_lock(&blocks_lock);
	GHashTable *in_room = room_blocks(h->room_id);
	if(in_room == NULL) {
		in_room =
			g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_destroy);
		g_hash_table_insert(blocks, g_strdup(h->room_id), in_room);
	}
	GHashTable *mine = g_hash_table_lookup(in_room, h->user_id);
	if(mine == NULL) {
		mine = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_hash_table_insert(in_room, g_strdup(h->user_id), mine);
	}
	if(!g_hash_table_contains(mine, whom)) {
		if(g_hash_table_size(mine) >= max_blocks) {
			err = SFU_ERR_TOO_MANY_BLOCKS;
		} else {
			g_hash_table_add(mine, g_strdup(whom));
			g_atomic_int_inc(&blocks_count);
		}
	}
	if(g_hash_table_size(mine) == 0) /* refused first block: keep no empty sets */
		g_hash_table_remove(in_room, h->user_id);
	if(g_hash_table_size(in_room) == 0)
		g_hash_table_remove(blocks, h->room_id);
	sfu_rwlock_unlock(&blocks_lock);
	if(err == SFU_OK) {
		refresh_block_flags(h->room, h->user_id, whom);
		*targets = room_targets(h->room, FALSE, whom, NULL);
	}
	sfu_registry_unlock();
	return err;
}

sfu_err sfu_registry_unblock(sfu_handle *h, const char *whom, GPtrArray **targets, sfu_handle **fir_target) {
	*targets = NULL;
	*fir_target = NULL;
	sfu_registry_lock();
	if(h->role == SFU_ROLE_NONE || h->detached) {
		sfu_registry_unlock();
		return SFU_ERR_UNBLOCK_NOT_JOINED;
	}
	sfu_rwlock_writer_lock(&blocks_lock);
	GHashTable *in_room = room_blocks(h->room_id);
	GHashTable *mine = in_room ? g_hash_table_lookup(in_room, h->user_id) : NULL;
	if(mine != NULL && g_hash_table_remove(mine, whom)) {
		g_atomic_int_add(&blocks_count, -1);
		if(g_hash_table_size(mine) == 0)
			g_hash_table_remove(in_room, h->user_id);
		if(g_hash_table_size(in_room) == 0)
			g_hash_table_remove(blocks, h->room_id);
	}
	sfu_rwlock_unlock(&blocks_lock);
	refresh_block_flags(h->room, h->user_id, whom);
	*targets = room_targets(h->room, FALSE, whom, NULL);
	sfu_handle *p = registered_publisher(h->room, whom);
	if(p != NULL)
		sfu_handle_ref(p);
	*fir_target = p;
	sfu_registry_unlock();
	return SFU_OK;
}

gboolean sfu_registry_is_blocked(const char *room_id, const char *a, const char *b) {
	if(g_atomic_int_get(&blocks_count) == 0 || room_id == NULL || a == NULL || b == NULL)
		return FALSE;
	sfu_rwlock_reader_lock(&blocks_lock);
	gboolean blocked = blocked_pair(room_id, a, b);
	sfu_rwlock_unlock(&blocks_lock);
	return blocked;
}

guint sfu_registry_blocks_count(void) {
	return (guint)g_atomic_int_get(&blocks_count);
}

/* =============================================================================
 * Queries
 * ==========================================================================*/

GPtrArray *sfu_registry_set_offer(sfu_handle *pub, char *offer, int audio_pt, int video_pt) {
	sfu_mutex_lock(&pub->mutex);
	g_free(pub->subscriber_offer);
	pub->subscriber_offer = offer;
	pub->audio_pt = audio_pt;
	pub->video_pt = video_pt;
	sfu_mutex_unlock(&pub->mutex);
	return sfu_handle_subscribers(pub);
}

GPtrArray *sfu_registry_data_targets(
	sfu_handle *h, const char *whom, sfu_data_allow allow, gpointer user_data) {
	GPtrArray *targets = NULL;
	sfu_registry_lock();
	sfu_member *m = h->detached ? NULL : member_get(h->room, h->user_id);
	if(m == NULL)
		targets = handle_array();
	else if(allow == NULL || allow(&m->data, user_data))
		targets = room_targets(h->room, TRUE, whom, whom ? NULL : h->user_id);
	sfu_registry_unlock();
	return targets;
}

GPtrArray *sfu_handle_subscribers(sfu_handle *pub) {
	sfu_mutex_lock(&pub->subs_mutex);
	GPtrArray *subs = g_ptr_array_ref(pub->subs);
	sfu_mutex_unlock(&pub->subs_mutex);
	return subs;
}

void sfu_snapshot_release(GPtrArray *snapshot) {
	if(snapshot == NULL)
		return;
#ifdef SFU_TSAN
	for(guint i = 0; i < snapshot->len; i++)
		SFU_TSAN_RELEASE(snapshot->pdata[i]);
#endif
	g_ptr_array_unref(snapshot);
}

GPtrArray *sfu_room_publishers(sfu_handle *h) {
	sfu_room *room = g_atomic_pointer_get(&h->room);
	if(room == NULL)
		return NULL;
	sfu_mutex_lock(&room->snap_mutex);
	GPtrArray *pubs = g_ptr_array_ref(room->publishers);
	sfu_mutex_unlock(&room->snap_mutex);
	return pubs;
}

sfu_handle *sfu_handle_publisher(sfu_handle *sub) {
	sfu_mutex_lock(&sub->mutex);
	sfu_handle *p = sub->publisher;
	if(p != NULL)
		sfu_handle_ref(p);
	sfu_mutex_unlock(&sub->mutex);
	return p;
}

static const char *role_name(sfu_role role) {
	switch(role) {
		case SFU_ROLE_PUBLISHER:
			return "publisher";
		case SFU_ROLE_SUBSCRIBER:
			return "subscriber";
		case SFU_ROLE_NONE:
		default:
			return "none";
	}
}

/* The grant of \p h as JSON members of \p obj (registry lock held). */
static void describe_auth(sfu_handle *h, json_t *obj) {
	json_object_set_new(obj, "publish_media", json_boolean(g_atomic_int_get(&h->auth.publish_media)));
	json_object_set_new(obj, "send_data", json_boolean(g_atomic_int_get(&h->auth.send_data)));
	json_object_set_new(obj, "kick_users", json_boolean(h->auth.kick_users));
	if(h->auth.exp > 0)
		json_object_set_new(obj, "expires_at", json_integer(h->auth.exp));
	if(h->auth.kid != NULL)
		json_object_set_new(obj, "kid", json_string(h->auth.kid));
	if(h->auth.sub != NULL)
		json_object_set_new(obj, "sub", json_string(h->auth.sub));
	if(h->auth.jti != NULL)
		json_object_set_new(obj, "jti", json_string(h->auth.jti));
	json_object_set_new(obj, "bound", json_boolean(h->auth.bound_user != NULL));
	guint muted = (guint)g_atomic_int_get(&h->muted);
	json_t *list = json_array();
	if(muted & SFU_MUTE_AUDIO)
		json_array_append_new(list, json_string("audio"));
	if(muted & SFU_MUTE_VIDEO)
		json_array_append_new(list, json_string("video"));
	json_object_set_new(obj, "muted", list);
}

json_t *sfu_handle_describe(sfu_handle *h) {
	json_t *info = json_object();
	sfu_registry_lock();
	json_object_set_new(info, "role", json_string(role_name(h->role)));
	if(h->role != SFU_ROLE_NONE) {
		json_object_set_new(info, "room_id", json_string(h->room_id));
		json_object_set_new(info, "user_id", json_string(h->user_id));
	}
	if(h->subscribed) {
		json_t *sub = json_object();
		json_object_set_new(sub, "notifications", json_boolean(h->notifications));
		json_object_set_new(sub, "data", json_boolean(h->data));
		json_object_set_new(info, "subscription", sub);
	}
	describe_auth(h, info);
	sfu_mutex_lock(&h->mutex);
	if(h->publisher != NULL && h->publisher->user_id != NULL)
		json_object_set_new(info, "receiving_from", json_string(h->publisher->user_id));
	json_object_set_new(info, "has_subscriber_offer", json_boolean(h->subscriber_offer != NULL));
	sfu_mutex_unlock(&h->mutex);
	GPtrArray *subs = sfu_handle_subscribers(h);
	json_object_set_new(info, "subscribers", json_integer(subs->len));
	sfu_snapshot_release(subs);
	json_object_set_new(info, "media_up", json_boolean(g_atomic_int_get(&h->media_up)));
	json_object_set_new(info, "blocked", json_boolean(g_atomic_int_get(&h->blocked)));
	json_object_set_new(info, "destroyed", json_boolean(g_atomic_int_get(&h->destroyed)));
	sfu_registry_unlock();
	return info;
}

/* One handle of a participant (registry lock held): its token identity is its own (a shared grant keeps it). */
static json_t *handle_summary(sfu_handle *h) {
	json_t *item = json_object();
	json_object_set_new(item, "id", json_integer((json_int_t)h->id));
	json_object_set_new(
		item, "role", json_string(h->role == SFU_ROLE_PUBLISHER ? "publisher" : "subscriber"));
	json_object_set_new(item, "media_up", json_boolean(g_atomic_int_get(&h->media_up)));
	if(h->auth.sub != NULL)
		json_object_set_new(item, "sub", json_string(h->auth.sub));
	if(h->auth.jti != NULL)
		json_object_set_new(item, "jti", json_string(h->auth.jti));
	sfu_mutex_lock(&h->mutex);
	if(h->publisher != NULL && h->publisher->user_id != NULL)
		json_object_set_new(item, "receiving_from", json_string(h->publisher->user_id));
	sfu_mutex_unlock(&h->mutex);
	return item;
}

json_t *sfu_registry_list_rooms(void) {
	json_t *list = json_array();
	sfu_registry_lock();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, rooms);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		sfu_room *room = value;
		json_array_append_new(
			list, json_pack("{sssisi}", "room_id", room->id, "users", (int)g_hash_table_size(room->members),
					  "publisher_users", (int)room->publisher_users));
	}
	sfu_registry_unlock();
	return list;
}

static json_t *describe_member(sfu_member *m) {
	json_t *handles_json = json_array();
	gint64 joined = 0;
	sfu_handle *first = NULL;
	for(int pass = 0; pass < 2; pass++) {
		for(GList *l = pass ? m->subscribers : m->publishers; l != NULL; l = l->next) {
			sfu_handle *h = l->data;
			if(first == NULL)
				first = h;
			if(joined == 0 || h->joined_at < joined)
				joined = h->joined_at;
			json_array_append_new(handles_json, handle_summary(h));
		}
	}
	json_t *p = json_pack("{sssIso}", "user_id", m->user_id, "joined_at",
		(json_int_t)(joined / G_USEC_PER_SEC), "handles", handles_json);
	if(first != NULL)
		describe_auth(first, p);
	return p;
}

json_t *sfu_registry_list_participants(const char *room_id) {
	sfu_registry_lock();
	sfu_room *room = g_hash_table_lookup(rooms, room_id);
	if(room == NULL) {
		sfu_registry_unlock();
		return NULL;
	}
	json_t *list = json_array();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, room->members);
	while(g_hash_table_iter_next(&iter, NULL, &value))
		json_array_append_new(list, describe_member(value));
	sfu_registry_unlock();
	return list;
}

void sfu_registry_counts_get(sfu_registry_counts *out) {
	sfu_registry_lock();
	out->handles = handles ? g_hash_table_size(handles) : 0;
	out->rooms = rooms ? g_hash_table_size(rooms) : 0;
	out->publisher_users = publisher_users ? g_hash_table_size(publisher_users) : 0;
	out->users = users ? g_hash_table_size(users) : 0;
	out->blocks = (guint)g_atomic_int_get(&blocks_count);
	sfu_registry_unlock();
}
