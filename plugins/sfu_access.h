/*! \file    sfu_access.h
 * \brief    janus-sfu: keeping participants authorized for the whole call
 * \details  What happens after the token verified (sfu_token): every change of a
 * participant's membership or authorization is one atomic step here, taken
 * under the registry lock together with the state it depends on:
 *  - a join decides the ban check, the identity binding, the jti claim, stale-session replacement, the
 *    membership, its subscription flags, its grant (permissions, binding, identity) and its deadlines at once;
 *  - a kick or an ejection evicts the user's handles and records the ban in the same step, so a join can
 *    never slip between the two;
 *  - a refresh checks the binding and moves the grant and the deadlines of every handle of the identity;
 *  - a departure (destroy_session) leaves the room and cancels the user's deadlines together, so a rejoin
 *    that follows can never lose its own deadlines.
 * Calls into the Janus core (events, end_session) happen after the step, with no lock held (two phases:
 * docs/DESIGN.md). Deadlines (expiry warning, token expiry, session limit) live in sfu_expiry, bans and jti
 * claims in sfu_bans.
 *
 * Identity: a handle whose token carried a \c user_id claim is bound. A join, subscribe or refresh under a
 * user_id whose live handles are bound is refused (reason \c user_bound) unless its token binds the same
 * user; a grant is shared with a user's other handles only when they hold the same identity.
 */
#ifndef SFU_ACCESS_H
#define SFU_ACCESS_H

#include <glib.h>
#include <jansson.h>

#include "sfu_token.h"
#include "sfu_bans.h"
#include "sfu_config.h"
#include "sfu_errors.h"
#include "sfu_registry.h"

/*! \brief Start the scheduler and the bans. \p config must outlive sfu_access_stop(). @returns 0 or -1 */
int sfu_access_start(const sfu_config *config);
void sfu_access_stop(void);

/*! \brief A join request (§4.1), or the entry of a non-joined handle by \c subscribe. Borrowed strings. */
typedef struct sfu_join_request {
	const char *room_id, *user_id;
	sfu_role role;
	gboolean subscribe, notifications, data; /*!< the subscription object, when given */
	const char *media;                       /*!< subscribe to this user's audio/video, or NULL */
} sfu_join_request;

/*! \brief What a join still holds until its reply is pushed (sfu_access_join_finish). */
typedef struct sfu_access_pending sfu_access_pending;

/*! \brief Join \p h with the verified \p grant as one atomic step (see the file comment), then send \c join
 * to the room.
 * @param[out] users The room's publisher users before this join (new array), on success
 * @param[out] offer The publisher's subscriber offer when \c media was given (new string), on success
 * @param[out] reason Set on a refusal decided here (static string): banned, user_bound, token_in_use, server_busy
 * @param[out] pending When not NULL, receives what the join still holds: the caller pushes the join's reply,
 *   then calls sfu_access_join_finish, so that no \c join or \c leave decided after this join reaches the
 *   joiner before its reply (which lists the room's users). Until then, other membership announcements
 *   wait: push the reply promptly, and wait for nothing that may wait for them. NULL: finished at once.
 * @returns SFU_OK or the error to answer (nothing changed) */
sfu_err sfu_access_join(sfu_handle *h, const sfu_join_request *join, const sfu_grant *grant, json_t **users,
	char **offer, const char **reason, sfu_access_pending **pending);

/*! \brief Let later membership announcements go, end the stale handles the join replaced, audit it.
 * NULL does nothing. */
void sfu_access_join_finish(sfu_access_pending *pending);

/*! \brief A \c subscribe request with the verified \p grant (checked for its purpose, not yet for a room). A
 * handle that has not joined and asks for media enters the publisher's room as a subscriber under the token's
 * identity (user_id, else sub, else a per-handle name), as one step like a join; the publisher is only looked
 * up in rooms the grant allows, so a token cannot learn who publishes elsewhere.
 * @returns SFU_OK, SFU_ERR_USER_SUBSCRIBED, SFU_ERR_NO_PUBLISHER, SFU_ERR_PUBLISHER_NOT_READY, or a refusal */
sfu_err sfu_access_subscribe(sfu_handle *h, gboolean notifications, gboolean data, const char *media,
	const sfu_grant *grant, char **offer, const char **reason);

/*! \brief In-band refresh on joined handle \p h with the verified \p grant.
 * @returns SFU_OK, SFU_ERR_REFRESH_NOT_JOINED, SFU_ERR_REFRESH_FORBIDDEN (reason user_bound, user_mismatch or, with
 * one_user_per_jti, token_in_use) or SFU_ERR_SERVER_BUSY (server_busy: the jti table is full) */
sfu_err sfu_access_refresh(sfu_handle *h, const sfu_grant *grant, const char **reason);

