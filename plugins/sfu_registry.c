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
	GList *subscribers; /* sfu_handle* (borrowed) */
} sfu_member;

struct sfu_room {
	janus_refcount ref;
	char *id;
	GHashTable *members;    /* user_id -> sfu_member* (registry lock) */
	GList *pub_order;       /* every publisher handle, join order (registry lock, borrowed) */
	guint publisher_users;  /* members with at least one publisher (registry lock) */
	janus_mutex snap_mutex; /* guards the swap of \c publishers */
	GPtrArray *publishers;  /* snapshot of pub_order, each element a reference */
	volatile gint video;    /* the room's video codec (sfu_vcodec of sfu_signal; 0: not chosen yet), atomic */
};

static janus_mutex reg_mutex = JANUS_MUTEX_INITIALIZER;
static GHashTable *handles = NULL;         /* janus_plugin_session* -> sfu_handle* (owns a reference) */
static GHashTable *rooms = NULL;           /* room_id -> sfu_room* (owns a reference) */
static GHashTable *publisher_users = NULL; /* user_id -> number of rooms where it publishes */
static guint64 next_handle_id = 0;

static GRWLock blocks_lock;
static GHashTable *blocks = NULL;      /* blocker user_id -> (blocked user_id -> count) */
static volatile gint blocks_count = 0; /* entries in \c blocks: 0 lets the media path skip the lock */

/* =============================================================================
 * Object lifecycles
 * ==========================================================================*/

static void handle_free(const janus_refcount *ref) {
	sfu_handle *h = janus_refcount_containerof(ref, sfu_handle, ref);
	g_free(h->room_id);
	g_free(h->user_id);
	if(h->room != NULL)
		janus_refcount_decrease(&h->room->ref);
	g_free(h->auth.kid);
	g_free(h->auth.jti);
	g_free(h->auth.sub);
	g_free(h->auth.bound_user);
	g_free(h->subscriber_offer);
	g_free(h->publisher_offer);
	if(h->subs != NULL)
		g_ptr_array_unref(h->subs);
	if(h->publisher != NULL)
		sfu_handle_unref(h->publisher);
	if(h->pending != NULL)
		g_queue_free(h->pending);
	janus_mutex_destroy(&h->mutex);
	janus_mutex_destroy(&h->subs_mutex);
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
	janus_mutex_destroy(&room->snap_mutex);
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
static void swap_snapshot(janus_mutex *lock, GPtrArray **slot, GList *items) {
	GPtrArray *fresh = handle_array();
	for(GList *l = items; l != NULL; l = l->next) {
		sfu_handle_ref(l->data);
		g_ptr_array_add(fresh, l->data);
	}
	janus_mutex_lock_nodebug(lock);
	GPtrArray *old = *slot;
	*slot = fresh;
	janus_mutex_unlock_nodebug(lock);
	if(old != NULL)
		g_ptr_array_unref(old);
}

/* Same, from an array of handles (minus \p drop, plus \p add). */
static void swap_snapshot_edit(janus_mutex *lock, GPtrArray **slot, sfu_handle *drop, sfu_handle *add) {
	GList *items = NULL;
	janus_mutex_lock_nodebug(lock);
	GPtrArray *cur = *slot;
	for(guint i = 0; cur != NULL && i < cur->len; i++) {
		if(cur->pdata[i] != drop)
			items = g_list_prepend(items, cur->pdata[i]);
	}
	janus_mutex_unlock_nodebug(lock);
	items = g_list_reverse(items);
	if(add != NULL)
		items = g_list_append(items, add);
	/* The handles in \c items stay alive: the registry lock is held by our
	 * callers and every one of them is referenced by the table or the old snapshot. */
	swap_snapshot(lock, slot, items);
	g_list_free(items);
}

void sfu_registry_init(void) {
	janus_mutex_lock(&reg_mutex);
	if(handles == NULL) {
		handles = g_hash_table_new_full(NULL, NULL, NULL, handle_unref_cb);
		rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, room_unref_cb);
		publisher_users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	}
	janus_mutex_unlock(&reg_mutex);
	g_rw_lock_writer_lock(&blocks_lock);
	if(blocks == NULL)
		blocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_destroy);
	g_rw_lock_writer_unlock(&blocks_lock);
}

