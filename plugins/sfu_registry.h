/*! \file    sfu_registry.h
 * \brief    janus-sfu: handles, rooms, room membership, subscriptions and blocks
 * \details  The registry is the plugin's whole shared state. One mutex (the
 * registry lock) guards the tables and every membership change. A change that
 * must be decided together with other state (the ban check and the grant of a
 * join, a kick and its ban, a refresh, a departure and its deadlines) is made by
 * sfu_access as one atomic step: it takes the lock with sfu_registry_lock(),
 * calls the \c _locked functions below and the leaf modules (bans, expiry),
 * then unlocks; so no request can observe a half-joined handle or slip between
 * a ban and an eviction. The lock is never held across a call into the Janus
 * core (sfu_core checks that: sfu_registry_lock_held()). Functions that change
 * membership return the handles to notify as a GPtrArray of new references
 * (free with g_ptr_array_unref), so the caller can push events after unlocking.
 *
 * The media path never takes the registry lock: it reads per-publisher and
 * per-room snapshot arrays (sfu_handle_subscribers, sfu_room_publishers),
 * swapped under small dedicated locks, and per-subscriber atomic flags (its
 * token's publish/send permissions, whether a block separates it from its
 * publisher). Data relay also reads the block table under its own read lock.
 *
 * Lock order: registry -> handle mutex -> snapshot locks -> blocks lock; the
 * bans and expiry locks are leaves taken under the registry lock.
 */
#ifndef SFU_REGISTRY_H
#define SFU_REGISTRY_H

#include <glib.h>
#include <jansson.h>
#include <refcount.h>
#include <plugins/plugin.h>

#include "sfu_errors.h"
#include "sfu_lock.h"

typedef enum sfu_role {
	SFU_ROLE_NONE = 0,  /*!< not joined */
	SFU_ROLE_PUBLISHER, /*!< joined with subscribe.data == true: in the room list */
	SFU_ROLE_SUBSCRIBER /*!< any other join */
} sfu_role;

typedef struct sfu_room sfu_room;

/*! \brief What an owner's mute stops relaying (bits of sfu_handle.muted). */
#define SFU_MUTE_AUDIO 1u
#define SFU_MUTE_VIDEO 2u
#define SFU_MUTE_ALL   (SFU_MUTE_AUDIO | SFU_MUTE_VIDEO)

/*! \brief Authorization attached to a joined handle (what its token allowed). Written only under the registry
 * lock, by sfu_handle_set_auth_locked() (join, refresh, a grant shared with the user's other handles) and by
 * the deadline step (\c warned_exp). Tags as in sfu_handle: the two permissions are [atomic, written under
 * reg] (the media path and the data request read them with g_atomic_int_get, no lock); every other field is
 * [reg]: read under the registry lock only (sfu_access copies what it needs, e.g. \c exp for a warning,
 * before it unlocks). Until a grant is attached everything is denied. */
typedef struct sfu_handle_auth {
	volatile gint publish_media; /*!< [atomic, written under reg] its audio/video is relayed */
	volatile gint send_data;     /*!< [atomic, written under reg] its data messages are relayed */
	gboolean kick_users;         /*!< [reg] it may kick (informational: kicks re-check the token) */
	gint64 exp;                  /*!< [reg] token expiry (unix s), 0 when open/unknown */
	gint64 eject_at; /*!< [reg] real-time µs when this handle is ejected for its token's expiry, 0: never */
	gint64 session_end; /*!< [reg] real-time µs when its max_session_s ends, 0: no limit */
	gint64 warned_exp;  /*!< [reg] the exp its token_expiring warning was sent for (0: none yet) */
	char *kid, *jti, *sub, *bound_user; /*!< [reg] owned, NULL when absent; bound_user: the user_id claim */
} sfu_handle_auth;