/*! \brief Eject \p user_id from \p room_id. \p reason: "kicked", "admin", "token_expired", "session_limit".
 * @param[in] by Who did it (kicker user_id, "admin"), or NULL
 * @param[in] by_sub The kicker's verified token identity (its \c sub), for the audit events only, or NULL
 * @param[in] ban A kick: also ban the user from the room for kick_ban_s (only when the user was in the room),
 * and tell the listener (other nodes evict it too, and ban it where they did)
 * @returns the number of handles ended. Must not be called with the registry lock held. */
guint sfu_access_eject(const char *room_id, const char *user_id, const char *reason, const char *by,
	const char *by_sub, gboolean ban);

/*! \brief A kick that another node made (shared state): evict \p user_id's handles here and ban it as a kick
 * does (only when it was here); the bans are passed on to the listener, the kick is not. */
guint sfu_access_eject_remote(const char *room_id, const char *user_id, const char *reason, const char *by);
/*! \brief A ban recorded elsewhere: record it and, in the same step, evict the handles of \p room_id it matches
 * (reason \c kicked). @returns handles ended */
guint sfu_access_apply_ban(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until_s, const char *by);
/*! \brief Lift the bans of \p user_id in \p room_id (\p local: tell the listener). @returns bans lifted */
guint sfu_access_unban(const char *room_id, const char *user_id, gboolean local);
/*! \brief Revoke (\p kind, \p value) until \p until_s and, in the same step, evict every participant whose
 * handle holds a matching token (reason \c revoked); \p local: tell the listener.
 * @param[out] recorded FALSE when the revocation table is full (nothing changed)
 * @returns handles ended */
guint sfu_access_revoke(sfu_revoke_kind kind, const char *value, gint64 until_s, const char *by,
	gboolean local, gboolean *recorded);
/*! \brief Lift a revocation. @returns FALSE when there was none here */
gboolean sfu_access_unrevoke(sfu_revoke_kind kind, const char *value, gboolean local);
/*! \brief The shared state says \p user_id holds \p jti: record it and evict other users' handles under it
 * (reason \c token_in_use; only with one_user_per_jti). @returns handles ended */
guint sfu_access_apply_jti(const char *jti, const char *user_id, gint64 exp_s);
/*! \brief An owner mutes (\p mute) or unmutes \p bits (SFU_MUTE_*) of \p user_id in \p room_id: recorded for
 * mute_s (held across reconnects), applied to the user's handles (the relay drops what is muted) in one step,
 * then \c muted / \c unmuted to the user and the room, and the listener told. @returns the new mask */
guint sfu_access_mute(const char *room_id, const char *user_id, guint bits, gboolean mute, const char *by);
/*! \brief A mute set elsewhere: the mask of (\p room_id, \p user_id) is now \p mask until \p until_s. */
void sfu_access_apply_mute(
	const char *room_id, const char *user_id, guint mask, gint64 until_s, const char *by);

/*! \brief Who must learn of a change made here (the shared state backend, sfu_state). Every callback is
 * optional and called with no lock held, after the change is in force here. */
typedef struct sfu_access_listener {
	void (*kick)(const char *room_id, const char *user_id, const char *reason, const char *by);
	void (*ban)(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id, gint64 until,
		const char *by);
	void (*unban)(const char *room_id, const char *user_id);
	void (*revoke)(sfu_revoke_kind kind, const char *value, gint64 until, const char *by);
	void (*unrevoke)(sfu_revoke_kind kind, const char *value);
	void (*mute)(const char *room_id, const char *user_id, guint mask, gint64 until, const char *by);
	void (*jti)(const char *jti, const char *user_id, gint64 exp);
} sfu_access_listener;
/*! \brief Install \p l (NULL: none), before requests flow; it must outlive sfu_access_stop(). */
void sfu_access_set_listener(const sfu_access_listener *l);
/*! \brief Whether the shared state is current: while not, admissions (join, subscribe entry) are refused
 * with \c state_unavailable (on_unavailable = "refuse"). Default TRUE. */
void sfu_access_set_state_available(gboolean available);
gboolean sfu_access_state_available(void);

/*! \brief The core destroyed \p jh's handle (destroy_session): leave its room and, when it was the user's last
 * handle there, cancel the user's deadlines in the same step, then send \c leave.
 * @returns FALSE when \p jh was unknown */
gboolean sfu_access_detach(janus_plugin_session *jh);

/*! \brief Count and report (audit event, never the token) a refused request of handle \p h (NULL: none). */
void sfu_access_rejected(
	sfu_handle *h, const char *room_id, const char *user_id, const char *request, const char *reason);
/*! \brief Counters for the admin API (new JSON object). */
json_t *sfu_access_stats(void);

#endif