void sfu_registry_shutdown(void) {
	GList *all = NULL;
	janus_mutex_lock(&reg_mutex);
	if(handles != NULL)
		all = g_hash_table_get_keys(handles);
	janus_mutex_unlock(&reg_mutex);
	for(GList *l = all; l != NULL; l = l->next) {
		sfu_departure d;
		sfu_registry_remove(l->data, &d);
		sfu_departure_clear(&d);
	}
	g_list_free(all);
	janus_mutex_lock(&reg_mutex);
	g_clear_pointer(&handles, g_hash_table_destroy);
	g_clear_pointer(&rooms, g_hash_table_destroy);
	g_clear_pointer(&publisher_users, g_hash_table_destroy);
	janus_mutex_unlock(&reg_mutex);
	g_rw_lock_writer_lock(&blocks_lock);
	g_clear_pointer(&blocks, g_hash_table_destroy);
	g_atomic_int_set(&blocks_count, 0);
	g_rw_lock_writer_unlock(&blocks_lock);
}

sfu_handle *sfu_registry_add(janus_plugin_session *jh) {
	sfu_handle *h = g_malloc0(sizeof(sfu_handle));
	h->jh = jh;
	h->audio_pt = h->video_pt = -1;
	h->auth.publish_media = h->auth.send_data = TRUE;
	janus_mutex_init(&h->mutex);
	janus_mutex_init(&h->subs_mutex);
	h->subs = handle_array();
	h->pending = g_queue_new();
	janus_refcount_init(&h->ref, handle_free);
	janus_mutex_lock(&reg_mutex);
	if(handles == NULL || g_hash_table_contains(handles, jh)) {
		janus_mutex_unlock(&reg_mutex);
		janus_refcount_decrease(&h->ref);
		return NULL;
	}
	h->id = ++next_handle_id;
	g_hash_table_insert(handles, jh, h);
	janus_mutex_unlock(&reg_mutex);
	return h;
}

sfu_handle *sfu_registry_lookup(janus_plugin_session *jh) {
	janus_mutex_lock(&reg_mutex);
	sfu_handle *h = handles ? g_hash_table_lookup(handles, jh) : NULL;
	if(h != NULL && !g_atomic_int_get(&h->destroyed))
		sfu_handle_ref(h);
	else
		h = NULL;
	janus_mutex_unlock(&reg_mutex);
	return h;
}

/* =============================================================================
 * Membership (all with the registry lock held)
 * ==========================================================================*/

static sfu_member *member_get(sfu_room *room, const char *user_id) {
	return room ? g_hash_table_lookup(room->members, user_id) : NULL;
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

static void publisher_users_add(const char *user_id, int delta) {
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(publisher_users, user_id));
	if(delta > 0) {
		g_hash_table_insert(publisher_users, g_strdup(user_id), GUINT_TO_POINTER(n + 1));
	} else if(n <= 1) {
		g_hash_table_remove(publisher_users, user_id);
	} else {
		g_hash_table_insert(publisher_users, g_strdup(user_id), GUINT_TO_POINTER(n - 1));
	}
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

static json_t *room_users(sfu_room *room) {
	json_t *users = json_array();
	if(room == NULL)
		return users;
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, room->members);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		sfu_member *m = value;
		if(m->publishers != NULL)
			json_array_append_new(users, json_string(m->user_id));
	}
	return users;
}