/*! \brief One Janus handle (one PeerConnection). Refcounted; the handles table owns one reference.
 * Field tags (who may read and write a field, and under which lock):
 *  - [const]: set by sfu_registry_add() before the handle is in the table; never changed;
 *  - [once]: written once, under the registry lock, by the join (or a subscribe's entry) of this handle,
 *    which runs on the handle's own signalling worker, before \c room is published; never changed
 *    afterwards. Read by that worker (its later requests) without a lock, by other threads under the
 *    registry lock, and by the media path after it found \c room non-NULL (the atomic store of \c room,
 *    made last, publishes them);
 *  - [reg]: registry lock for reads and writes;
 *  - [m]: \c mutex for reads and writes;
 *  - [atomic]: g_atomic_* only; "written under reg" adds that every write also holds the registry lock (so a
 *    reader holding it sees a value consistent with the membership tables);
 *  - [s]: \c subs_mutex, taken only to swap the pointer or take a reference to the array;
 *  - [worker]: only the signalling worker processing this handle's request (one at a time), no lock.
 *
 * Ownership of the core's session: Janus 1.1.2 gives a \c janus_plugin_session two references when it
 * attaches a handle; the core drops its own when the handle is detached, and the plugin owns the other.
 * It is dropped when the last reference to the sfu_handle goes (handle_free), so \c jh stays valid for
 * as long as anything (a queued request, a media snapshot, an ejection) can still reach the handle. */
typedef struct sfu_handle {
	janus_plugin_session *jh; /*!< [const] the core's handle; NULL in unit tests is fine */
	guint64 id;               /*!< [const] plugin-local id for logs */
	janus_refcount ref;       /*!< [atomic] (janus_refcount) */
	volatile gint destroyed;  /*!< [atomic] destroyed or evicted: no media, event or request reaches it */
	volatile gint media_up;   /*!< [atomic] setup_media ran and hangup_media did not */
	volatile gint blocked; /*!< [atomic, written under reg] subscriber: its user and its publisher's block */
	volatile gint muted;   /*!< [atomic, written under reg] SFU_MUTE_* of its user in its room: not relayed */
	/* Join state */
	sfu_role role;           /*!< [once] */
	char *room_id, *user_id; /*!< [once] */
	/*! [once, atomic] reference to the joined room, NULL until then: stored last with g_atomic_pointer_set,
	 * read by the media path with g_atomic_pointer_get */
	sfu_room *room;
	/*! [reg] subscription flags: the join's, or those of a subscribe made before any join */
	gboolean notifications, data;
	gint64 joined_at;     /*!< [once] real time µs */
	gboolean subscribed;  /*!< [reg] a subscription was stored */
	gboolean detached;    /*!< [reg] left its room and subscriptions (evicted or removed) */
	sfu_handle_auth auth; /*!< [reg], its two permissions [atomic, written under reg] (see above) */
	/* Media state */
	sfu_mutex mutex;              /*!< guards the [m] fields */
	char *subscriber_offer;       /*!< [m] SDP offered to this publisher's subscribers */
	int audio_pt, video_pt;       /*!< [m] payload types negotiated with the publisher (-1: none; not read) */
	char *publisher_offer;        /*!< [m] the publisher's last SDP offer (to renegotiate its video codec) */
	int video_codec;              /*!< [m] the video codec it sends (an sfu_vcodec; 0: none) */
	int reoffer_codec;            /*!< [m] video codec of the plugin's outstanding offer to it (0: none) */
	guint64 sdp_version;          /*!< [m] o= version of the last SDP sent to it */
	struct sfu_handle *publisher; /*!< [m, written under reg] reference to the publisher received, or NULL */
	guint32 fir_seq;              /*!< [atomic] FIR sequence number */
	sfu_mutex subs_mutex;         /*!< guards the [s] field */
	/*! [s] snapshot of subscriber handles (each element a reference); immutable once published: replaced,
	 * never edited, and only under the registry lock */
	GPtrArray *subs;
	/*! [const] what the signalling module keeps for this handle (its request queue), opaque here: made and
	 * freed by the hooks it registered (sfu_registry_set_signal_hooks), NULL without them */
	void *signal;
} sfu_handle;

