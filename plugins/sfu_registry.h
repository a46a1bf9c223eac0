/*! \file    sfu_registry.h
 * \brief    janus-sfu: handles, rooms, room membership, subscriptions and blocks
 * \details  The registry is the plugin's whole shared state. One mutex (the
 * registry lock) guards the tables and every membership change; it is held
 * only for table work, never across a call into the Janus core. Functions that
 * change membership return the handles to notify as a GPtrArray of new
 * references (free with g_ptr_array_unref), so the caller can push events
 * after the lock is released (docs/DESIGN.md, "two phases").
 *
 * The media path never takes the registry lock: it reads per-publisher and
 * per-room snapshot arrays (sfu_handle_subscribers, sfu_room_publishers),
 * which are swapped under small dedicated locks, and the block table, which has
 * its own read-write lock and a lock-free "no blocks at all" fast path.
 *
 * Lock order: registry -> handle mutex -> snapshot locks -> blocks lock.
 */
#ifndef SFU_REGISTRY_H
#define SFU_REGISTRY_H

#include <glib.h>
#include <jansson.h>
#include <mutex.h>
#include <refcount.h>
#include <plugins/plugin.h>

#include "sfu_errors.h"

typedef enum sfu_role {
	SFU_ROLE_NONE = 0,  /*!< not joined */
	SFU_ROLE_PUBLISHER, /*!< joined with subscribe.data == true: in the room list */
	SFU_ROLE_SUBSCRIBER /*!< any other join */
} sfu_role;

typedef struct sfu_room sfu_room;

/*! \brief Authorization attached to a joined handle (what its token allowed). */
typedef struct sfu_handle_auth {
	gboolean publish_media; /*!< its audio/video is relayed */
	gboolean send_data;     /*!< its data messages are relayed */
	gboolean kick_users;
	gint64 exp;                         /*!< token expiry (unix s), 0 when open/unknown */
	char *kid, *jti, *sub, *bound_user; /*!< owned, NULL when absent */
} sfu_handle_auth;

/*! \brief One Janus handle (one PeerConnection). Refcounted; the handles table owns one reference.
 * Ownership of the core's session: Janus 1.1.2 gives a \c janus_plugin_session two references when it
 * attaches a handle; the core drops its own when the handle is detached, and the plugin owns the other.
 * It is dropped when the last reference to the sfu_handle goes (handle_free), so \c jh stays valid for
 * as long as anything (a queued request, a media snapshot, an ejection) can still reach the handle.
 * Fields marked [once] are written once, under the registry lock, before the
 * handle becomes visible in a room, and are read-only afterwards. Fields
 * marked [m] need \c mutex. Fields marked [atomic] use g_atomic_*. */
typedef struct sfu_handle {
	janus_plugin_session *jh; /*!< [once] the core's handle; NULL in unit tests is fine */
	guint64 id;               /*!< [once] plugin-local id for logs */
	janus_refcount ref;
	volatile gint destroyed; /*!< [atomic] destroy_session ran */
	volatile gint media_up;  /*!< [atomic] setup_media ran and hangup_media did not */
	janus_mutex mutex;
	/* Join state */
	sfu_role role;                /*!< [once] */
	char *room_id, *user_id;      /*!< [once] */
	sfu_room *room;               /*!< [once] reference to the joined room */
	gboolean subscribed;          /*!< [registry] a subscription was stored */
	gboolean notifications, data; /*!< [once with subscribed] */
	gint64 joined_at;             /*!< [once] real time µs */
	gboolean detached;            /*!< [registry] left its room and subscriptions (evicted or removed) */
	sfu_handle_auth auth;         /*!< [m] */
	/* Publisher media state */
	char *subscriber_offer; /*!< [m] SDP offered to this publisher's subscribers */
	int audio_pt, video_pt; /*!< [m] payload types negotiated with the publisher (-1: none) */
	char *publisher_offer;  /*!< [m] the publisher's last SDP offer (to renegotiate its video codec) */
	int video_codec;        /*!< [m] the video codec it sends (an sfu_vcodec; 0: none) */
	int reoffer_codec;      /*!< [m] video codec of the plugin's outstanding offer to it (0: none) */
	guint64 sdp_version;    /*!< [m] o= version of the last SDP sent to it */
	guint32 fir_seq;        /*!< [atomic] FIR sequence number */
	janus_mutex subs_mutex; /*!< guards the \c subs pointer swap only */
	GPtrArray *subs;        /*!< snapshot of subscriber handles (each element a reference) */
	/* Subscriber state */
	struct sfu_handle *publisher; /*!< [registry] reference to the publisher received, or NULL */
	/* Signalling queue (sfu_signal) */
	GQueue *pending;    /*!< [m] queued requests */
	gboolean scheduled; /*!< [m] the handle is on the ready queue or being processed */
} sfu_handle;

/*! \brief Membership limits checked on publisher joins (0 = unlimited). */
typedef struct sfu_limits {
	guint max_room_size, max_ccu;
} sfu_limits;

/*! \brief Create the tables (plugin init). */
void sfu_registry_init(void);
/*! \brief Drop every handle, room and block (plugin destroy; no core calls). */
void sfu_registry_shutdown(void);

/*! \brief Register a new handle for \p jh. @returns a borrowed pointer (the table owns it), NULL if \p jh is known */
sfu_handle *sfu_registry_add(janus_plugin_session *jh);
/*! \brief Look up the handle of \p jh. @returns a new reference, or NULL when unknown or destroyed */
sfu_handle *sfu_registry_lookup(janus_plugin_session *jh);
/*! \brief Take a reference / drop one. */
void sfu_handle_ref(sfu_handle *h);
void sfu_handle_unref(sfu_handle *h);

