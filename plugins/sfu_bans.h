/*! \file    sfu_bans.h
 * \brief    janus-sfu: who may not come back (kick bans) and who holds which token id
 * \details  A kick bans the user from that room for \c kick_ban_s seconds, by
 * user_id and, when the kicked token had them, by \c sub and \c jti, so the
 * same token (or the same identity under another user_id) cannot rejoin.
 * Also records which user_id first presented a \c jti (one_user_per_jti).
 * Entries expire by time; lookups prune. Thread-safe, own lock, no core calls.
 */
#ifndef SFU_BANS_H
#define SFU_BANS_H

#include <glib.h>
#include <jansson.h>

void sfu_bans_init(void);
void sfu_bans_shutdown(void);

/*! \brief Ban (room, user) until \p until_s (unix s); \p sub / \p jti (may be NULL) are banned with it. */
void sfu_bans_add(const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 until_s,
	const char *by);
/*! \brief TRUE when a live ban matches the room and any of user_id / sub / jti. */
gboolean sfu_bans_check(
	const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 now_s);
/*! \brief Lift every ban of \p user_id in \p room_id. @returns how many were lifted */
guint sfu_bans_remove(const char *room_id, const char *user_id);
/*! \brief Live bans (of \p room_id, or all when NULL) as a JSON array (new reference). */
json_t *sfu_bans_list(const char *room_id, gint64 now_s);

/*! \brief Record that \p user_id holds \p jti until \p exp_s.
 * @returns FALSE when another user_id already holds it (the caller refuses: token_in_use) */
gboolean sfu_bans_claim_jti(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s);

#endif