/*! \brief How the signalling module makes and frees its per-handle state (sfu_handle.signal), so that the
 * registry and the relay never see its fields. Set before the first handle is added. */
typedef struct sfu_signal_hooks {
	void *(*create)(void);
	void (*destroy)(void *state);
} sfu_signal_hooks;
void sfu_registry_set_signal_hooks(const sfu_signal_hooks *hooks);

/*! \brief Token buckets of one user's websocket data in one room (messages, bytes), kept with its membership so
 * that many handles of one user share them. */
typedef struct sfu_data_bucket {
	double msgs, bytes;
	gint64 refill_us; /*!< monotonic time of their last refill, 0: never */
} sfu_data_bucket;

/*! \brief Takes what one data message costs from \p bucket (registry lock held). @returns FALSE: over the rate */
typedef gboolean (*sfu_data_allow)(sfu_data_bucket *bucket, gpointer user_data);

/*! \brief Membership limits checked on publisher joins (0 = unlimited). */
typedef struct sfu_limits {
	guint max_room_size, max_ccu;
	guint max_publishers_per_user; /*!< publisher handles one user_id may hold in a room (0 = unlimited) */
} sfu_limits;

/*! \brief Create the tables (plugin init). \p max_blocks_per_user bounds each user's blocks. */
void sfu_registry_init(guint max_blocks_per_user);
/*! \brief Drop every handle, room and block (plugin destroy; no core calls). */
void sfu_registry_shutdown(void);

/*! \brief Take / release the registry lock (for sfu_access's atomic steps). Not recursive. */
void sfu_registry_lock(void);
void sfu_registry_unlock(void);
/*! \brief TRUE when the calling thread holds the registry lock (any thread; for checks and probes). */
gboolean sfu_registry_lock_held(void);

/*! \brief Register a new handle for \p jh. @returns a borrowed pointer (the table owns it), NULL if \p jh is known */
sfu_handle *sfu_registry_add(janus_plugin_session *jh);
/*! \brief Look up the handle of \p jh. @returns a new reference, or NULL when unknown or destroyed */
sfu_handle *sfu_registry_lookup(janus_plugin_session *jh);
/*! \brief Take a reference / drop one. */
void sfu_handle_ref(sfu_handle *h);
void sfu_handle_unref(sfu_handle *h);

/*! \brief Result of removing handles: whom to tell that a user left. */
typedef struct sfu_departure {
	gboolean joined;         /*!< the handle had joined a room */
	gboolean user_left;      /*!< it was its user's last handle in that room: send \c leave */
	char *room_id, *user_id; /*!< owned copies (NULL when not joined) */
	GPtrArray *notify;       /*!< publisher handles to send \c leave to (references) */
} sfu_departure;
void sfu_departure_clear(sfu_departure *d);

/* =============================================================================
 * Membership changes: the registry lock must be held (sfu_registry_lock)
 * ==========================================================================*/

/*! \brief What a join asks for (§4.1). Strings are borrowed. */
typedef struct sfu_join {
	const char *room_id, *user_id;
	sfu_role role;
	gboolean notifications, data; /*!< the subscription flags, stored with the membership */
	gboolean subscribe;           /*!< a subscription object was given */
	const char *media;            /*!< subscribe to this user's publisher in the room, or NULL */
	sfu_limits limits;            /*!< checked on publisher joins */
	gboolean replacing; /*!< the user's other handles are being replaced (stale sessions): its own id is
								   * left out of \c users and its publisher handles out of the per-user cap */
	const sfu_handle_auth *auth; /*!< the grant to attach before the handle becomes visible (copied) */
} sfu_join;

