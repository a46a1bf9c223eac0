/*! \file    sfu_admin.c
 * \brief    janus-sfu: Admin API (see sfu_admin.h)
 */
#include <string.h>

#include <debug.h>

#include "sfu_admin.h"
#include "sfu_access.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_log.h"
#include "sfu_registry.h"
#include "sfu_request.h"
#include "sfu_state.h"
#include "sfu_stats.h"

static const sfu_config *config = NULL;
static sfu_token_verifier *verifier = NULL;

void sfu_admin_init(const sfu_config *cfg, sfu_token_verifier *a) {
	config = cfg;
	verifier = a;
}

static json_t *fail(const char *error) {
	return json_pack("{sbss}", "success", 0, "error", error);
}

/* A bounded, non-empty string field, or NULL. */
static const char *id_field(json_t *request, const char *name) {
	json_t *v = json_object_get(request, name);
	if(!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > SFU_MAX_ID_LEN)
		return NULL;
	return json_string_value(v);
}

static json_t *list_rooms(json_t *request) {
	(void)request;
	return json_pack("{sbso}", "success", 1, "rooms", sfu_registry_list_rooms());
}

static json_t *list_participants(json_t *request) {
	const char *room = id_field(request, "room_id");
	if(room == NULL)
		return fail("room_id (string) required");
	json_t *list = sfu_registry_list_participants(room);
	if(list == NULL)
		list = json_array();
	return json_pack("{sbssso}", "success", 1, "room_id", room, "participants", list);
}

static json_t *kick(json_t *request) {
	const char *room = id_field(request, "room_id"), *user = id_field(request, "user_id");
	if(room == NULL || user == NULL)
		return fail("room_id and user_id (strings) required");
	guint n = sfu_access_eject(room, user, "admin", "admin", NULL, TRUE);
	sfu_stats_inc(SFU_STAT_ADMIN_KICKS);
	return json_pack("{sbsi}", "success", 1, "kicked", (int)n);
}

static json_t *list_bans(json_t *request) {
	json_t *room = json_object_get(request, "room_id");
	if(room != NULL && !json_is_null(room) && !json_is_string(room))
		return fail("room_id must be a string");
	return json_pack("{sbso}", "success", 1, "bans",
		sfu_bans_list(json_string_value(room), g_get_real_time() / G_USEC_PER_SEC));
}

static json_t *unban(json_t *request) {
	const char *room = id_field(request, "room_id"), *user = id_field(request, "user_id");
	if(room == NULL || user == NULL)
		return fail("room_id and user_id (strings) required");
	guint n = sfu_access_unban(room, user, TRUE);
	return json_pack("{sbsi}", "success", 1, "unbanned", (int)n);
}

/* The one identity of a revoke / unrevoke request: exactly one of jti, sub, user_id, kid. */
static gboolean revoked_identity(json_t *request, sfu_revoke_kind *kind, const char **value) {
	int found = 0;
	for(int k = SFU_REVOKE_JTI; k <= SFU_REVOKE_KID; k++) {
		if(json_object_get(request, sfu_revoke_kind_name(k)) == NULL)
			continue;
		found++;
		*kind = k;
		*value = id_field(request, sfu_revoke_kind_name(k));
	}
	return found == 1 && *value != NULL;
}

static json_t *admin_revoke(json_t *request) {
	sfu_revoke_kind kind = SFU_REVOKE_JTI;
	const char *value = NULL;
	if(!revoked_identity(request, &kind, &value))
		return fail("exactly one of jti, sub, user_id, kid (non-empty string) required");
	/* Without bind_user_id the user_id claim binds nothing and is not kept: a revocation by it would match no
	 * token and eject nobody, while answering success. */
	if(kind == SFU_REVOKE_USER && !config->bind_user_id)
		return fail("user_id claims are ignored here (bind_user_id = false): revoke by jti or sub, or kick");
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 until = now + config->max_token_lifetime_s;
	json_t *u = json_object_get(request, "until");
	if(u != NULL && !json_is_null(u)) {
		if(!json_is_integer(u) || json_integer_value(u) <= now ||
			json_integer_value(u) > now + 10LL * 366 * 86400)
			return fail("until must be a unix time (integer) in the next 10 years");
		until = json_integer_value(u);
	}
	gboolean recorded = FALSE;
	guint n = sfu_access_revoke(kind, value, until, "admin", TRUE, &recorded);
	if(!recorded)
		return fail("too many revocations (max_revocations)");
	char shown[SFU_LOG_ID_LEN];
	JANUS_LOG(LOG_INFO, "[sfu] revoked %s '%s' until %" G_GINT64_FORMAT " (%u handles ejected)\n",
		sfu_revoke_kind_name(kind), sfu_log_id(value, shown), until, n);
	return json_pack("{sbs{sssssI}si}", "success", 1, "revoked", "kind", sfu_revoke_kind_name(kind), "value",
		value, "until", (json_int_t)until, "ejected", (int)n);
}

static json_t *admin_unrevoke(json_t *request) {
	sfu_revoke_kind kind = SFU_REVOKE_JTI;
	const char *value = NULL;
	if(!revoked_identity(request, &kind, &value))
		return fail("exactly one of jti, sub, user_id, kid (non-empty string) required");
	gboolean was = sfu_access_unrevoke(kind, value, TRUE);
	return json_pack("{sbsb}", "success", 1, "unrevoked", was);
}

