/*! \file    sfu_bans.h
 * \brief    janus-sfu: who may not come back (kick bans), which tokens are revoked, who is muted, and who
 *           holds which token id
 * \details  A kick bans identities from one room until a time: always the kicked
 * user_id; the token's \c sub and \c jti only when the operator declares that
 * \c sub names one person (sub_identifies_user: Reticulum gives every anonymous
 * visitor of a hub the same \c sub, so banning it would lock the whole hub out).
 * Also records which user_id first presented a \c jti (one_user_per_jti), the
 * operator's revocations (by jti, sub, user_id claim or kid, everywhere, until a
 * time) and the owners' mutes (per room and user: audio and/or video, until a
 * time, applied to the user's handles at join).
 *
 * Bounded: kick bans by \c max_bans_per_room per room (a room at its quota gives
 * up its own ban that expires soonest) and \c max_bans in all (when full, the
 * room holding the most bans gives up its soonest: a room flooding the table with
 * kicks pays for them itself, never a room with fewer bans); \c max_jti_claims
 * token ids (when full, a new one is refused); \c max_revocations (refused when
 * full: a revocation is never dropped); \c max_mutes (the soonest to expire gives
 * way). Expired entries are pruned as time passes, in order of expiry. Lookups
 * are hash lookups; only a full ban table makes an add walk the rooms.
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
/*! \brief Bounds of the revocations and mutes (100000 each until called). */
void sfu_bans_init_moderation(guint max_revocations, guint max_mutes);
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
/*! \brief "user_id", "sub", "jti"; and back (FALSE for another name). */
const char *sfu_ban_kind_name(sfu_ban_kind kind);
gboolean sfu_ban_kind_parse(const char *name, sfu_ban_kind *out);

/* =============================================================================
 * Revocations: tokens refused everywhere until a time, whatever their room
 * ==========================================================================*/

typedef enum sfu_revoke_kind {
	SFU_REVOKE_JTI = 0, /*!< one token */
	SFU_REVOKE_SUB,     /*!< every token of a subject */
	SFU_REVOKE_USER,    /*!< every token binding this user_id claim */
	SFU_REVOKE_KID      /*!< every token signed under this key id */
} sfu_revoke_kind;

/*! \brief "jti", "sub", "user_id", "kid"; and back (FALSE for another name). */
const char *sfu_revoke_kind_name(sfu_revoke_kind kind);
gboolean sfu_revoke_kind_parse(const char *name, sfu_revoke_kind *out);
/*! \brief Revoke (\p kind, \p value) until \p until_s; an existing revocation is extended, never shortened.
 * @returns FALSE when the table is full of live revocations (nothing recorded) */
gboolean sfu_bans_revoke(
	sfu_revoke_kind kind, const char *value, gint64 until_s, const char *by, gint64 now_s);
/*! \brief Until when (\p kind, \p value) is revoked; 0 when it is not. */
gint64 sfu_bans_revocation_until(sfu_revoke_kind kind, const char *value, gint64 now_s);
/*! \brief Until when identity (\p kind, \p value) is banned from \p room_id; 0 when it is not. */
gint64 sfu_bans_ban_until(const char *room_id, sfu_ban_kind kind, const char *value, gint64 now_s);
/*! \brief Lift a revocation. @returns FALSE when there was none */
gboolean sfu_bans_unrevoke(sfu_revoke_kind kind, const char *value);
/*! \brief TRUE when a live revocation matches the token's \p jti, \p sub, \p user_id claim or \p kid (any may
 * be NULL). A hash lookup per kind (none at all while nothing is revoked). */
gboolean sfu_bans_revoked(
	const char *jti, const char *sub, const char *user_id, const char *kid, gint64 now_s);
/*! \brief Live revocations, soonest to expire first: [{kind, value, until, by?}] (new reference). */
json_t *sfu_bans_list_revocations(gint64 now_s);
guint sfu_bans_revocations_count(void);

/* =============================================================================
 * Mutes: an owner stopped a user's audio and/or video in a room
 * ==========================================================================*/

/*! \brief Set the mute of (\p room_id, \p user_id) to \p mask (bit 1 audio, bit 2 video: sfu_registry.h's SFU_MUTE_*) until \p until_s; mask 0 removes it.
 * @returns FALSE when the table was full and a mute was dropped to make room: the soonest expiring one of the
 *   room holding the most (so one room's mutes never push out another's while it holds fewer) */
gboolean sfu_bans_set_mute(
	const char *room_id, const char *user_id, guint mask, gint64 until_s, const char *by, gint64 now_s);
/*! \brief The live mute mask of (\p room_id, \p user_id), 0 when none. */
guint sfu_bans_mute_of(const char *room_id, const char *user_id, gint64 now_s);
/*! \brief Live mutes (of \p room_id, or all when NULL): [{room_id, user_id, mask, until, by?}] (new reference). */
json_t *sfu_bans_list_mutes(const char *room_id, gint64 now_s);
guint sfu_bans_mutes_count(void);

typedef enum sfu_jti_claim {
	SFU_JTI_OK = 0, /*!< recorded (or already held by this user) */
	SFU_JTI_TAKEN,  /*!< another user_id holds it: refuse (token_in_use) */
	SFU_JTI_FULL    /*!< the table is full of live claims: refuse (server_busy) */
} sfu_jti_claim;

/*! \brief Record that \p user_id holds \p jti until \p exp_s. NULL jti or user: SFU_JTI_OK, nothing kept. */
sfu_jti_claim sfu_bans_claim_jti(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s);
/*! \brief What sfu_bans_claim_jti() would answer, without recording anything. */
sfu_jti_claim sfu_bans_jti_peek(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s);
/*! \brief Make \p user_id the holder of \p jti until \p exp_s whatever was known (the shared state decided).
 * @returns TRUE when another user held it here (its handles under that token must go) */
gboolean sfu_bans_set_jti_owner(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s);
/*! \brief Token ids remembered. */
guint sfu_bans_jti_count(void);

#endif