sfu_err sfu_registry_join(sfu_handle *h, const char *room_id, const char *user_id, sfu_role role,
	const sfu_limits *limits, json_t **users, GPtrArray **notify) {
	*users = NULL;
	*notify = NULL;
	janus_mutex_lock(&reg_mutex);
	sfu_room *room = g_hash_table_lookup(rooms, room_id);
	if(role == SFU_ROLE_PUBLISHER && limits != NULL) {
		if(limits->max_room_size > 0 && room != NULL && room->publisher_users >= limits->max_room_size) {
			janus_mutex_unlock(&reg_mutex);
			return SFU_ERR_ROOM_FULL;
		}
		if(limits->max_ccu > 0 && g_hash_table_size(publisher_users) >= limits->max_ccu) {
			janus_mutex_unlock(&reg_mutex);
			return SFU_ERR_SERVER_FULL;
		}
	}
	if(h->role != SFU_ROLE_NONE || g_atomic_int_get(&h->destroyed)) {
		janus_mutex_unlock(&reg_mutex);
		return SFU_ERR_ALREADY_JOINED;
	}
	/* Known from here: the join is accepted. The users list is taken before the joiner is added. */
	*users = room_users(room);
	if(room == NULL) {
		room = g_malloc0(sizeof(sfu_room));
		room->id = g_strdup(room_id);
		room->members = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, member_free);
		room->publishers = handle_array();
		janus_mutex_init(&room->snap_mutex);
		janus_refcount_init(&room->ref, room_free);
		g_hash_table_insert(rooms, room->id, room);
	}
	sfu_member *m = member_get(room, user_id);
	if(m == NULL) {
		m = g_malloc0(sizeof(sfu_member));
		m->user_id = g_strdup(user_id);
		g_hash_table_insert(room->members, m->user_id, m);
	}
	h->role = role;
	h->room_id = g_strdup(room_id);
	h->user_id = g_strdup(user_id);
	janus_refcount_increase(&room->ref);
	h->joined_at = g_get_real_time();
	/* Published last, atomically: the media path reads h->room without the registry lock
	 * (sfu_room_publishers), and h->user_id must be visible once it sees the room. */
	g_atomic_pointer_set(&h->room, room);
	if(role == SFU_ROLE_PUBLISHER) {
		if(m->publishers == NULL) {
			room->publisher_users++;
			publisher_users_add(user_id, +1);
		}
		m->publishers = g_list_append(m->publishers, h);
		room->pub_order = g_list_append(room->pub_order, h);
		swap_snapshot(&room->snap_mutex, &room->publishers, room->pub_order);
		*notify = room_targets(room, FALSE, NULL, user_id);
	} else {
		m->subscribers = g_list_append(m->subscribers, h);
	}
	janus_mutex_unlock(&reg_mutex);
	return SFU_OK;
}

static sfu_handle *find_publisher(const char *room_id, const char *media) {
	if(room_id != NULL)
		return registered_publisher(g_hash_table_lookup(rooms, room_id), media);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, rooms);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		sfu_handle *p = registered_publisher(value, media);
		if(p != NULL)
			return p;
	}
	return NULL;
}

char *sfu_registry_publisher_room(const char *room_id, const char *media) {
	janus_mutex_lock(&reg_mutex);
	sfu_handle *p = find_publisher(room_id, media);
	char *room = p ? g_strdup(p->room_id) : NULL;
	janus_mutex_unlock(&reg_mutex);
	return room;
}

sfu_err sfu_registry_subscribe(sfu_handle *h, const char *room_id, gboolean notifications, gboolean data,
	const char *media, char **offer, char **publisher_room) {
	*offer = NULL;
	if(publisher_room != NULL)
		*publisher_room = NULL;
	janus_mutex_lock(&reg_mutex);
	if(h->subscribed || g_atomic_int_get(&h->destroyed)) {
		janus_mutex_unlock(&reg_mutex);
		return SFU_ERR_HANDLE_SUBSCRIBED;
	}
	sfu_handle *pub = NULL;
	if(media != NULL) {
		pub = find_publisher(room_id, media);
		if(pub == NULL || pub == h) {
			janus_mutex_unlock(&reg_mutex);
			return SFU_ERR_NO_PUBLISHER;
		}
		janus_mutex_lock(&pub->mutex);
		*offer = g_strdup(pub->subscriber_offer);
		janus_mutex_unlock(&pub->mutex);
		if(*offer == NULL) {
			janus_mutex_unlock(&reg_mutex);
			return SFU_ERR_PUBLISHER_NOT_READY;
		}
		if(publisher_room != NULL)
			*publisher_room = g_strdup(pub->room_id);
	}
	/* Known from here: the subscription is accepted. */
	h->subscribed = TRUE;
	h->notifications = notifications;
	h->data = data;
	if(pub != NULL) {
		sfu_handle_ref(pub);
		janus_mutex_lock(&h->mutex);
		h->publisher = pub;
		janus_mutex_unlock(&h->mutex);
		swap_snapshot_edit(&pub->subs_mutex, &pub->subs, NULL, h);
	}
	janus_mutex_unlock(&reg_mutex);
	return SFU_OK;
}

