/*! \file    test-request.c
 * \brief    Unit tests for sfu_request: every kind's valid forms, every error
 *           path, and JSEP parsing (docs/PROTOCOL.md §3).
 */
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "sfu_request.h"

/* =============================================================================
 * Helpers
 * ==========================================================================*/

static json_t *load(const char *text) {
	json_error_t jerr;
	json_t *json = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if(json == NULL)
		g_error("bad test JSON %s: %s", text, jerr.text);
	return json;
}

/* Parse \p text; assert the outcome; return the detail (static). The body is kept alive in \p keep. */
static sfu_err parse(const char *text, sfu_request *req, char *detail, json_t **keep) {
	json_t *body = load(text);
	sfu_err err = sfu_request_parse(body, req, detail, SFU_DETAIL_LEN);
	if(keep != NULL)
		*keep = body;
	else
		json_decref(body);
	return err;
}

static void assert_ok(const char *text, sfu_req_kind kind) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	sfu_err err = parse(text, &req, detail, NULL);
	if(err != SFU_OK)
		g_test_message("rejected %s: %s", text, detail);
	g_assert_cmpint(err, ==, SFU_OK);
	g_assert_cmpint(req.kind, ==, kind);
	g_assert_cmpstr(detail, ==, "");
}

/* Rejected with a detail that mentions \p needle (when set). */
static void assert_bad(const char *text, const char *needle) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	memset(detail, 'x', sizeof(detail));
	sfu_err err = parse(text, &req, detail, NULL);
	if(err == SFU_OK)
		g_test_message("accepted %s", text);
	g_assert_cmpint(err, ==, SFU_ERR_PARSE);
	g_assert_cmpuint(strlen(detail), >, 0);
	g_assert_cmpuint(strlen(detail), <, SFU_DETAIL_LEN);
	g_assert_null(strchr(detail, '\n'));
	if(needle != NULL && strstr(detail, needle) == NULL)
		g_error("detail for %s is '%s', expected it to mention '%s'", text, detail, needle);
	/* A failed parse never leaves borrowed strings behind. */
	g_assert_null(req.room_id);
	g_assert_null(req.user_id);
	g_assert_null(req.token);
	g_assert_null(req.whom);
	g_assert_null(req.body);
	g_assert_null(req.subscribe.media);
}

/* \p tmpl with its one "@@" replaced by \p value (a new string). */
static char *fill(const char *tmpl, const char *value) {
	const char *at = strstr(tmpl, "@@");
	g_assert_nonnull(at);
	return g_strdup_printf("%.*s%s%s", (int)(at - tmpl), tmpl, value, at + 2);
}

/* =============================================================================
 * Valid forms
 * ==========================================================================*/

static void test_none(void) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN] = "junk";
	g_assert_cmpint(sfu_request_parse(NULL, &req, detail, sizeof(detail)), ==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_NONE);
	g_assert_cmpstr(detail, ==, "");
	assert_ok("{}", SFU_REQ_NONE);
	/* A NULL detail buffer is fine on both paths. */
	json_t *body = load("{}");
	g_assert_cmpint(sfu_request_parse(body, &req, NULL, 0), ==, SFU_OK);
	json_decref(body);
	body = load("[]");
	g_assert_cmpint(sfu_request_parse(body, &req, NULL, 0), ==, SFU_ERR_PARSE);
	g_assert_cmpint(sfu_request_parse(body, &req, detail, 0), ==, SFU_ERR_PARSE);
	json_decref(body);
}