/*! \brief What a join produced. Clear with sfu_join_result_clear(). */
typedef struct sfu_join_result {
	json_t *users;     /*!< user_ids with a publisher in the room before this join (new array) */
	GPtrArray *notify; /*!< publisher handles to send \c join to (references), NULL for subscriber joins */
	char *offer;       /*!< the publisher's subscriber offer when \c media was given */
} sfu_join_result;
void sfu_join_result_clear(sfu_join_result *r);

/*! \brief Join \p h as one step: membership, subscription flags, the grant and, with \c media, the
 * subscription to that publisher. On error nothing has changed.
 * @returns SFU_OK, SFU_ERR_ROOM_FULL, SFU_ERR_SERVER_FULL, SFU_ERR_ALREADY_JOINED, SFU_ERR_NO_PUBLISHER,
 * SFU_ERR_PUBLISHER_NOT_READY */
sfu_err sfu_registry_join_locked(sfu_handle *h, const sfu_join *join, sfu_join_result *out);

/*! \brief Store a \c subscribe request's subscription on joined handle \p h (publisher looked up in its
 * room) or, when \p h has not joined and \p media is NULL, only the flags (the old plugin's behaviour).
 * @param[out] offer New copy of the publisher's subscriber offer when subscribing to media
 * @returns SFU_OK, SFU_ERR_HANDLE_SUBSCRIBED, SFU_ERR_NO_PUBLISHER, SFU_ERR_PUBLISHER_NOT_READY */
sfu_err sfu_registry_subscribe_locked(
	sfu_handle *h, gboolean notifications, gboolean data, const char *media, char **offer);

/*! \brief The room of \p media's registered publisher among the rooms \p allowed accepts (any room when
 * \p allowed is NULL), for a \c subscribe of a handle that has not joined. @returns a new string or NULL */
char *sfu_registry_publisher_room_locked(
	const char *media, gboolean (*allowed)(const char *room_id, gpointer ud), gpointer ud);

/*! \brief Every live handle of \p user_id in \p room_id (references, publishers first). */
GPtrArray *sfu_registry_user_handles_locked(const char *room_id, const char *user_id);

/*! \brief Every live joined handle of \p room_id, or of every room when NULL (references). */
GPtrArray *sfu_registry_handles_locked(const char *room_id);

/*! \brief Replace \p h's grant with a copy of \p auth (permissions are stored atomically). */
void sfu_handle_set_auth_locked(sfu_handle *h, const sfu_handle_auth *auth);

/*! \brief Evict every handle of \p user_id in \p room_id but \p except (kick, ejection, stale-session
 * replacement), first phase: marks them destroyed and detaches them from the room and from their
 * subscriptions, so no media or event reaches them any more. The caller then tells them why and ends
 * their sessions (second phase, after unlocking).
 * @param[out] out Whom to send \c leave to, if the user has no handle left in the room
 * @returns the evicted handles (references) */
GPtrArray *sfu_registry_evict_locked(
	const char *room_id, const char *user_id, sfu_handle *except, sfu_departure *out);

/*! \brief Evict one handle (ejection of a handle whose own token expired): as sfu_registry_evict_locked.
 * @param[out] out Whom to send \c leave to, if it was its user's last handle in the room */
void sfu_registry_evict_handle_locked(sfu_handle *h, sfu_departure *out);

/*! \brief Destroy the handle of \p jh: mark it, leave its room, drop its subscriptions, drop the table
 * reference. Idempotent. @returns FALSE if \p jh was unknown. */
gboolean sfu_registry_remove_locked(janus_plugin_session *jh, sfu_departure *out);

/* =============================================================================
 * Blocks (they lock the registry themselves)
 * ==========================================================================*/

/*! \brief Record that \p h's user blocks \p whom.
 * @param[out] targets Handles to send \c blocked to (references)
 * @returns SFU_OK, SFU_ERR_BLOCK_NOT_JOINED (h not in a room), SFU_ERR_TOO_MANY_BLOCKS */