GPtrArray *sfu_registry_set_offer(sfu_handle *pub, char *offer, int audio_pt, int video_pt) {
	janus_mutex_lock(&pub->mutex);
	g_free(pub->subscriber_offer);
	pub->subscriber_offer = offer;
	pub->audio_pt = audio_pt;
	pub->video_pt = video_pt;
	janus_mutex_unlock(&pub->mutex);
	return sfu_handle_subscribers(pub);
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
	janus_mutex_lock(&h->mutex);
	sfu_handle *pub = h->publisher;
	h->publisher = NULL;
	janus_mutex_unlock(&h->mutex);
	if(pub != NULL) {
		swap_snapshot_edit(&pub->subs_mutex, &pub->subs, h, NULL);
		sfu_handle_unref(pub);
	}
	/* Publisher side: its subscribers lose their source (breaks the reference cycle). */
	GPtrArray *subs = sfu_handle_subscribers(h);
	for(guint i = 0; i < subs->len; i++) {
		sfu_handle *s = subs->pdata[i];
		janus_mutex_lock(&s->mutex);
		sfu_handle *was = s->publisher;
		if(was == h)
			s->publisher = NULL;
		janus_mutex_unlock(&s->mutex);
		if(was == h)
			sfu_handle_unref(h);
	}
	g_ptr_array_unref(subs);
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
			publisher_users_add(h->user_id, -1);
		}
	} else {
		m->subscribers = g_list_remove(m->subscribers, h);
	}
	if(m->publishers == NULL && m->subscribers == NULL) {
		g_hash_table_remove(room->members, h->user_id);
		out->user_left = TRUE;
		out->notify = room_targets(room, FALSE, NULL, h->user_id);
	}
	if(g_hash_table_size(room->members) == 0)
		g_hash_table_remove(rooms, room->id);
}

gboolean sfu_registry_remove(janus_plugin_session *jh, sfu_departure *out) {
	memset(out, 0, sizeof(*out));
	janus_mutex_lock(&reg_mutex);
	sfu_handle *h = handles ? g_hash_table_lookup(handles, jh) : NULL;
	if(h == NULL) {
		janus_mutex_unlock(&reg_mutex);
		return FALSE;
	}
	g_atomic_int_set(&h->destroyed, 1);
	g_hash_table_steal(handles, jh);
	detach_locked(h, out);
	janus_mutex_unlock(&reg_mutex);
	sfu_handle_unref(h); /* the table's reference */
	return TRUE;
}

GPtrArray *sfu_registry_evict(
	const char *room_id, const char *user_id, sfu_handle *except, sfu_departure *out) {
	memset(out, 0, sizeof(*out));
	GPtrArray *victims = handle_array();
	janus_mutex_lock(&reg_mutex);
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
	janus_mutex_unlock(&reg_mutex);
	return victims;
}

static json_t *handle_summary(sfu_handle *h) {
	json_t *item = json_object();
	json_object_set_new(item, "id", json_integer((json_int_t)h->id));
	json_object_set_new(
		item, "role", json_string(h->role == SFU_ROLE_PUBLISHER ? "publisher" : "subscriber"));
	json_object_set_new(item, "media_up", json_boolean(g_atomic_int_get(&h->media_up)));
	janus_mutex_lock(&h->mutex);
	if(h->publisher != NULL && h->publisher->user_id != NULL)
		json_object_set_new(item, "receiving_from", json_string(h->publisher->user_id));
	janus_mutex_unlock(&h->mutex);
	return item;
}