static void test_join_valid(void) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	json_t *body = NULL;
	/* naf publisher join */
	g_assert_cmpint(parse("{\"kind\":\"join\",\"room_id\":\"audio\",\"user_id\":\"111\","
						  "\"subscribe\":{\"notifications\":true,\"data\":true},\"token\":null}",
						&req, detail, &body),
		==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_JOIN);
	g_assert_cmpstr(req.room_id, ==, "audio");
	g_assert_cmpstr(req.user_id, ==, "111");
	g_assert_null(req.token);
	g_assert_true(req.subscribe.present);
	g_assert_true(req.subscribe.notifications);
	g_assert_true(req.subscribe.data);
	g_assert_null(req.subscribe.media);
	json_decref(body);
	/* naf subscriber join, with a token and unknown extra fields */
	g_assert_cmpint(
		parse("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":{\"media\":\"222\","
			  "\"extra\":[1]},\"token\":\"a.b.c\",\"whatever\":{}}",
			&req, detail, &body),
		==, SFU_OK);
	g_assert_cmpstr(req.subscribe.media, ==, "222");
	g_assert_false(req.subscribe.notifications);
	g_assert_false(req.subscribe.data);
	g_assert_cmpstr(req.token, ==, "a.b.c");
	json_decref(body);
	/* No subscribe, subscribe null, media null, empty token string. */
	g_assert_cmpint(
		parse("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\"}", &req, detail, NULL), ==, SFU_OK);
	g_assert_false(req.subscribe.present);
	g_assert_cmpint(parse("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":null}", &req,
						detail, NULL),
		==, SFU_OK);
	g_assert_false(req.subscribe.present);
	assert_ok("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":{}}", SFU_REQ_JOIN);
	assert_ok("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":{\"media\":null}}",
		SFU_REQ_JOIN);
	assert_ok("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"\"}", SFU_REQ_JOIN);
	/* Unicode ids and ids of exactly the maximum length. */
	assert_ok(
		"{\"kind\":\"join\",\"room_id\":\"salle-\\u00e9\",\"user_id\":\"\\ud83d\\ude00\"}", SFU_REQ_JOIN);
	char *id = g_strnfill(SFU_MAX_ID_LEN, 'a');
	char *text = g_strdup_printf("{\"kind\":\"join\",\"room_id\":\"%s\",\"user_id\":\"%s\",\"subscribe\":"
								 "{\"media\":\"%s\"}}",
		id, id, id);
	assert_ok(text, SFU_REQ_JOIN);
	g_free(text);
	g_free(id);
	char *token = g_strnfill(SFU_MAX_TOKEN_LEN, 't');
	text = g_strdup_printf("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"%s\"}", token);
	assert_ok(text, SFU_REQ_JOIN);
	g_free(text);
	g_free(token);
}

static void test_other_kinds_valid(void) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	json_t *body = NULL;
	g_assert_cmpint(parse("{\"kind\":\"kick\",\"room_id\":\"r\",\"user_id\":\"bad\",\"token\":\"t\"}", &req,
						detail, &body),
		==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_KICK);
	g_assert_cmpstr(req.room_id, ==, "r");
	g_assert_cmpstr(req.user_id, ==, "bad");
	g_assert_cmpstr(req.token, ==, "t");
	json_decref(body);

	g_assert_cmpint(
		parse("{\"kind\":\"subscribe\",\"what\":{\"notifications\":false,\"data\":true,\"media\":\"p\"},"
			  "\"token\":\"t\"}",
			&req, detail, &body),
		==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_SUBSCRIBE);
	g_assert_true(req.subscribe.present);
	g_assert_false(req.subscribe.notifications);
	g_assert_true(req.subscribe.data);
	g_assert_cmpstr(req.subscribe.media, ==, "p");
	g_assert_cmpstr(req.token, ==, "t");
	json_decref(body);
	assert_ok("{\"kind\":\"subscribe\",\"what\":{}}", SFU_REQ_SUBSCRIBE);
	assert_ok("{\"kind\":\"subscribe\",\"what\":{\"media\":null},\"token\":null}", SFU_REQ_SUBSCRIBE);

	g_assert_cmpint(parse("{\"kind\":\"block\",\"whom\":\"w\"}", &req, detail, &body), ==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_BLOCK);
	g_assert_cmpstr(req.whom, ==, "w");
	json_decref(body);
	g_assert_cmpint(parse("{\"kind\":\"unblock\",\"whom\":\"w\"}", &req, detail, &body), ==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_UNBLOCK);
	g_assert_cmpstr(req.whom, ==, "w");
	json_decref(body);

	g_assert_cmpint(
		parse("{\"kind\":\"data\",\"body\":\"{\\\"dataType\\\":\\\"u\\\"}\"}", &req, detail, &body), ==,
		SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_DATA);
	g_assert_null(req.whom);
	g_assert_cmpstr(req.body, ==, "{\"dataType\":\"u\"}");
	json_decref(body);
	g_assert_cmpint(
		parse("{\"kind\":\"data\",\"whom\":\"x\",\"body\":\"\"}", &req, detail, &body), ==, SFU_OK);
	g_assert_cmpstr(req.whom, ==, "x");
	g_assert_cmpstr(req.body, ==, "");
	json_decref(body);
	assert_ok("{\"kind\":\"data\",\"whom\":null,\"body\":\"b\"}", SFU_REQ_DATA);
	char *big = g_strnfill(SFU_MAX_DATA_LEN, 'd');
	char *text = g_strdup_printf("{\"kind\":\"data\",\"body\":\"%s\"}", big);
	assert_ok(text, SFU_REQ_DATA);
	g_free(text);
	g_free(big);

	g_assert_cmpint(parse("{\"kind\":\"refresh\",\"token\":\"new\"}", &req, detail, &body), ==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_REFRESH);
	g_assert_cmpstr(req.token, ==, "new");
	json_decref(body);
}

