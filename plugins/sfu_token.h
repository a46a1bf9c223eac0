/*! \file    sfu_token.h
 * \brief    janus-sfu: token policy (who may join, subscribe, refresh or kick where)
 * \details  Turns the configuration's keys and options into a verifier
 * (sfu_jwt) and applies the plugin's policy to a verified token, producing a
 * verdict, a static snake_case reason and an sfu_grant. Verified tokens are
 * remembered in a bounded cache keyed by SHA-256 of the whole token, so a
 * repeated token (every subscriber handle of a client re-sends it) costs no
 * RSA, base64 or JSON work; the time claims and the room are still checked
 * against the current \c now on every call. The cache is emptied when the keys
 * are reloaded. See docs/SECURITY.md for claims, reasons and the threat model.
 *
 * Threads: every function may be called from any thread; sfu_token_check()
 * runs concurrently with itself and with sfu_token_reload(). It takes only the
 * auth's own leaf locks and calls nothing but sfu_jwt, OpenSSL and the logger,
 * so callers may hold their own locks (it is still best not to: RSA is slow).
 */
#ifndef SFU_TOKEN_H
#define SFU_TOKEN_H

#include <glib.h>

#include "sfu_config.h"

/*! \brief Keys + policy; thread-safe. */
typedef struct sfu_token_verifier sfu_token_verifier;

typedef enum sfu_token_verdict {
	SFU_TOKEN_OK = 0,  /*!< allowed; grant filled */
	SFU_TOKEN_MISSING, /*!< no token where one is required */
	SFU_TOKEN_INVALID, /*!< the token itself failed verification (signature, format, time, aud/iss, claims) */
	SFU_TOKEN_FORBIDDEN /*!< a valid token that does not allow this purpose/room/user */
} sfu_token_verdict;

typedef enum sfu_token_purpose {
	SFU_TOKEN_FOR_JOIN,
	SFU_TOKEN_FOR_SUBSCRIBE,
	SFU_TOKEN_FOR_KICK,
	SFU_TOKEN_FOR_REFRESH,
	SFU_TOKEN_FOR_MUTE /*!< mute / unmute: needs mute_users */
} sfu_token_purpose;

/*! \brief What a verified token allows. Owned strings (GLib); free with sfu_grant_clear(). */
typedef struct sfu_grant {
	gint64 exp, nbf, iat; /*!< unix seconds; nbf/iat 0 when absent; exp <= 9999-12-31 */
	gboolean join_hub, kick_users, mute_users, publish_media, send_data;
	gboolean has_eject_at_exp, eject_at_exp;
	gint64 max_session_s; /*!< 0 = none */
	gboolean any_room;
	char **room_ids;                 /*!< NULL-terminated when !any_room (may be empty: no room) */
	char *user_id, *sub, *jti, *kid; /*!< NULL when absent */
	char *room; /*!< the token's one room from the configured room_claim (e.g. hub_id), NULL when none */
} sfu_grant;

/*! \brief Build the verifier from \p config (auth_key, auth_keys, algorithms, audience, issuer,
 * clock_leeway_s, require_user_binding). Keys are parsed once, here.
 * @param[in] config Configuration (read, not kept)
 * @param[out] error Set when a configured key file is unreadable or invalid (fail closed)
 * @returns A new auth, or NULL with \p error set. With neither auth_key nor auth_keys configured the
 * auth is OPEN (legacy: tokens ignored) and a loud warning is logged. */
sfu_token_verifier *sfu_token_new(const sfu_config *config, GError **error);
/*! \brief Free \p auth (NULL is fine). No sfu_token_check() may be running on it. */
void sfu_token_free(sfu_token_verifier *auth);
/*! \brief TRUE when no key is configured (legacy: every join allowed, nobody may kick). */
gboolean sfu_token_is_open(const sfu_token_verifier *auth);
/*! \brief Re-read the key files and options of \p config and swap them in atomically; the verified-token
 * cache is emptied. Checks already running finish with the old keys.
 * @returns TRUE on success; FALSE with \p error set and the old keys still in force. Reloading an OPEN auth,
 * or reloading into a configuration without keys (which would turn authentication off), fails. */
gboolean sfu_token_reload(sfu_token_verifier *auth, const sfu_config *config, GError **error);

/*! \brief Verify \p token for \p purpose in \p room_id as \p user_id.
 * @param[in] auth The verifier
 * @param[in] token The token (NULL: MISSING unless open)
 * @param[in] purpose What the token is presented for
 * @param[in] room_id The room concerned, or NULL: the room is not checked here (the caller checks
 * sfu_grant_allows_room() once it knows the room)
 * @param[in] user_id The requesting user (may be NULL, e.g. for kick: then no user binding is compared)
 * @param[in] now Unix seconds (injected clock)
 * @param[out] grant May be NULL. Overwritten (not freed first): filled on OK, and on FORBIDDEN when the token
 * itself was valid; zeroed otherwise. Free with sfu_grant_clear() in every case.
 * @param[out] reason Static snake_case reason: "ok" on success, never NULL on failure (may be NULL)
 * @returns The verdict. OPEN mode: OK with a grant allowing everything but kick (kick_users FALSE), except
 * for SFU_TOKEN_FOR_KICK and SFU_TOKEN_FOR_MUTE, which are FORBIDDEN with reason "auth_disabled".
 * Every non-OK verdict logs one LOG_WARN line (purpose, reason, room, user, kid, jti, sub; never the token). */
sfu_token_verdict sfu_token_check(sfu_token_verifier *auth, const char *token, sfu_token_purpose purpose,
	const char *room_id, const char *user_id, gint64 now, sfu_grant *grant,
	const char **reason) G_GNUC_WARN_UNUSED_RESULT;

/*! \brief Free the strings of \p grant and zero it (NULL is fine). */
void sfu_grant_clear(sfu_grant *grant);
/*! \brief TRUE when \p grant lets its holder into \p room_id: any_room or an exact match in room_ids, and,
 * when the token names its one room by the configured room_claim, that room. */
gboolean sfu_grant_allows_room(const sfu_grant *grant, const char *room_id);

/*! \brief Name of \p purpose ("join", "subscribe", "kick", "refresh"). */
const char *sfu_token_purpose_name(sfu_token_purpose purpose);
/*! \brief Name of \p verdict ("ok", "missing", "invalid", "forbidden"). */
const char *sfu_token_verdict_name(sfu_token_verdict verdict);
/*! \brief Turn the verified-token cache on or off (on by default). For benchmarks and tests. */
void sfu_token_set_cache_enabled(sfu_token_verifier *auth, gboolean enabled);
/*! \brief Number of cache hits since creation (tests, stats). */
guint64 sfu_token_cache_hits(const sfu_token_verifier *auth);

#define SFU_TOKEN_ERROR (sfu_token_error_quark())
GQuark sfu_token_error_quark(void);

#endif