json_t *sfu_registry_list_rooms(void) {
	json_t *list = json_array();
	janus_mutex_lock(&reg_mutex);
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, rooms);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		sfu_room *room = value;
		json_array_append_new(
			list, json_pack("{sssisi}", "room_id", room->id, "users", (int)g_hash_table_size(room->members),
					  "publisher_users", (int)room->publisher_users));
	}
	janus_mutex_unlock(&reg_mutex);
	return list;
}

json_t *sfu_registry_list_participants(const char *room_id) {
	janus_mutex_lock(&reg_mutex);
	sfu_room *room = g_hash_table_lookup(rooms, room_id);
	if(room == NULL) {
		janus_mutex_unlock(&reg_mutex);
		return NULL;
	}
	json_t *list = json_array();
	GHashTableIter iter;
	gpointer value;
	g_hash_table_iter_init(&iter, room->members);
	while(g_hash_table_iter_next(&iter, NULL, &value)) {
		sfu_member *m = value;
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
		if(first != NULL) {
			janus_mutex_lock(&first->mutex);
			if(first->auth.exp > 0)
				json_object_set_new(p, "expires_at", json_integer(first->auth.exp));
			if(first->auth.kid != NULL)
				json_object_set_new(p, "kid", json_string(first->auth.kid));
			if(first->auth.sub != NULL)
				json_object_set_new(p, "sub", json_string(first->auth.sub));
			json_object_set_new(p, "publish_media", json_boolean(first->auth.publish_media));
			json_object_set_new(p, "send_data", json_boolean(first->auth.send_data));
			json_object_set_new(p, "kick_users", json_boolean(first->auth.kick_users));
			janus_mutex_unlock(&first->mutex);
		}
		json_array_append_new(list, p);
	}
	janus_mutex_unlock(&reg_mutex);
	return list;
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

GPtrArray *sfu_registry_block(sfu_handle *h, const char *whom) {
	g_rw_lock_writer_lock(&blocks_lock);
	GHashTable *mine = g_hash_table_lookup(blocks, h->user_id);
	if(mine == NULL) {
		mine = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_hash_table_insert(blocks, g_strdup(h->user_id), mine);
	}
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(mine, whom));
	if(n == 0)
		g_atomic_int_inc(&blocks_count);
	g_hash_table_insert(mine, g_strdup(whom), GUINT_TO_POINTER(n + 1));
	g_rw_lock_writer_unlock(&blocks_lock);
	janus_mutex_lock(&reg_mutex);
	GPtrArray *targets = room_targets(h->room, FALSE, whom, NULL);
	janus_mutex_unlock(&reg_mutex);
	return targets;
}

GPtrArray *sfu_registry_unblock(sfu_handle *h, const char *whom, sfu_handle **fir_target) {
	g_rw_lock_writer_lock(&blocks_lock);
	GHashTable *mine = g_hash_table_lookup(blocks, h->user_id);
	if(mine != NULL && g_hash_table_remove(mine, whom)) {
		g_atomic_int_add(&blocks_count, -1);
		if(g_hash_table_size(mine) == 0)
			g_hash_table_remove(blocks, h->user_id);
	}
	g_rw_lock_writer_unlock(&blocks_lock);
	janus_mutex_lock(&reg_mutex);
	GPtrArray *targets = room_targets(h->room, FALSE, whom, NULL);
	sfu_handle *p = registered_publisher(h->room, whom);
	if(p != NULL)
		sfu_handle_ref(p);
	*fir_target = p;
	janus_mutex_unlock(&reg_mutex);
	return targets;
}

gboolean sfu_registry_is_blocked(const char *a, const char *b) {
	if(g_atomic_int_get(&blocks_count) == 0 || a == NULL || b == NULL)
		return FALSE;
	gboolean blocked = FALSE;
	g_rw_lock_reader_lock(&blocks_lock);
	GHashTable *of_a = blocks ? g_hash_table_lookup(blocks, a) : NULL;
	GHashTable *of_b = blocks ? g_hash_table_lookup(blocks, b) : NULL;
	if((of_a != NULL && g_hash_table_contains(of_a, b)) || (of_b != NULL && g_hash_table_contains(of_b, a)))
		blocked = TRUE;
	g_rw_lock_reader_unlock(&blocks_lock);
	return blocked;
}

