/*! \file    sfu_bans.h
 * \brief    janus-sfu: who may not come back (kick bans) and who holds which token id
 * \details  A kick bans identities from one room until a time: always the kicked
 * user_id; the token's \c sub and \c jti only when the operator declares that
 * \c sub names one person (sub_identifies_user: Reticulum gives every anonymous
 * visitor of a hub the same \c sub, so banning it would lock the whole hub out).
 * Also records which user_id first presented a \c jti (one_user_per_jti).
 *
 * Bounded: at most \c max_bans_per_room bans per room (a room at its quota
 * gives up its own ban that expires soonest) and \c max_bans in all (when full,
 * the room holding the most bans gives up its soonest: a room flooding the table
 * with kicks pays for them itself, never a room with fewer bans), and
 * \c max_jti_claims token ids (when full, a new one is refused); expired entries
 * are pruned as time passes, in order of expiry. Lookups are hash lookups; only a
 * full table makes an add walk the rooms.
 *
 * Thread-safe: one leaf lock of its own, no core calls; callers may hold the
 * registry lock (lock order: registry -> bans).
 */
#ifndef SFU_BANS_H
#define SFU_BANS_H

#include <glib.h>
#include <jansson.h>

typedef enum sfu_ban_kind {
	SFU_BAN_USER = 0, /*!< a user_id (the kicked one) */
	SFU_BAN_SUB,      /*!< the kicked token's sub */
	SFU_BAN_JTI       /*!< the kicked token's jti */
} sfu_ban_kind;

/*! \brief Create the tables with their bounds. */
void sfu_bans_init(guint max_bans, guint max_bans_per_room, guint max_jti_claims);

/*! \brief What sfu_bans_add() did. */
typedef enum sfu_ban_added {
	SFU_BAN_ADDED = 0,    /*!< recorded (or an existing ban of the identity extended) */
	SFU_BAN_REPLACED_OWN, /*!< recorded; the room (at its quota, or holding the most bans of a full table) gave
						   * up its own ban that expires soonest */
	SFU_BAN_REPLACED_OTHER /*!< recorded; the table was full and another room, holding the most bans, gave up
							* its ban that expires soonest */
} sfu_ban_added;
/*! \brief Forget everything. */
void sfu_bans_shutdown(void);

/*! \brief Ban identity (\p kind, \p value) from \p room_id until \p until_s (unix s). A ban of the same
 * identity is extended, never shortened.
 * @param[in] user_id The kicked user (listing, unban), @param[in] by Who kicked (may be NULL) */
sfu_ban_added sfu_bans_add(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until_s, const char *by, gint64 now_s);
/*! \brief TRUE when a live ban of \p room_id matches \p user_id, \p sub or \p jti (either may be NULL). */
gboolean sfu_bans_check(
	const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 now_s);
/*! \brief Lift every ban the kick of \p user_id in \p room_id recorded. @returns how many were lifted */
guint sfu_bans_remove(const char *room_id, const char *user_id);
/*! \brief Live bans (of \p room_id, or all when NULL) as a JSON array (new reference). */
json_t *sfu_bans_list(const char *room_id, gint64 now_s);
/*! \brief Live bans in the table (expired ones not yet pruned may be counted). */
guint sfu_bans_count(void);

typedef enum sfu_jti_claim {
	SFU_JTI_OK = 0, /*!< recorded (or already held by this user) */
	SFU_JTI_TAKEN,  /*!< another user_id holds it: refuse (token_in_use) */
	SFU_JTI_FULL    /*!< the table is full of live claims: refuse (server_busy) */
} sfu_jti_claim;

/*! \brief Record that \p user_id holds \p jti until \p exp_s. NULL jti or user: SFU_JTI_OK, nothing kept. */
sfu_jti_claim sfu_bans_claim_jti(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s);
/*! \brief Token ids remembered. */
guint sfu_bans_jti_count(void);

#endif
