/*! \file    sfu_events.c
 * \brief    janus-sfu: JSON builders (see sfu_events.h)
 */
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_registry.h"

static volatile gint audit_enabled = 1;

json_t *sfu_event_ok(json_t *response) {
	json_t *ev = json_object();
	json_object_set_new(ev, "success", json_true());
	if(response != NULL)
		json_object_set_new(ev, "response", response);
	return ev;
}

json_t *sfu_event_error(sfu_err err, const char *reason, const char *detail) {
	json_t *error = json_object();
	json_object_set_new(error, "msg", json_string(sfu_error_msg(err)));
	json_object_set_new(error, "reason", json_string(reason ? reason : sfu_error_reason(err)));
	if(detail != NULL && detail[0] != '\0')
		json_object_set_new(error, "detail", json_string(detail));
	json_t *ev = json_object();
	json_object_set_new(ev, "success", json_false());
	json_object_set_new(ev, "error", error);
	return ev;
}

static json_t *user_room_event(const char *name, const char *user_id, const char *room_id) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string(name));
	json_object_set_new(ev, "user_id", json_string(user_id));
	json_object_set_new(ev, "room_id", json_string(room_id));
	return ev;
}

json_t *sfu_event_join(const char *user_id, const char *room_id) {
	return user_room_event("join", user_id, room_id);
}

json_t *sfu_event_leave(const char *user_id, const char *room_id) {
	return user_room_event("leave", user_id, room_id);
}

json_t *sfu_event_blocked(gboolean blocked, const char *by) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string(blocked ? "blocked" : "unblocked"));
	json_object_set_new(ev, "by", json_string(by));
	return ev;
}

json_t *sfu_event_ejected(const char *room_id, const char *reason, const char *by) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string("ejected"));
	json_object_set_new(ev, "room_id", json_string(room_id));
	json_object_set_new(ev, "reason", json_string(reason));
	if(by != NULL)
		json_object_set_new(ev, "by", json_string(by));
	return ev;
}

json_t *sfu_event_mute_list(guint mask) {
	json_t *list = json_array();
	if(mask & 1u)
		json_array_append_new(list, json_string("audio"));
	if(mask & 2u)
		json_array_append_new(list, json_string("video"));
	return list;
}

json_t *sfu_event_muted(
	gboolean muted, const char *room_id, const char *user_id, const char *media, guint mask, const char *by) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string(muted ? "muted" : "unmuted"));
	json_object_set_new(ev, "room_id", json_string(room_id));
	json_object_set_new(ev, "user_id", json_string(user_id));
	json_object_set_new(ev, "media", json_string(media));
	json_object_set_new(ev, "muted", sfu_event_mute_list(mask));
	if(by != NULL)
		json_object_set_new(ev, "by", json_string(by));
	return ev;
}

json_t *sfu_event_token_expiring(const char *room_id, gint64 expires_at) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string("token_expiring"));
	json_object_set_new(ev, "room_id", json_string(room_id));
	json_object_set_new(ev, "expires_at", json_integer(expires_at));
	return ev;
}

json_t *sfu_event_data(const char *body) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string("data"));
	json_object_set_new(ev, "body", json_string(body));
	return ev;
}

json_t *sfu_event_video_codec(const char *room_id, const char *video_codec) {
	return json_pack("{ssssss}", "event", "video_codec", "room_id", room_id, "video_codec", video_codec);
}

json_t *sfu_event_jsep(const char *type, const char *sdp) {
	return json_pack("{ssss}", "type", type, "sdp", sdp);
}

json_t *sfu_event_audit(const char *name, const char *room_id, const char *user_id, json_t *extra) {
	json_t *ev = json_object();
	json_object_set_new(ev, "event", json_string(name));
	if(room_id != NULL)
		json_object_set_new(ev, "room_id", json_string(room_id));
	if(user_id != NULL)
		json_object_set_new(ev, "user_id", json_string(user_id));
	if(extra != NULL) {
		json_object_update(ev, extra);
		json_decref(extra);
	}
	return ev;
}

void sfu_events_push_all(GPtrArray *targets, json_t *event, json_t *jsep) {
	if(targets == NULL)
		return;
	for(guint i = 0; i < targets->len; i++) {
		sfu_handle *t = targets->pdata[i];
		if(!g_atomic_int_get(&t->destroyed))
			sfu_core_push_event(t->jh, NULL, event, jsep);
	}
	g_ptr_array_unref(targets);
}

void sfu_events_set_audit(gboolean enabled) {
	g_atomic_int_set(&audit_enabled, enabled ? 1 : 0);
}

void sfu_events_audit(void *jh, const char *name, const char *room_id, const char *user_id, json_t *extra) {
	if(!g_atomic_int_get(&audit_enabled) || !sfu_core_events_enabled()) {
		json_decref(extra);
		return;
	}
	sfu_core_notify_event(jh, sfu_event_audit(name, room_id, user_id, extra));
}