/*! \brief Result of removing a handle: whom to tell that its user left. */
typedef struct sfu_departure {
	gboolean joined;         /*!< the handle had joined a room */
	gboolean user_left;      /*!< it was its user's last handle in that room: send \c leave */
	char *room_id, *user_id; /*!< owned copies (NULL when not joined) */
	GPtrArray *notify;       /*!< publisher handles to send \c leave to (references) */
} sfu_departure;
void sfu_departure_clear(sfu_departure *d);

/*! \brief Destroy the handle of \p jh: mark it, leave its room, drop its subscriptions, drop the table reference.
 * Idempotent. @returns FALSE if \p jh was unknown. Must not hold the registry lock. */
gboolean sfu_registry_remove(janus_plugin_session *jh, sfu_departure *out);

/*! \brief Evict every handle of \p user_id in \p room_id but \p except (kick, ejection, stale-session
 * replacement), first phase: marks them destroyed and detaches them from the room and from their
 * subscriptions under the registry lock, so no media or event reaches them any more. The caller then
 * tells them why and ends their sessions (second phase, no lock held).
 * @param[out] out Whom to send \c leave to, if the user has no handle left in the room
 * @returns the evicted handles (references) */
GPtrArray *sfu_registry_evict(
	const char *room_id, const char *user_id, sfu_handle *except, sfu_departure *out);

/*! \brief Join \p h to \p room_id as \p user_id (§4.1 steps 2-6).
 * @param[out] users New JSON array of the user_ids with a publisher in the room before this join
 * @param[out] notify Publisher handles to send \c join to (references), NULL for subscriber joins
 * @returns SFU_OK, SFU_ERR_ROOM_FULL, SFU_ERR_SERVER_FULL or SFU_ERR_ALREADY_JOINED */
sfu_err sfu_registry_join(sfu_handle *h, const char *room_id, const char *user_id, sfu_role role,
	const sfu_limits *limits, json_t **users, GPtrArray **notify);

/*! \brief Store \p h's subscription and, when \p media is set, subscribe it to \p media's publisher.
 * The publisher is looked up in \p room_id (the joined room; for a \c subscribe
 * request of a non-joined handle, \p room_id may be NULL: any room, first match).
 * @param[out] offer New copy of the publisher's subscriber offer when subscribing to media
 * @param[out] publisher_room New copy of the room the publisher is in (may be NULL)
 * @returns SFU_OK, SFU_ERR_HANDLE_SUBSCRIBED, SFU_ERR_NO_PUBLISHER, SFU_ERR_PUBLISHER_NOT_READY */
sfu_err sfu_registry_subscribe(sfu_handle *h, const char *room_id, gboolean notifications, gboolean data,
	const char *media, char **offer, char **publisher_room);

/*! \brief Find the room of \p media's registered publisher (for checking a subscribe token before subscribing).
 * @returns a new string or NULL when there is no such publisher */
char *sfu_registry_publisher_room(const char *room_id, const char *media);

/*! \brief Store a publisher's new subscriber offer and payload types.
 * @returns the current subscribers (references) to push the renegotiation offer to */
GPtrArray *sfu_registry_set_offer(sfu_handle *pub, char *offer, int audio_pt, int video_pt);

/*! \brief The video codec of \p h's room (an sfu_vcodec, opaque here), first set to \p initial when the room has
 * none yet. @returns 0 when \p h is not in a room */
int sfu_registry_room_video(sfu_handle *h, int initial);
/*! \brief Switch the video codec of \p h's room from \p from to \p to (atomically, once).
 * @returns the room's publisher handles (references) when this call switched it, else NULL */
GPtrArray *sfu_registry_room_video_switch(sfu_handle *h, int from, int to);

/*! \brief Record that \p h's user blocks \p whom. @returns handles to send \c blocked to (references) */
GPtrArray *sfu_registry_block(sfu_handle *h, const char *whom);
/*! \brief Remove every block of \p h's user on \p whom.
 * @param[out] fir_target \p whom's registered publisher in the room (reference) or NULL
 * @returns handles to send \c unblocked to (references) */
GPtrArray *sfu_registry_unblock(sfu_handle *h, const char *whom, sfu_handle **fir_target);
/*! \brief TRUE when either user blocks the other. Media path: no registry lock, no allocation. */
gboolean sfu_registry_is_blocked(const char *a, const char *b);

/*! \brief Publisher handles of \p h's room with data events wanted, to which a websocket \c data from \p h goes.
 * @param[in] whom Only that user's handles when set, else everyone but the sender's user */
GPtrArray *sfu_registry_data_targets(sfu_handle *h, const char *whom);

/*! \brief Every joined handle of \p user_id in \p room_id (references), for kicks and ejections. */
GPtrArray *sfu_registry_user_handles(const char *room_id, const char *user_id);

/*! \brief Snapshot of a publisher's subscribers (media path). Free with g_ptr_array_unref. */
GPtrArray *sfu_handle_subscribers(sfu_handle *pub);
/*! \brief Snapshot of the publisher handles in \p h's room (media path), NULL when not joined. */
GPtrArray *sfu_room_publishers(sfu_handle *h);
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
	guint handles, rooms, publisher_users;
} sfu_registry_counts;
void sfu_registry_counts_get(sfu_registry_counts *out);

#endif
