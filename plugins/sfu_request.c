/*! \file    sfu_request.c
 * \brief    janus-sfu: request parsing and validation (see sfu_request.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sfu_request.h"

typedef enum field_rule {
	FIELD_REQUIRED, /* must be present and a string */
	FIELD_OPTIONAL  /* absent or null means NULL */
} field_rule;

static const char *kind_names[] = {
	[SFU_REQ_NONE] = "none",
	[SFU_REQ_JOIN] = "join",
	[SFU_REQ_KICK] = "kick",
	[SFU_REQ_SUBSCRIBE] = "subscribe",
	[SFU_REQ_BLOCK] = "block",
	[SFU_REQ_UNBLOCK] = "unblock",
	[SFU_REQ_DATA] = "data",
	[SFU_REQ_REFRESH] = "refresh",
	[SFU_REQ_MUTE] = "mute",
	[SFU_REQ_UNMUTE] = "unmute",
};

const char *sfu_request_kind_name(sfu_req_kind kind) {
	if((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "unknown";
	return kind_names[kind];
}

static sfu_err fail(char *detail, size_t detail_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static sfu_err fail(char *detail, size_t detail_len, const char *fmt, ...) {
	if(detail != NULL && detail_len > 0) {
		va_list args;
		va_start(args, fmt);
		vsnprintf(detail, detail_len, fmt, args);
		va_end(args);
	}
	return SFU_ERR_PARSE;
}

/* Read string field \p name of \p obj into \p out, enforcing presence, type and size. */
static sfu_err get_string(const json_t *obj, const char *name, field_rule rule, size_t max_len, int non_empty,
	const char **out, char *detail, size_t detail_len) {
	json_t *value = json_object_get(obj, name);
	*out = NULL;
	if(value == NULL || json_is_null(value)) {
		if(rule == FIELD_REQUIRED)
			return fail(detail, detail_len, "missing required field '%s'", name);
		return SFU_OK;
	}
	if(!json_is_string(value))
		return fail(detail, detail_len, "field '%s' must be a string", name);
	size_t len = json_string_length(value);
	if(len > max_len)
		return fail(detail, detail_len, "field '%s' is longer than %zu bytes", name, max_len);
	if(non_empty && len == 0)
		return fail(detail, detail_len, "field '%s' must not be empty", name);
	/* Known from here: a string within bounds. Embedded NULs would let two
	 * different ids compare equal as C strings: refuse them. */
	if(strlen(json_string_value(value)) != len)
		return fail(detail, detail_len, "field '%s' contains a NUL character", name);
	*out = json_string_value(value);
	return SFU_OK;
}

/* Optional boolean: absent means FALSE; present must be a boolean (null is an error, as upstream). */
static sfu_err get_bool(const json_t *obj, const char *name, int *out, char *detail, size_t detail_len) {
	json_t *value = json_object_get(obj, name);
	*out = 0;
	if(value == NULL)
		return SFU_OK;
	if(!json_is_boolean(value))
		return fail(detail, detail_len, "field '%s' must be a boolean", name);
	*out = json_is_true(value);
	return SFU_OK;
}

static sfu_err get_subscription(const json_t *obj, const char *name, int required, sfu_subscription *out,
	char *detail, size_t detail_len) {
	json_t *value = json_object_get(obj, name);
	memset(out, 0, sizeof(*out));
	if(value == NULL || json_is_null(value)) {
		if(required)
			return fail(detail, detail_len, "missing required field '%s'", name);
		return SFU_OK;
	}
	if(!json_is_object(value))
		return fail(detail, detail_len, "field '%s' must be an object", name);
	out->present = 1;
	sfu_err err = get_bool(value, "notifications", &out->notifications, detail, detail_len);
	if(err == SFU_OK)
		err = get_bool(value, "data", &out->data, detail, detail_len);
	if(err == SFU_OK)
		err = get_string(value, "media", FIELD_OPTIONAL, SFU_MAX_ID_LEN, 1, &out->media, detail, detail_len);
	return err;
}

static sfu_err parse_join(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	sfu_err err =
		get_string(body, "room_id", FIELD_REQUIRED, SFU_MAX_ID_LEN, 1, &req->room_id, detail, detail_len);
	if(err == SFU_OK)
		err =
			get_string(body, "user_id", FIELD_REQUIRED, SFU_MAX_ID_LEN, 1, &req->user_id, detail, detail_len);
	if(err == SFU_OK)
		err = get_subscription(body, "subscribe", 0, &req->subscribe, detail, detail_len);
	if(err == SFU_OK)
		err =
			get_string(body, "token", FIELD_OPTIONAL, SFU_MAX_TOKEN_LEN, 0, &req->token, detail, detail_len);
	return err;
}

static sfu_err parse_kick(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	sfu_err err =
		get_string(body, "room_id", FIELD_REQUIRED, SFU_MAX_ID_LEN, 1, &req->room_id, detail, detail_len);
	if(err == SFU_OK)
		err =
			get_string(body, "user_id", FIELD_REQUIRED, SFU_MAX_ID_LEN, 1, &req->user_id, detail, detail_len);
	if(err == SFU_OK)
		err =
			get_string(body, "token", FIELD_REQUIRED, SFU_MAX_TOKEN_LEN, 0, &req->token, detail, detail_len);
	return err;
}

static sfu_err parse_subscribe(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	sfu_err err = get_subscription(body, "what", 1, &req->subscribe, detail, detail_len);
	if(err == SFU_OK)
		err =
			get_string(body, "token", FIELD_OPTIONAL, SFU_MAX_TOKEN_LEN, 0, &req->token, detail, detail_len);
	return err;
}

static sfu_err parse_whom(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	return get_string(body, "whom", FIELD_REQUIRED, SFU_MAX_ID_LEN, 1, &req->whom, detail, detail_len);
}

static sfu_err parse_data(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	sfu_err err = get_string(body, "whom", FIELD_OPTIONAL, SFU_MAX_ID_LEN, 1, &req->whom, detail, detail_len);
	if(err == SFU_OK)
		err = get_string(body, "body", FIELD_REQUIRED, SFU_MAX_DATA_LEN, 0, &req->body, detail, detail_len);
	return err;
}

static sfu_err parse_refresh(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	return get_string(body, "token", FIELD_REQUIRED, SFU_MAX_TOKEN_LEN, 0, &req->token, detail, detail_len);
}

/* mute / unmute: room_id, user_id, token (all required), media "audio" | "video" | "all" (default "all"). */
static sfu_err parse_mute(const json_t *body, sfu_request *req, char *detail, size_t detail_len) {
	sfu_err err = parse_kick(body, req, detail, detail_len);
	const char *media = NULL;
	if(err == SFU_OK)
		err = get_string(body, "media", FIELD_OPTIONAL, 16, 1, &media, detail, detail_len);
	if(err != SFU_OK)
		return err;
	if(media == NULL || strcmp(media, "all") == 0)
		req->mute = SFU_REQ_MUTE_AUDIO | SFU_REQ_MUTE_VIDEO;
	else if(strcmp(media, "audio") == 0)
		req->mute = SFU_REQ_MUTE_AUDIO;
	else if(strcmp(media, "video") == 0)
		req->mute = SFU_REQ_MUTE_VIDEO;
	else
		return fail(detail, detail_len, "field 'media' must be \"audio\", \"video\" or \"all\"");
	return SFU_OK;
}

typedef sfu_err (*kind_parser)(const json_t *body, sfu_request *req, char *detail, size_t detail_len);

static const struct {
	const char *name;
	sfu_req_kind kind;
	kind_parser parse;
} kinds[] = {
	{"join", SFU_REQ_JOIN, parse_join},
	{"kick", SFU_REQ_KICK, parse_kick},
	{"subscribe", SFU_REQ_SUBSCRIBE, parse_subscribe},
	{"block", SFU_REQ_BLOCK, parse_whom},
	{"unblock", SFU_REQ_UNBLOCK, parse_whom},
	{"data", SFU_REQ_DATA, parse_data},
	{"refresh", SFU_REQ_REFRESH, parse_refresh},
	{"mute", SFU_REQ_MUTE, parse_mute},
	{"unmute", SFU_REQ_UNMUTE, parse_mute},
};

sfu_err sfu_request_parse(const json_t *body, sfu_request *out, char *detail, size_t detail_len) {
	memset(out, 0, sizeof(*out));
	if(detail != NULL && detail_len > 0)
		detail[0] = '\0';
	if(body == NULL)
		return SFU_OK;
	if(!json_is_object(body))
		return fail(detail, detail_len, "the message body must be a JSON object");
	if(json_object_size(body) == 0)
		return SFU_OK;
	json_t *kind = json_object_get(body, "kind");
	if(kind == NULL)
		return fail(detail, detail_len, "missing required field '%s'", "kind");
	if(!json_is_string(kind))
		return fail(detail, detail_len, "field '%s' must be a string", "kind");
	const char *name = json_string_value(kind);
	/* "join\u0000x" must not select join: compare the whole JSON string, not its C prefix. */
	size_t name_len = json_string_length(kind);
	for(size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if(strlen(kinds[i].name) != name_len || strcmp(name, kinds[i].name) != 0)
			continue;
		out->kind = kinds[i].kind;
		sfu_err err = kinds[i].parse(body, out, detail, detail_len);
		if(err != SFU_OK) {
			sfu_req_kind failed = out->kind;
			memset(out, 0, sizeof(*out));
			out->kind = failed;
		}
		return err;
	}
	return fail(detail, detail_len,
		"unknown kind (expected join, subscribe, kick, block, unblock, data, refresh, mute or unmute)");
}

sfu_err sfu_request_parse_jsep(const json_t *jsep, sfu_jsep *out, char *detail, size_t detail_len) {
	memset(out, 0, sizeof(*out));
	if(detail != NULL && detail_len > 0)
		detail[0] = '\0';
	if(jsep == NULL)
		return SFU_OK;
	if(!json_is_object(jsep)) {
		fail(detail, detail_len, "jsep must be a JSON object");
		return SFU_ERR_JSEP;
	}
	const char *type = NULL, *sdp = NULL;
	if(get_string(jsep, "type", FIELD_REQUIRED, 16, 1, &type, detail, detail_len) != SFU_OK ||
		get_string(jsep, "sdp", FIELD_REQUIRED, 256 * 1024, 1, &sdp, detail, detail_len) != SFU_OK) {
		if(detail != NULL && detail_len > 0) {
			char inner[SFU_DETAIL_LEN];
			snprintf(inner, sizeof(inner), "%s", detail);
			snprintf(detail, detail_len, "jsep: %s", inner);
		}
		return SFU_ERR_JSEP;
	}
	if(strcmp(type, "offer") == 0) {
		out->type = SFU_JSEP_OFFER;
	} else if(strcmp(type, "answer") == 0) {
		out->type = SFU_JSEP_ANSWER;
	} else {
		fail(detail, detail_len, "jsep type must be 'offer' or 'answer'");
		return SFU_ERR_JSEP;
	}
	out->sdp = sdp;
	return SFU_OK;
}
