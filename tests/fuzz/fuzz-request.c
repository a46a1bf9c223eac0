/*! \file    fuzz-request.c
 * \brief    libFuzzer target: JSON -> sfu_request_parse / sfu_request_parse_jsep
 * \details  The input is parsed as JSON (size-capped, any top-level value,
 * NULs allowed in strings) and fed to both parsers, as a body and as a jsep,
 * and also as the "body"/"jsep" members of an object, the way the core
 * hands them over. Accepted requests must satisfy the documented invariants
 * (required strings present for their kind, bounds, no embedded NUL); any
 * violation aborts. Replayed without libFuzzer by standalone-main.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sfu_request.h"

#define FUZZ_MAX_INPUT (SFU_MAX_DATA_LEN + 64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                          \
	do {                                                                                                     \
		if(!(cond))                                                                                          \
			abort();                                                                                         \
	} while(0)

/* A borrowed string of the body: within \p max bytes, NUL-free, and non-empty when \p non_empty. */
static void check_string(const char *s, size_t max, int non_empty) {
	CHECK(s != NULL);
	size_t len = strnlen(s, max + 1);
	CHECK(len <= max);
	if(non_empty)
		CHECK(len > 0);
}

static void check_optional(const char *s, size_t max, int non_empty) {
	if(s != NULL)
		check_string(s, max, non_empty);
}

static void check_detail(const char *detail) {
	CHECK(memchr(detail, '\0', SFU_DETAIL_LEN) != NULL);
}

static void check_request(const json_t *body) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	memset(detail, 'x', sizeof(detail));
	sfu_err err = sfu_request_parse(body, &req, detail, sizeof(detail));
	check_detail(detail);
	if(err != SFU_OK) {
		CHECK(err == SFU_ERR_PARSE);
		CHECK(detail[0] != '\0');
		CHECK(req.room_id == NULL && req.user_id == NULL && req.token == NULL && req.whom == NULL &&
			  req.body == NULL && req.subscribe.media == NULL);
		return;
	}
	CHECK(detail[0] == '\0');
	/* Known from here: accepted. Every string present is bounded and NUL-free. */
	check_optional(req.room_id, SFU_MAX_ID_LEN, 1);
	check_optional(req.user_id, SFU_MAX_ID_LEN, 1);
	check_optional(req.whom, SFU_MAX_ID_LEN, 1);
	check_optional(req.subscribe.media, SFU_MAX_ID_LEN, 1);
	check_optional(req.token, SFU_MAX_TOKEN_LEN, 0);
	check_optional(req.body, SFU_MAX_DATA_LEN, 0);
	CHECK(req.subscribe.notifications == 0 || req.subscribe.notifications == 1);
	CHECK(req.subscribe.data == 0 || req.subscribe.data == 1);
	if(!req.subscribe.present)
		CHECK(!req.subscribe.notifications && !req.subscribe.data && req.subscribe.media == NULL);
	switch(req.kind) {
		case SFU_REQ_NONE:
			CHECK(body == NULL || json_object_size(body) == 0);
			CHECK(req.room_id == NULL && req.user_id == NULL && req.token == NULL && req.whom == NULL);
			break;
		case SFU_REQ_JOIN:
			check_string(req.room_id, SFU_MAX_ID_LEN, 1);
			check_string(req.user_id, SFU_MAX_ID_LEN, 1);
			CHECK(req.whom == NULL && req.body == NULL);
			break;
		case SFU_REQ_KICK:
			check_string(req.room_id, SFU_MAX_ID_LEN, 1);
			check_string(req.user_id, SFU_MAX_ID_LEN, 1);
			check_string(req.token, SFU_MAX_TOKEN_LEN, 0);
			break;
		case SFU_REQ_SUBSCRIBE:
			CHECK(req.subscribe.present);
			CHECK(req.room_id == NULL && req.user_id == NULL);
			break;
		case SFU_REQ_BLOCK:
		case SFU_REQ_UNBLOCK:
			check_string(req.whom, SFU_MAX_ID_LEN, 1);
			break;
		case SFU_REQ_DATA:
			check_string(req.body, SFU_MAX_DATA_LEN, 0);
			break;
		case SFU_REQ_REFRESH:
			check_string(req.token, SFU_MAX_TOKEN_LEN, 0);
			break;
		default:
			abort();
	}
	/* The kind on the wire is exactly the kind's name. */
	if(req.kind != SFU_REQ_NONE) {
		json_t *kind = json_object_get(body, "kind");
		CHECK(json_is_string(kind));
		CHECK(json_string_length(kind) == strlen(sfu_request_kind_name(req.kind)));
		CHECK(strcmp(json_string_value(kind), sfu_request_kind_name(req.kind)) == 0);
	}
}

static void check_jsep(const json_t *jsep) {
	sfu_jsep out;
	char detail[SFU_DETAIL_LEN];
	memset(detail, 'x', sizeof(detail));
	sfu_err err = sfu_request_parse_jsep(jsep, &out, detail, sizeof(detail));
	check_detail(detail);
	if(err != SFU_OK) {
		CHECK(err == SFU_ERR_JSEP);
		CHECK(detail[0] != '\0');
		CHECK(out.type == SFU_JSEP_NONE);
		return;
	}
	if(jsep == NULL) {
		CHECK(out.type == SFU_JSEP_NONE && out.sdp == NULL);
		return;
	}
	CHECK(out.type == SFU_JSEP_OFFER || out.type == SFU_JSEP_ANSWER);
	check_string(out.sdp, 256 * 1024, 1);
	const char *type = json_string_value(json_object_get(jsep, "type"));
	CHECK(type != NULL);
	CHECK(strcmp(type, out.type == SFU_JSEP_OFFER ? "offer" : "answer") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if(size > FUZZ_MAX_INPUT)
		return 0;
	json_error_t jerr;
	json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if(root == NULL)
		return 0;
	check_request(root);
	check_jsep(root);
	/* {"body": ..., "jsep": ...}: each member alone, as the core passes them. */
	if(json_is_object(root)) {
		json_t *body = json_object_get(root, "body"), *jsep = json_object_get(root, "jsep");
		if(body != NULL)
			check_request(body);
		if(jsep != NULL)
			check_jsep(jsep);
	}
	check_request(NULL);
	check_jsep(NULL);
	json_decref(root);
	return 0;
}