static json_t *admin_list_revocations(json_t *request) {
	(void)request;
	return json_pack(
		"{sbso}", "success", 1, "revocations", sfu_bans_list_revocations(g_get_real_time() / G_USEC_PER_SEC));
}

/* Admin mute / unmute: {"room_id", "user_id", "media"?}. */
static json_t *set_mute(json_t *request, gboolean mute) {
	const char *room = id_field(request, "room_id"), *user = id_field(request, "user_id");
	if(room == NULL || user == NULL)
		return fail("room_id and user_id (strings) required");
	json_t *m = json_object_get(request, "media");
	const char *media = json_is_string(m)                ? json_string_value(m)
						: (m == NULL || json_is_null(m)) ? "all"
														 : "";
	guint bits = !strcmp(media, "audio")   ? SFU_MUTE_AUDIO
				 : !strcmp(media, "video") ? SFU_MUTE_VIDEO
				 : !strcmp(media, "all")   ? SFU_MUTE_ALL
										   : 0;
	if(bits == 0)
		return fail("media must be \"audio\", \"video\" or \"all\"");
	guint mask = sfu_access_mute(room, user, bits, mute, "admin");
	return json_pack("{sbso}", "success", 1, "muted", sfu_event_mute_list(mask));
}

static json_t *admin_mute(json_t *request) {
	return set_mute(request, TRUE);
}

static json_t *admin_unmute(json_t *request) {
	return set_mute(request, FALSE);
}

static json_t *admin_list_mutes(json_t *request) {
	json_t *room = json_object_get(request, "room_id");
	if(room != NULL && !json_is_null(room) && !json_is_string(room))
		return fail("room_id must be a string");
	json_t *list = sfu_bans_list_mutes(json_string_value(room), g_get_real_time() / G_USEC_PER_SEC);
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item) {
		json_object_set_new(
			item, "muted", sfu_event_mute_list((guint)json_integer_value(json_object_get(item, "mask"))));
		json_object_del(item, "mask");
	}
	return json_pack("{sbso}", "success", 1, "mutes", list);
}

static json_t *reload_keys(json_t *request) {
	(void)request;
	GError *error = NULL;
	if(!sfu_token_reload(verifier, config, &error)) {
		JANUS_LOG(LOG_ERR, "[sfu] reload_keys failed, old keys kept: %s\n", error ? error->message : "?");
		json_t *r = fail(error ? error->message : "reload failed");
		g_clear_error(&error);
		return r;
	}
	JANUS_LOG(LOG_INFO, "[sfu] keys reloaded\n");
	return json_pack("{sb}", "success", 1);
}

static json_int_t counter(sfu_stat which) {
	return (json_int_t)sfu_stats_get(which);
}

static json_t *stats(json_t *request) {
	(void)request;
	sfu_registry_counts c;
	sfu_registry_counts_get(&c);
	json_t *out = json_pack("{s:{sIsIsIsIsI},s:{sIsIsIsIsIsI},s:{sisisisisi}}", "signalling", "requests",
		counter(SFU_STAT_REQUESTS), "joins_accepted", counter(SFU_STAT_JOINS_ACCEPTED), "rejections",
		counter(SFU_STAT_REJECTIONS), "kicks", counter(SFU_STAT_KICKS), "refused_queue_full",
		counter(SFU_STAT_REFUSED_QUEUE_FULL), "relay", "rtp_packets", counter(SFU_STAT_RTP_PACKETS),
		"rtp_bytes", counter(SFU_STAT_RTP_BYTES), "data_messages", counter(SFU_STAT_DATA_MESSAGES),
		"data_bytes", counter(SFU_STAT_DATA_BYTES), "muted_rtp_packets", counter(SFU_STAT_MUTED_RTP_PACKETS),
		"muted_rtp_bytes", counter(SFU_STAT_MUTED_RTP_BYTES), "registry", "handles", c.handles, "rooms",
		c.rooms, "publisher_users", c.publisher_users, "users", c.users, "blocks", c.blocks);
	json_object_set_new(out, "authorization", sfu_access_stats());
	json_object_set_new(out, "state", sfu_state_stats());
	/* Loud when open: an operator polling stats sees that anyone may join any room. */
	json_object_set_new(out, "auth", json_string(sfu_token_is_open(verifier) ? "off" : "on"));
	char *policy = sfu_config_describe(config);
	json_object_set_new(out, "policy", json_string(policy));
	g_free(policy);
	json_object_set_new(out, "core_calls_under_lock", json_integer(sfu_core_lock_violations()));
	return json_pack("{sbso}", "success", 1, "stats", out);
}

static const struct {
	const char *name;
	json_t *(*handle)(json_t *request);
} requests[] = {
	{"list_rooms", list_rooms},
	{"list_participants", list_participants},
	{"kick", kick},
	{"list_bans", list_bans},
	{"unban", unban},
	{"revoke", admin_revoke},
	{"unrevoke", admin_unrevoke},
	{"list_revocations", admin_list_revocations},
	{"mute", admin_mute},
	{"unmute", admin_unmute},
	{"list_mutes", admin_list_mutes},
	{"reload_keys", reload_keys},
	{"stats", stats},
};

json_t *sfu_admin_handle(json_t *request) {
	json_t *name = json_object_get(request, "request");
	if(!json_is_string(name))
		return fail("missing request (string)");
	for(size_t i = 0; i < G_N_ELEMENTS(requests); i++) {
		if(!strcmp(json_string_value(name), requests[i].name))
			return requests[i].handle(request);
	}
	return fail("unknown request");
}