/* mute / unmute: room_id, user_id, token required; media "audio" | "video" | "all" (default all). */
static void test_mute(void) {
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	json_t *body = NULL;
	g_assert_cmpint(
		parse("{\"kind\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"t\",\"media\":\"audio\"}",
			&req, detail, &body),
		==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_MUTE);
	g_assert_cmpstr(req.room_id, ==, "r");
	g_assert_cmpstr(req.user_id, ==, "u");
	g_assert_cmpstr(req.token, ==, "t");
	g_assert_cmpint(req.mute, ==, SFU_REQ_MUTE_AUDIO);
	json_decref(body);
	g_assert_cmpint(parse("{\"kind\":\"unmute\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"t\"}", &req,
						detail, &body),
		==, SFU_OK);
	g_assert_cmpint(req.kind, ==, SFU_REQ_UNMUTE);
	g_assert_cmpint(req.mute, ==, SFU_REQ_MUTE_AUDIO | SFU_REQ_MUTE_VIDEO);
	json_decref(body);
	g_assert_cmpint(
		parse("{\"kind\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"t\",\"media\":\"video\"}",
			&req, detail, &body),
		==, SFU_OK);
	g_assert_cmpint(req.mute, ==, SFU_REQ_MUTE_VIDEO);
	json_decref(body);
	assert_ok("{\"kind\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"t\",\"media\":null}",
		SFU_REQ_MUTE);
	assert_bad("{\"kind\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"t\",\"media\":\"data\"}",
		"media");
	assert_bad(
		"{\"kind\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"t\",\"media\":1}", "media");
	assert_bad("{\"kind\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\"}", "token");
	assert_bad("{\"kind\":\"unmute\",\"user_id\":\"u\",\"token\":\"t\"}", "room_id");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_MUTE), ==, "mute");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_UNMUTE), ==, "unmute");
}

static void test_kind_names(void) {
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_NONE), ==, "none");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_JOIN), ==, "join");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_KICK), ==, "kick");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_SUBSCRIBE), ==, "subscribe");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_BLOCK), ==, "block");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_UNBLOCK), ==, "unblock");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_DATA), ==, "data");
	g_assert_cmpstr(sfu_request_kind_name(SFU_REQ_REFRESH), ==, "refresh");
	g_assert_cmpstr(sfu_request_kind_name((sfu_req_kind)99), ==, "unknown");
	g_assert_cmpstr(sfu_request_kind_name((sfu_req_kind)-1), ==, "unknown");
}

/* =============================================================================
 * Error paths
 * ==========================================================================*/

static void test_body_shape(void) {
	assert_bad("[]", "object");
	assert_bad("\"join\"", "object");
	assert_bad("42", "object");
	assert_bad("null", "object");
	assert_bad("true", "object");
	assert_bad("{\"room_id\":\"r\"}", "'kind'");
	assert_bad("{\"kind\":null}", "'kind'");
	assert_bad("{\"kind\":1}", "'kind'");
	assert_bad("{\"kind\":[\"join\"]}", "'kind'");
	assert_bad("{\"kind\":\"Join\",\"room_id\":\"r\",\"user_id\":\"u\"}", "unknown kind");
	assert_bad("{\"kind\":\"JOIN\",\"room_id\":\"r\",\"user_id\":\"u\"}", "unknown kind");
	assert_bad("{\"kind\":\"join \",\"room_id\":\"r\",\"user_id\":\"u\"}", "unknown kind");
	assert_bad("{\"kind\":\"\"}", "unknown kind");
	assert_bad("{\"kind\":\"leave\"}", "unknown kind");
	assert_bad("{\"kind\":\"none\"}", "unknown kind");
	assert_bad("{\"kind\":\"join\\u0000\",\"room_id\":\"r\",\"user_id\":\"u\"}", "unknown kind");
}

