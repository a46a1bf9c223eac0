/*! \file    sfu_errors.h
 * \brief    janus-sfu error table (one X-macro: enum, reason, wire message)
 * \details  Every error the plugin can answer a request with is one row:
 * the enum value, a snake_case \c reason (new, machine-readable) and the exact
 * \c msg string that Mozilla's janus-plugin-sfu used, which naf-janus-adapter
 * and existing apps may match on. The signalling layer turns an sfu_err into
 * {"success":false,"error":{"msg":...,"reason":...}} in one place.
 * docs/PROTOCOL.md lists this table (tests/check-docs.sh keeps them in sync).
 */
#ifndef SFU_ERRORS_H
#define SFU_ERRORS_H

#define SFU_PARSE_MSG "data did not match any variant of untagged enum OptionalField"

#define SFU_ERROR_MAP(XX)                                                                                    \
	XX(SFU_OK, "ok", "")                                                                                     \
	XX(SFU_ERR_PARSE, "invalid_request", SFU_PARSE_MSG)                                                      \
	XX(SFU_ERR_JSEP, "invalid_jsep", SFU_PARSE_MSG)                                                          \
	XX(SFU_ERR_SDP, "invalid_sdp", SFU_PARSE_MSG)                                                            \
	XX(SFU_ERR_JOIN_ANONYMOUS, "missing_token", "Rejecting anonymous join!")                                 \
	XX(SFU_ERR_JOIN_INVALID_TOKEN, "invalid_token", "Rejecting join with invalid token!")                    \
	XX(SFU_ERR_JOIN_FORBIDDEN, "room_not_allowed", "Rejecting join without permission!")                     \
	XX(SFU_ERR_JOIN_BANNED, "banned", "Rejecting join of a kicked user!")                                    \
	XX(SFU_ERR_JOIN_REVOKED, "revoked", "Rejecting join with revoked token!")                                \
	XX(SFU_ERR_SUB_ANONYMOUS, "missing_token", "Rejecting anonymous subscription!")                          \
	XX(SFU_ERR_SUB_INVALID_TOKEN, "invalid_token", "Rejecting subscription with invalid token!")             \
	XX(SFU_ERR_SUB_FORBIDDEN, "room_not_allowed", "Rejecting subscription without permission!")              \
	XX(SFU_ERR_SUB_REVOKED, "revoked", "Rejecting subscription with revoked token!")                         \
	XX(SFU_ERR_SUB_NOT_IN_ROOM, "publisher_not_in_room", "Cannot subscribe to a publisher not in a room.")   \
	XX(SFU_ERR_ROOM_FULL, "room_full", "Room is full.")                                                      \
	XX(SFU_ERR_SERVER_FULL, "server_full", "Server is full.")                                                \
	XX(SFU_ERR_SERVER_BUSY, "server_busy", "Server is busy.")                                                \
	XX(SFU_ERR_STATE_UNAVAILABLE, "state_unavailable", "Moderation state unavailable, try again.")           \
	XX(SFU_ERR_ALREADY_JOINED, "already_joined", "Handles may only join once!")                              \
	XX(SFU_ERR_TOO_MANY_HANDLES, "too_many_handles", "Too many publisher handles for this user.")            \
	XX(SFU_ERR_HANDLE_SUBSCRIBED, "already_subscribed", "Handles may only subscribe once!")                  \
	XX(SFU_ERR_USER_SUBSCRIBED, "already_subscribed", "Users may only subscribe once!")                      \
	XX(SFU_ERR_NO_PUBLISHER, "no_such_publisher", "Can't subscribe to a nonexistent publisher.")             \
	XX(SFU_ERR_PUBLISHER_NOT_READY, "publisher_not_ready",                                                   \
		"Can't subscribe to a publisher that has not negotiated media yet.")                                 \
	XX(SFU_ERR_BLOCK_NOT_JOINED, "not_joined", "Cannot block when not in a room.")                           \
	XX(SFU_ERR_UNBLOCK_NOT_JOINED, "not_joined", "Cannot unblock when not in a room.")                       \
	XX(SFU_ERR_TOO_MANY_BLOCKS, "too_many_blocks", "Too many blocks.")                                       \
	XX(SFU_ERR_DATA_NOT_JOINED, "not_joined", "Cannot send data when not in a room.")                        \
	XX(SFU_ERR_DATA_FORBIDDEN, "data_not_allowed", "Rejecting data without permission!")                     \
	XX(SFU_ERR_DATA_RATE, "data_rate_limited", "Too many data messages.")                                    \
	XX(SFU_ERR_KICK_FORBIDDEN, "not_allowed", "Rejecting kick without permission!")                          \
	XX(SFU_ERR_REFRESH_INVALID_TOKEN, "invalid_token", "Rejecting refresh with invalid token!")              \
	XX(SFU_ERR_REFRESH_FORBIDDEN, "not_allowed", "Rejecting refresh without permission!")                    \
	XX(SFU_ERR_REFRESH_NOT_JOINED, "not_joined", "Cannot refresh when not in a room.")                       \
	XX(SFU_ERR_REFRESH_REVOKED, "revoked", "Rejecting refresh with revoked token!")                          \
	XX(SFU_ERR_MUTE_FORBIDDEN, "not_allowed", "Rejecting mute without permission!")                          \
	XX(SFU_ERR_INTERNAL, "internal_error", "Internal error.")

typedef enum sfu_err {
#define SFU_ERR_ENUM(name, reason, msg) name,
	SFU_ERROR_MAP(SFU_ERR_ENUM)
#undef SFU_ERR_ENUM
		SFU_ERR__COUNT
} sfu_err;

/*! \brief The exact wire \c msg of \p err (never NULL; "" for SFU_OK). Any thread. */
const char *sfu_error_msg(sfu_err err);
/*! \brief The snake_case \c reason of \p err (never NULL). Any thread. */
const char *sfu_error_reason(sfu_err err);
/*! \brief The enum name of \p err, e.g. "SFU_ERR_ROOM_FULL" (never NULL). Any thread. */
const char *sfu_error_name(sfu_err err);

#endif