/* =============================================================================
 * Queries
 * ==========================================================================*/

GPtrArray *sfu_registry_data_targets(sfu_handle *h, const char *whom) {
	janus_mutex_lock(&reg_mutex);
	GPtrArray *targets = room_targets(h->room, TRUE, whom, whom ? NULL : h->user_id);
	janus_mutex_unlock(&reg_mutex);
	return targets;
}

GPtrArray *sfu_registry_user_handles(const char *room_id, const char *user_id) {
	GPtrArray *out = handle_array();
	janus_mutex_lock(&reg_mutex);
	sfu_member *m = member_get(g_hash_table_lookup(rooms, room_id), user_id);
	for(int pass = 0; m != NULL && pass < 2; pass++) {
		for(GList *l = pass ? m->subscribers : m->publishers; l != NULL; l = l->next) {
			sfu_handle_ref(l->data);
			g_ptr_array_add(out, l->data);
		}
	}
	janus_mutex_unlock(&reg_mutex);
	return out;
}

GPtrArray *sfu_handle_subscribers(sfu_handle *pub) {
	janus_mutex_lock_nodebug(&pub->subs_mutex);
	GPtrArray *subs = g_ptr_array_ref(pub->subs);
	janus_mutex_unlock_nodebug(&pub->subs_mutex);
	return subs;
}

GPtrArray *sfu_room_publishers(sfu_handle *h) {
	sfu_room *room = g_atomic_pointer_get(&h->room);
	if(room == NULL)
		return NULL;
	janus_mutex_lock_nodebug(&room->snap_mutex);
	GPtrArray *pubs = g_ptr_array_ref(room->publishers);
	janus_mutex_unlock_nodebug(&room->snap_mutex);
	return pubs;
}

sfu_handle *sfu_handle_publisher(sfu_handle *sub) {
	janus_mutex_lock_nodebug(&sub->mutex);
	sfu_handle *p = sub->publisher;
	if(p != NULL)
		sfu_handle_ref(p);
	janus_mutex_unlock_nodebug(&sub->mutex);
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

json_t *sfu_handle_describe(sfu_handle *h) {
	json_t *info = json_object();
	janus_mutex_lock(&reg_mutex);
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
	janus_mutex_lock(&h->mutex);
	if(h->publisher != NULL && h->publisher->user_id != NULL)
		json_object_set_new(info, "receiving_from", json_string(h->publisher->user_id));
	json_object_set_new(info, "has_subscriber_offer", json_boolean(h->subscriber_offer != NULL));
	json_object_set_new(info, "publish_media", json_boolean(h->auth.publish_media));
	json_object_set_new(info, "send_data", json_boolean(h->auth.send_data));
	if(h->auth.exp > 0)
		json_object_set_new(info, "expires_at", json_integer(h->auth.exp));
	if(h->auth.kid != NULL)
		json_object_set_new(info, "kid", json_string(h->auth.kid));
	if(h->auth.sub != NULL)
		json_object_set_new(info, "sub", json_string(h->auth.sub));
	janus_mutex_unlock(&h->mutex);
	GPtrArray *subs = sfu_handle_subscribers(h);
	json_object_set_new(info, "subscribers", json_integer(subs->len));
	g_ptr_array_unref(subs);
	json_object_set_new(info, "media_up", json_boolean(g_atomic_int_get(&h->media_up)));
	json_object_set_new(info, "destroyed", json_boolean(g_atomic_int_get(&h->destroyed)));
	janus_mutex_unlock(&reg_mutex);
	return info;
}

void sfu_registry_counts_get(sfu_registry_counts *out) {
	janus_mutex_lock(&reg_mutex);
	out->handles = handles ? g_hash_table_size(handles) : 0;
	out->rooms = rooms ? g_hash_table_size(rooms) : 0;
	out->publisher_users = publisher_users ? g_hash_table_size(publisher_users) : 0;
	janus_mutex_unlock(&reg_mutex);
}
