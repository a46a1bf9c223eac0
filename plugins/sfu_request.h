/*! \file    sfu_request.h
 * \brief    janus-sfu: parse and validate client requests (message body and JSEP)
 * \details  Pure functions over jansson values, no Janus or GLib state: the
 * request fuzzer (tests/fuzz/fuzz-request.c) drives them directly. The rules
 * are those of Mozilla's janus-plugin-sfu (docs/PROTOCOL.md): a body of
 * exactly {} is "no message"; otherwise \c kind selects the request; ids,
 * tokens and bodies must be strings; \c null means absent for optional
 * fields; unknown fields are ignored. Beyond the old plugin, strings are
 * bounded (SFU_MAX_ID_LEN, SFU_MAX_TOKEN_LEN, SFU_MAX_DATA_LEN) and ids must
 * be non-empty, and every failure carries a one-line \c detail for the client.
 */
#ifndef SFU_REQUEST_H
#define SFU_REQUEST_H

#include <stddef.h>
#include <jansson.h>

#include "sfu_errors.h"

#define SFU_MAX_ID_LEN    256         /*!< bytes in a room_id / user_id / whom */
#define SFU_MAX_TOKEN_LEN 8192        /*!< bytes in a token (checked again by the verifier) */
#define SFU_MAX_DATA_LEN  (64 * 1024) /*!< bytes in a data message body */
#define SFU_DETAIL_LEN    160         /*!< size of a detail buffer */

typedef enum sfu_req_kind {
	SFU_REQ_NONE = 0, /*!< body {}: only the JSEP (if any) matters */
	SFU_REQ_JOIN,
	SFU_REQ_KICK,
	SFU_REQ_SUBSCRIBE,
	SFU_REQ_BLOCK,
	SFU_REQ_UNBLOCK,
	SFU_REQ_DATA,
	SFU_REQ_REFRESH,
	SFU_REQ_MUTE,
	SFU_REQ_UNMUTE
} sfu_req_kind;

#define SFU_REQ_MUTE_AUDIO 1 /*!< sfu_request.mute bits (the same as sfu_registry.h's SFU_MUTE_*) */
#define SFU_REQ_MUTE_VIDEO 2

/*! \brief What a join's \c subscribe (or a subscribe's \c what) asks for. */
typedef struct sfu_subscription {
	int present;       /*!< the object was given (non-null) */
	int notifications; /*!< join/leave/blocked/unblocked events wanted */
	int data;          /*!< data events wanted; on a join this makes the handle a publisher */
	const char *media; /*!< user whose audio/video to receive, or NULL */
} sfu_subscription;

/*! \brief A parsed request. Strings are borrowed from the body: valid while it lives. */
typedef struct sfu_request {
	sfu_req_kind kind;
	const char *room_id;        /*!< join, kick, mute, unmute */
	const char *user_id;        /*!< join, kick, mute, unmute */
	const char *token;          /*!< join, kick, subscribe, refresh, mute, unmute; NULL when absent/null */
	const char *whom;           /*!< block, unblock (required); data (optional) */
	const char *body;           /*!< data */
	sfu_subscription subscribe; /*!< join's subscribe, or subscribe's what */
	int mute;                   /*!< mute, unmute: SFU_REQ_MUTE_* bits of \c media ("all" when absent) */
} sfu_request;

typedef enum sfu_jsep_type { SFU_JSEP_NONE = 0, SFU_JSEP_OFFER, SFU_JSEP_ANSWER } sfu_jsep_type;

typedef struct sfu_jsep {
	sfu_jsep_type type;
	const char *sdp; /*!< borrowed from the jsep object */
} sfu_jsep;

/*! \brief Kind name as used on the wire ("join", ...), "none" for SFU_REQ_NONE. */
const char *sfu_request_kind_name(sfu_req_kind kind);

/*! \brief Parse a message body.
 * @param[in] body The body the core handed over (may be NULL: treated as {})
 * @param[out] out The parsed request (zeroed first)
 * @param[out] detail Buffer of \p detail_len bytes for a one-line explanation on failure (may be NULL)
 * @returns SFU_OK or SFU_ERR_PARSE */
sfu_err sfu_request_parse(const json_t *body, sfu_request *out, char *detail, size_t detail_len);

/*! \brief Parse a JSEP object ({"type":"offer"|"answer","sdp":"..."}; other keys ignored).
 * @param[in] jsep The jsep the core handed over, or NULL (then \p out->type is SFU_JSEP_NONE)
 * @returns SFU_OK or SFU_ERR_JSEP */
sfu_err sfu_request_parse_jsep(const json_t *jsep, sfu_jsep *out, char *detail, size_t detail_len);

#endif