/* Wrong JSON types for a string field, each with the field named in the detail. */
static void check_string_field(const char *tmpl, const char *field, gboolean optional) {
	const char *wrong[] = {"1", "1.5", "true", "false", "[]", "[\"x\"]", "{}", "{\"a\":\"b\"}"};
	char *needle = g_strdup_printf("'%s'", field);
	for(size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
		char *text = fill(tmpl, wrong[i]);
		assert_bad(text, needle);
		g_free(text);
	}
	char *text = fill(tmpl, "null");
	if(optional) {
		sfu_request req;
		char detail[SFU_DETAIL_LEN];
		g_assert_cmpint(parse(text, &req, detail, NULL), ==, SFU_OK);
	} else {
		assert_bad(text, needle);
	}
	g_free(text);
	g_free(needle);
}

static void test_wrong_types(void) {
	check_string_field("{\"kind\":\"join\",\"room_id\":@@,\"user_id\":\"u\"}", "room_id", FALSE);
	check_string_field("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":@@}", "user_id", FALSE);
	check_string_field("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":@@}", "token", TRUE);
	check_string_field("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":{\"media\":@@}}",
		"media", TRUE);
	check_string_field(
		"{\"kind\":\"kick\",\"room_id\":@@,\"user_id\":\"u\",\"token\":\"t\"}", "room_id", FALSE);
	check_string_field(
		"{\"kind\":\"kick\",\"room_id\":\"r\",\"user_id\":@@,\"token\":\"t\"}", "user_id", FALSE);
	check_string_field(
		"{\"kind\":\"kick\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":@@}", "token", FALSE);
	check_string_field("{\"kind\":\"subscribe\",\"what\":{\"media\":@@}}", "media", TRUE);
	check_string_field("{\"kind\":\"subscribe\",\"what\":{},\"token\":@@}", "token", TRUE);
	check_string_field("{\"kind\":\"block\",\"whom\":@@}", "whom", FALSE);
	check_string_field("{\"kind\":\"unblock\",\"whom\":@@}", "whom", FALSE);
	check_string_field("{\"kind\":\"data\",\"whom\":@@,\"body\":\"b\"}", "whom", TRUE);
	check_string_field("{\"kind\":\"data\",\"body\":@@}", "body", FALSE);
	check_string_field("{\"kind\":\"refresh\",\"token\":@@}", "token", FALSE);
}

static void test_subscription_types(void) {
	const char *wrong[] = {"1", "\"true\"", "[]", "{}", "null", "0"};
	for(size_t i = 0; i < G_N_ELEMENTS(wrong); i++) {
		for(int field = 0; field < 2; field++) {
			const char *name = field ? "data" : "notifications";
			char *needle = g_strdup_printf("'%s'", name);
			char *text =
				g_strdup_printf("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":"
								"{\"%s\":%s}}",
					name, wrong[i]);
			assert_bad(text, needle);
			g_free(text);
			text = g_strdup_printf("{\"kind\":\"subscribe\",\"what\":{\"%s\":%s}}", name, wrong[i]);
			assert_bad(text, needle);
			g_free(text);
			g_free(needle);
		}
	}
	/* subscribe / what must be objects */
	const char *not_objects[] = {"true", "1", "\"x\"", "[]", "[{}]"};
	for(size_t i = 0; i < G_N_ELEMENTS(not_objects); i++) {
		char *text = g_strdup_printf(
			"{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":%s}", not_objects[i]);
		assert_bad(text, "'subscribe'");
		g_free(text);
		text = g_strdup_printf("{\"kind\":\"subscribe\",\"what\":%s}", not_objects[i]);
		assert_bad(text, "'what'");
		g_free(text);
	}
	/* what is required for subscribe, null included */
	assert_bad("{\"kind\":\"subscribe\"}", "'what'");
	assert_bad("{\"kind\":\"subscribe\",\"what\":null}", "'what'");
	/* the fields at top level (as upstream docs show) do not count */
	assert_bad("{\"kind\":\"subscribe\",\"media\":\"p\"}", "'what'");
}

static void test_missing_required(void) {
	assert_bad("{\"kind\":\"join\"}", "'room_id'");
	assert_bad("{\"kind\":\"join\",\"room_id\":\"r\"}", "'user_id'");
	assert_bad("{\"kind\":\"join\",\"user_id\":\"u\"}", "'room_id'");
	assert_bad("{\"kind\":\"kick\",\"room_id\":\"r\",\"user_id\":\"u\"}", "'token'");
	assert_bad("{\"kind\":\"kick\",\"user_id\":\"u\",\"token\":\"t\"}", "'room_id'");
	assert_bad("{\"kind\":\"kick\",\"room_id\":\"r\",\"token\":\"t\"}", "'user_id'");
	assert_bad("{\"kind\":\"block\"}", "'whom'");
	assert_bad("{\"kind\":\"unblock\"}", "'whom'");
	assert_bad("{\"kind\":\"data\"}", "'body'");
	assert_bad("{\"kind\":\"data\",\"whom\":\"w\"}", "'body'");
	assert_bad("{\"kind\":\"refresh\"}", "'token'");
	/* On a failed parse the kind is still reported (for logs and counters). */
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	g_assert_cmpint(parse("{\"kind\":\"block\"}", &req, detail, NULL), ==, SFU_ERR_PARSE);
	g_assert_cmpint(req.kind, ==, SFU_REQ_BLOCK);
}

static void test_empty_ids(void) {
	assert_bad("{\"kind\":\"join\",\"room_id\":\"\",\"user_id\":\"u\"}", "'room_id'");
	assert_bad("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"\"}", "'user_id'");
	assert_bad(
		"{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":{\"media\":\"\"}}", "'media'");
	assert_bad("{\"kind\":\"kick\",\"room_id\":\"\",\"user_id\":\"u\",\"token\":\"t\"}", "'room_id'");
	assert_bad("{\"kind\":\"kick\",\"room_id\":\"r\",\"user_id\":\"\",\"token\":\"t\"}", "'user_id'");
	assert_bad("{\"kind\":\"subscribe\",\"what\":{\"media\":\"\"}}", "'media'");
	assert_bad("{\"kind\":\"block\",\"whom\":\"\"}", "'whom'");
	assert_bad("{\"kind\":\"unblock\",\"whom\":\"\"}", "'whom'");
	assert_bad("{\"kind\":\"data\",\"whom\":\"\",\"body\":\"b\"}", "'whom'");
}

/* An over-long value is rejected, and the detail names the field without echoing the value. */
static void check_oversized(const char *tmpl, const char *field, size_t len) {
	char *value = g_strnfill(len, 'Q');
	char *text = fill(tmpl, value);
	sfu_request req;
	char detail[SFU_DETAIL_LEN];
	g_assert_cmpint(parse(text, &req, detail, NULL), ==, SFU_ERR_PARSE);
	char *needle = g_strdup_printf("'%s'", field);
	g_assert_nonnull(strstr(detail, needle));
	g_assert_null(strstr(detail, "QQQQ"));
	g_free(needle);
	g_free(text);
	g_free(value);
}

static void test_oversized(void) {
	check_oversized(
		"{\"kind\":\"join\",\"room_id\":\"@@\",\"user_id\":\"u\"}", "room_id", SFU_MAX_ID_LEN + 1);
	check_oversized(
		"{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"@@\"}", "user_id", SFU_MAX_ID_LEN + 1);
	check_oversized(
		"{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"subscribe\":{\"media\":\"@@\"}}", "media",
		SFU_MAX_ID_LEN + 1);
	check_oversized("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"@@\"}", "token",
		SFU_MAX_TOKEN_LEN + 1);
	check_oversized("{\"kind\":\"kick\",\"room_id\":\"@@\",\"user_id\":\"u\",\"token\":\"t\"}", "room_id",
		SFU_MAX_ID_LEN * 10);
	check_oversized("{\"kind\":\"kick\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"@@\"}", "token",
		SFU_MAX_TOKEN_LEN * 4);
	check_oversized("{\"kind\":\"subscribe\",\"what\":{},\"token\":\"@@\"}", "token", SFU_MAX_TOKEN_LEN + 1);
	check_oversized("{\"kind\":\"block\",\"whom\":\"@@\"}", "whom", SFU_MAX_ID_LEN + 1);
	check_oversized("{\"kind\":\"data\",\"whom\":\"@@\",\"body\":\"b\"}", "whom", SFU_MAX_ID_LEN + 1);
	check_oversized("{\"kind\":\"data\",\"body\":\"@@\"}", "body", SFU_MAX_DATA_LEN + 1);
	check_oversized("{\"kind\":\"data\",\"body\":\"@@\"}", "body", 4 * 1024 * 1024);
	check_oversized("{\"kind\":\"refresh\",\"token\":\"@@\"}", "token", SFU_MAX_TOKEN_LEN + 1);
}

static void test_embedded_nul(void) {
	assert_bad("{\"kind\":\"join\",\"room_id\":\"r\\u0000x\",\"user_id\":\"u\"}", "NUL");
	assert_bad("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"\\u0000\"}", "NUL");
	assert_bad("{\"kind\":\"join\",\"room_id\":\"r\",\"user_id\":\"u\",\"token\":\"a\\u0000b\"}", "NUL");
	assert_bad("{\"kind\":\"block\",\"whom\":\"w\\u0000\"}", "NUL");
	assert_bad("{\"kind\":\"data\",\"body\":\"b\\u0000\"}", "NUL");
	assert_bad("{\"kind\":\"subscribe\",\"what\":{\"media\":\"m\\u0000m\"}}", "NUL");
}

static void test_detail_buffer_bounds(void) {
	/* A tiny buffer is truncated, never overrun, and always terminated. */
	json_t *body = load("{\"kind\":\"unknown-kind-with-a-long-name\"}");
	sfu_request req;
	char detail[8];
	memset(detail, 'x', sizeof(detail));
	g_assert_cmpint(sfu_request_parse(body, &req, detail, 4), ==, SFU_ERR_PARSE);
	g_assert_cmpuint(strlen(detail), ==, 3);
	g_assert_cmpint(detail[4], ==, 'x');
	json_decref(body);
}

/* =============================================================================
 * JSEP
 * ==========================================================================*/

static sfu_err jsep(const char *text, sfu_jsep *out, char *detail) {
	json_t *j = text ? load(text) : NULL;
	sfu_err err = sfu_request_parse_jsep(j, out, detail, SFU_DETAIL_LEN);
	/* out->sdp is borrowed: only compare it while j lives, so copy the verdict here. */
	if(err == SFU_OK && out->sdp != NULL)
		g_assert_cmpstr(out->sdp, ==, json_string_value(json_object_get(j, "sdp")));
	json_decref(j);
	out->sdp = NULL;
	return err;
}

static void test_jsep_valid(void) {
	sfu_jsep out;
	char detail[SFU_DETAIL_LEN] = "junk";
	g_assert_cmpint(jsep(NULL, &out, detail), ==, SFU_OK);
	g_assert_cmpint(out.type, ==, SFU_JSEP_NONE);
	g_assert_cmpstr(detail, ==, "");
	g_assert_cmpint(jsep("{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}", &out, detail), ==, SFU_OK);
	g_assert_cmpint(out.type, ==, SFU_JSEP_OFFER);
	g_assert_cmpint(
		jsep("{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\",\"trickle\":true,\"update\":true}", &out, detail),
		==, SFU_OK);
	g_assert_cmpint(out.type, ==, SFU_JSEP_ANSWER);
	/* Borrowed pointer check while alive. */
	json_t *j = load("{\"type\":\"offer\",\"sdp\":\"x\"}");
	g_assert_cmpint(sfu_request_parse_jsep(j, &out, NULL, 0), ==, SFU_OK);
	g_assert_true(out.sdp == json_string_value(json_object_get(j, "sdp")));
	json_decref(j);
}

static void assert_bad_jsep(const char *text, const char *needle) {
	sfu_jsep out;
	char detail[SFU_DETAIL_LEN];
	g_assert_cmpint(jsep(text, &out, detail), ==, SFU_ERR_JSEP);
	g_assert_cmpint(out.type, ==, SFU_JSEP_NONE);
	g_assert_cmpuint(strlen(detail), >, 0);
	g_assert_true(g_str_has_prefix(detail, "jsep"));
	if(needle != NULL && strstr(detail, needle) == NULL)
		g_error("jsep detail for %s is '%s', expected '%s'", text, detail, needle);
}

static void test_jsep_errors(void) {
	assert_bad_jsep("[]", "object");
	assert_bad_jsep("\"offer\"", "object");
	assert_bad_jsep("null", "object");
	assert_bad_jsep("{}", "'type'");
	assert_bad_jsep("{\"type\":\"offer\"}", "'sdp'");
	assert_bad_jsep("{\"type\":\"offer\",\"sdp\":null}", "'sdp'");
	assert_bad_jsep("{\"type\":\"offer\",\"sdp\":\"\"}", "'sdp'");
	assert_bad_jsep("{\"type\":\"offer\",\"sdp\":42}", "'sdp'");
	assert_bad_jsep("{\"type\":\"offer\",\"sdp\":\"v=0\\u0000\"}", "NUL");
	assert_bad_jsep("{\"sdp\":\"v=0\"}", "'type'");
	assert_bad_jsep("{\"type\":null,\"sdp\":\"v=0\"}", "'type'");
	assert_bad_jsep("{\"type\":1,\"sdp\":\"v=0\"}", "'type'");
	assert_bad_jsep("{\"type\":\"Offer\",\"sdp\":\"v=0\"}", "offer");
	assert_bad_jsep("{\"type\":\"ANSWER\",\"sdp\":\"v=0\"}", "answer");
	assert_bad_jsep("{\"type\":\"pranswer\",\"sdp\":\"v=0\"}", "offer");
	assert_bad_jsep("{\"type\":\"rollback\",\"sdp\":\"v=0\"}", "offer");
	assert_bad_jsep("{\"type\":\"\",\"sdp\":\"v=0\"}", "'type'");
	assert_bad_jsep("{\"type\":\"offer\\u0000\",\"sdp\":\"v=0\"}", "NUL");
	/* Oversized type and sdp: named, not echoed. */
	char *big = g_strnfill(256 * 1024 + 1, 'S');
	char *text = g_strdup_printf("{\"type\":\"offer\",\"sdp\":\"%s\"}", big);
	sfu_jsep out;
	char detail[SFU_DETAIL_LEN];
	g_assert_cmpint(jsep(text, &out, detail), ==, SFU_ERR_JSEP);
	g_assert_nonnull(strstr(detail, "'sdp'"));
	g_assert_null(strstr(detail, "SSSS"));
	g_free(text);
	g_free(big);
	text = g_strdup_printf("{\"type\":\"%s\",\"sdp\":\"v=0\"}", "offerofferofferofferoffer");
	g_assert_cmpint(jsep(text, &out, detail), ==, SFU_ERR_JSEP);
	g_assert_nonnull(strstr(detail, "'type'"));
	g_assert_null(strstr(detail, "offeroffer"));
	g_free(text);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/request/none", test_none);
	g_test_add_func("/request/join/valid", test_join_valid);
	g_test_add_func("/request/other-kinds/valid", test_other_kinds_valid);
	g_test_add_func("/request/kind-names", test_kind_names);
	g_test_add_func("/request/mute", test_mute);
	g_test_add_func("/request/errors/body-shape", test_body_shape);
	g_test_add_func("/request/errors/wrong-types", test_wrong_types);
	g_test_add_func("/request/errors/subscription-types", test_subscription_types);
	g_test_add_func("/request/errors/missing-required", test_missing_required);
	g_test_add_func("/request/errors/empty-ids", test_empty_ids);
	g_test_add_func("/request/errors/oversized", test_oversized);
	g_test_add_func("/request/errors/embedded-nul", test_embedded_nul);
	g_test_add_func("/request/errors/detail-bounds", test_detail_buffer_bounds);
	g_test_add_func("/request/jsep/valid", test_jsep_valid);
	g_test_add_func("/request/jsep/errors", test_jsep_errors);
	return g_test_run();
}
