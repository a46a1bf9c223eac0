/*! \file    sfu_events.h
 * \brief    janus-sfu: builders for the JSON the plugin sends to participants and event handlers
 * \details  The envelope of request results ({"success":...}; each handler in sfu_signal fills its own
 * "response"), the unsolicited events of docs/PROTOCOL.md §5 (join, leave, blocked, unblocked, ejected,
 * muted, token_expiring, video_codec, data), the JSEPs sent with them, and the audit events sent to Janus
 * event handlers. The Admin API builds its replies in sfu_admin, the state backend its Redis messages in
 * sfu_state. Every builder returns a new reference. No token ever goes into any of these objects.
 */
#ifndef SFU_EVENTS_H
#define SFU_EVENTS_H

#include <glib.h>
#include <jansson.h>

#include "sfu_errors.h"

/*! \brief {"success":true} plus "response":\p response when not NULL (reference stolen). */
json_t *sfu_event_ok(json_t *response);
/*! \brief {"success":false,"error":{"msg":...,"reason":...[,"detail":...]}}.
 * @param[in] reason Overrides the table's reason when not NULL (e.g. a token verdict)
 * @param[in] detail One-line explanation, omitted when NULL or empty */
json_t *sfu_event_error(sfu_err err, const char *reason, const char *detail);
/*! \brief {"event":"join","user_id":U,"room_id":R} */
json_t *sfu_event_join(const char *user_id, const char *room_id);
/*! \brief {"event":"leave","user_id":U,"room_id":R} */
json_t *sfu_event_leave(const char *user_id, const char *room_id);
/*! \brief {"event":"blocked"|"unblocked","by":U} */
json_t *sfu_event_blocked(gboolean blocked, const char *by);
/*! \brief {"event":"ejected","room_id":R,"reason":W[,"by":B]}: sent to a participant's publisher handle
 * before its handles are ended (kick, admin, token_expired, session_limit). */
json_t *sfu_event_ejected(const char *room_id, const char *reason, const char *by);
/*! \brief {"event":"muted"|"unmuted","room_id":R,"user_id":U,"media":"audio"|"video"|"all","muted":[...][,"by":B]}:
 * an owner's mute changed; \c muted lists what stays muted after it (\p mask: bit 1 audio, bit 2 video). */
json_t *sfu_event_muted(
	gboolean muted, const char *room_id, const char *user_id, const char *media, guint mask, const char *by);
/*! \brief ["audio","video"] for the bits of \p mask (bit 1 audio, bit 2 video). */
json_t *sfu_event_mute_list(guint mask);
/*! \brief {"event":"token_expiring","room_id":R,"expires_at":T}: time to send a refresh. */
json_t *sfu_event_token_expiring(const char *room_id, gint64 expires_at);
/*! \brief {"event":"data","body":B} */
json_t *sfu_event_data(const char *body);
/*! \brief {"event":"video_codec","room_id":R,"video_codec":C}: sent with the plugin's own offer to a publisher
 * whose room switched its video codec (docs/PROTOCOL.md §4). NULL when a string is NULL. */
json_t *sfu_event_video_codec(const char *room_id, const char *video_codec);
/*! \brief {"type":T,"sdp":S}: a JSEP (\p type "offer" or "answer"). NULL when \p sdp is NULL. */
json_t *sfu_event_jsep(const char *type, const char *sdp);
/*! \brief Audit event for Janus event handlers: {"event":\p name, "room_id":R, "user_id":U, ...extra}.
 * @param[in] extra Object whose members are merged in (reference stolen), or NULL */
json_t *sfu_event_audit(const char *name, const char *room_id, const char *user_id, json_t *extra);

/*! \brief Push \p event (and \p jsep, may be NULL) to every live handle of \p targets, then free the array.
 * \p targets holds sfu_handle references (sfu_registry.h); the caller keeps its reference to \p event.
 * Must not be called with the registry lock held. */
void sfu_events_push_all(GPtrArray *targets, json_t *event, json_t *jsep);

/*! \brief Turn audit events on or off (config \c events; default on). */
void sfu_events_set_audit(gboolean enabled);
/*! \brief Send an audit event to Janus event handlers, when enabled there and here.
 * @param[in] jh The core handle the event is about, or NULL
 * @param[in] extra Merged into the event (reference stolen), may be NULL */
void sfu_events_audit(void *jh, const char *name, const char *room_id, const char *user_id, json_t *extra);

#endif