sfu_err sfu_registry_block(sfu_handle *h, const char *whom, GPtrArray **targets);
/*! \brief Remove \p h's user's block on \p whom.
 * @param[out] targets Handles to send \c unblocked to (references)
 * @param[out] fir_target \p whom's registered publisher in the room (reference) or NULL
 * @returns SFU_OK or SFU_ERR_UNBLOCK_NOT_JOINED */
sfu_err sfu_registry_unblock(sfu_handle *h, const char *whom, GPtrArray **targets, sfu_handle **fir_target);
/*! \brief TRUE when either user blocks the other in room \p room_id (blocks belong to a room: a handle of
 * the same user_id in another room neither sees nor changes them). Data path: no registry lock, no allocation. */
gboolean sfu_registry_is_blocked(const char *room_id, const char *a, const char *b);
/*! \brief Number of block entries (stats, tests). */
guint sfu_registry_blocks_count(void);

/* =============================================================================
 * Queries (they lock the registry themselves) and the media path (no registry lock)
 * ==========================================================================*/

/*! \brief Store a publisher's new subscriber offer and payload types.
 * @returns the current subscribers (references) to push the renegotiation offer to */
GPtrArray *sfu_registry_set_offer(sfu_handle *pub, char *offer, int audio_pt, int video_pt);

/*! \brief The video codec of \p h's room (an sfu_vcodec, opaque here), first set to \p initial when the room has
 * none yet. @returns 0 when \p h is not in a room */
int sfu_registry_room_video(sfu_handle *h, int initial);
/*! \brief Switch the video codec of \p h's room from \p from to \p to (atomically, once).
 * @returns the room's publisher handles (references) when this call switched it, else NULL */
GPtrArray *sfu_registry_room_video_switch(sfu_handle *h, int from, int to);

/*! \brief Publisher handles of \p h's room with data events wanted, to which a websocket \c data from \p h goes.
 * @param[in] whom Only that user's handles when set, else everyone but the sender's user
 * @param[in] allow When set, charged to the (room, user) bucket of \p h's user first
 * @returns the targets (references), or NULL when \p allow refused */
GPtrArray *sfu_registry_data_targets(
	sfu_handle *h, const char *whom, sfu_data_allow allow, gpointer user_data);

/*! \brief Snapshot of a publisher's subscribers (media path). Free with g_ptr_array_unref. */
GPtrArray *sfu_handle_subscribers(sfu_handle *pub);
/*! \brief Snapshot of the publisher handles in \p h's room (media path), NULL when not joined. */
GPtrArray *sfu_room_publishers(sfu_handle *h);
/*! \brief Drop a snapshot (sfu_handle_subscribers, sfu_room_publishers, sfu_registry_set_offer): the same as
 * g_ptr_array_unref, and it tells ThreadSanitizer that this thread's reads of the snapshot's handles happened
 * before any of them is freed (the array's reference count lives in GLib, whose atomics TSan cannot see). */
void sfu_snapshot_release(GPtrArray *snapshot);
/*! \brief The publisher \p sub receives (new reference) or NULL. */
sfu_handle *sfu_handle_publisher(sfu_handle *sub);

/*! \brief JSON description of \p h for query_session / the admin API. */
json_t *sfu_handle_describe(sfu_handle *h);

/*! \brief Admin API: every room with its user counts (new JSON array). */
json_t *sfu_registry_list_rooms(void);
/*! \brief Admin API: the participants of \p room_id (new JSON array), NULL when there is no such room. */
json_t *sfu_registry_list_participants(const char *room_id);

/*! \brief Counts for stats and tests. */
typedef struct sfu_registry_counts {
	guint handles, rooms, publisher_users, users, blocks;
} sfu_registry_counts;
void sfu_registry_counts_get(sfu_registry_counts *out);

#endif
