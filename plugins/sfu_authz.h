/*! \file    sfu_authz.h
 * \brief    janus-sfu: keeping participants authorized for the whole call
 * \details  What happens after the door: per (room, user) deadlines in the
 * scheduler (expiry warning, token expiry, session limit), in-band refresh,
 * ejection (kick, expiry, session limit, admin) in two phases, kick bans,
 * stale-session replacement and the one-user-per-jti rule. Ejection first
 * detaches the user's handles under the registry lock, then, with no lock
 * held, tells the user's publisher handle why ({"event":"ejected",...}), ends
 * every handle and sends \c leave to the room.
 */
#ifndef SFU_AUTHZ_H
#define SFU_AUTHZ_H

#include <glib.h>
#include <jansson.h>

#include "sfu_auth.h"
#include "sfu_config.h"
#include "sfu_errors.h"
#include "sfu_registry.h"

/*! \brief Start the scheduler. \p config must outlive sfu_authz_stop(). @returns 0 or -1 */
int sfu_authz_start(const sfu_config *config);
void sfu_authz_stop(void);

/*! \brief Checks made after the token verified and before a join is registered: kick bans, jti sharing.
 * @param[out] reason Set on refusal (static string)
 * @returns SFU_OK, SFU_ERR_JOIN_BANNED or SFU_ERR_JOIN_FORBIDDEN */
sfu_err sfu_authz_admit(
	const char *room_id, const char *user_id, const sfu_grant *grant, const char **reason);

/*! \brief A new publisher join of a token-bound user replaces that user's older handles in the room
 * (config replace_stale_sessions). @returns the number of handles replaced */
guint sfu_authz_replace_stale(
	sfu_handle *h, const char *room_id, const char *user_id, const sfu_grant *grant);

/*! \brief \p h has joined with \p grant: attach it to \p h and schedule the user's deadlines. A grant
 * that outlives the user's current one refreshes every handle of the user in the room. */
void sfu_authz_joined(sfu_handle *h, const sfu_grant *grant);

/*! \brief In-band refresh on joined handle \p h with the verified \p grant.
 * @returns SFU_OK or SFU_ERR_REFRESH_FORBIDDEN (with \p reason, e.g. user_mismatch) */
sfu_err sfu_authz_refresh(sfu_handle *h, const sfu_grant *grant, const char **reason);

/*! \brief Eject \p user_id from \p room_id. \p reason: "kicked", "admin", "token_expired", "session_limit".
 * @param[in] by Who did it (kicker user_id, "admin"), or NULL
 * @param[in] ban Also ban the user from the room for kick_ban_s
 * @returns the number of handles ended. Must not be called with any registry lock held. */
guint sfu_authz_eject(
	const char *room_id, const char *user_id, const char *reason, const char *by, gboolean ban);

/*! \brief A handle went away (destroy_session): send \c leave and forget the user's deadlines when it was
 * the user's last handle in the room. Takes the departure's contents. */
void sfu_authz_departed(sfu_departure *departure);

/*! \brief Attach what \p grant allows to \p h (permissions, expiry, kid/jti/sub, bound user). */
void sfu_authz_attach(sfu_handle *h, const sfu_grant *grant);

/*! \brief Count a refused request by reason (admin stats). */
void sfu_authz_count_rejection(const char *reason);
/*! \brief Count a kick (admin stats). */
void sfu_authz_count_kick(void);
/*! \brief Counters for the admin API (new JSON object). */
json_t *sfu_authz_stats(void);

#endif
