/*! \file    test-errors.c
 * \brief    Unit tests for sfu_errors: every row has a name and reason, and the
 *           legacy messages are exactly those of Mozilla's janus-plugin-sfu
 *           (/work/shared/reference/janus-plugin-sfu-protocol.md, Appendix A).
 */
#include <string.h>
#include <glib.h>

#include "sfu_errors.h"

#define PARSE_MSG "data did not match any variant of untagged enum OptionalField"

/* The exact Appendix A strings, by the error that must carry them. */
static const struct {
	sfu_err err;
	const char *msg;
} legacy[] = {
	{SFU_ERR_PARSE, PARSE_MSG},
	{SFU_ERR_JSEP, PARSE_MSG},
	{SFU_ERR_JOIN_ANONYMOUS, "Rejecting anonymous join!"},
	{SFU_ERR_JOIN_FORBIDDEN, "Rejecting join without permission!"},
	{SFU_ERR_JOIN_INVALID_TOKEN, "Rejecting join with invalid token!"},
	{SFU_ERR_ROOM_FULL, "Room is full."},
	{SFU_ERR_SERVER_FULL, "Server is full."},
	{SFU_ERR_ALREADY_JOINED, "Handles may only join once!"},
	{SFU_ERR_HANDLE_SUBSCRIBED, "Handles may only subscribe once!"},
	{SFU_ERR_NO_PUBLISHER, "Can't subscribe to a nonexistent publisher."},
	{SFU_ERR_USER_SUBSCRIBED, "Users may only subscribe once!"},
	{SFU_ERR_BLOCK_NOT_JOINED, "Cannot block when not in a room."},
	{SFU_ERR_UNBLOCK_NOT_JOINED, "Cannot unblock when not in a room."},
	{SFU_ERR_DATA_NOT_JOINED, "Cannot send data when not in a room."},
	/* fork PR #6 (subscribe with a token) */
	{SFU_ERR_SUB_ANONYMOUS, "Rejecting anonymous subscription!"},
	{SFU_ERR_SUB_INVALID_TOKEN, "Rejecting subscription with invalid token!"},
	{SFU_ERR_SUB_FORBIDDEN, "Rejecting subscription without permission!"},
	{SFU_ERR_SUB_NOT_IN_ROOM, "Cannot subscribe to a publisher not in a room."},
};

static gboolean is_snake_case(const char *s) {
	if(*s == '\0')
		return FALSE;
	for(; *s != '\0'; s++) {
		if(!g_ascii_islower(*s) && *s != '_')
			return FALSE;
	}
	return TRUE;
}

static void test_every_row_described(void) {
	for(int e = 0; e < SFU_ERR__COUNT; e++) {
		const char *reason = sfu_error_reason(e), *name = sfu_error_name(e), *msg = sfu_error_msg(e);
		g_assert_nonnull(reason);
		g_assert_nonnull(name);
		g_assert_nonnull(msg);
		g_assert_true(is_snake_case(reason));
		g_assert_true(g_str_has_prefix(name, "SFU_"));
		if(e == SFU_OK) {
			g_assert_cmpstr(name, ==, "SFU_OK");
			g_assert_cmpstr(msg, ==, "");
		} else {
			g_assert_true(g_str_has_prefix(name, "SFU_ERR_"));
			g_assert_cmpuint(strlen(msg), >, 0);
			/* One line each, no trailing whitespace: clients and logs match on them. */
			g_assert_null(strchr(msg, '\n'));
			g_assert_false(g_ascii_isspace(msg[strlen(msg) - 1]));
		}
	}
}

static void test_names_unique(void) {
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	for(int e = 0; e < SFU_ERR__COUNT; e++) {
		g_assert_false(g_hash_table_contains(seen, sfu_error_name(e)));
		g_hash_table_add(seen, (gpointer)sfu_error_name(e));
	}
	g_hash_table_destroy(seen);
}

static void test_legacy_messages(void) {
	for(size_t i = 0; i < G_N_ELEMENTS(legacy); i++)
		g_assert_cmpstr(sfu_error_msg(legacy[i].err), ==, legacy[i].msg);
	g_assert_cmpstr(SFU_PARSE_MSG, ==, PARSE_MSG);
	/* Every parse-class failure says the same thing on the wire, as upstream. */
	g_assert_cmpstr(sfu_error_msg(SFU_ERR_SDP), ==, PARSE_MSG);
}

static void test_reasons_tell_kinds_apart(void) {
	g_assert_cmpstr(sfu_error_reason(SFU_ERR_PARSE), ==, "invalid_request");
	g_assert_cmpstr(sfu_error_reason(SFU_ERR_JSEP), ==, "invalid_jsep");
	g_assert_cmpstr(sfu_error_reason(SFU_ERR_JOIN_ANONYMOUS), ==, "missing_token");
	g_assert_cmpstr(sfu_error_reason(SFU_ERR_JOIN_INVALID_TOKEN), ==, "invalid_token");
	g_assert_cmpstr(sfu_error_reason(SFU_ERR_ROOM_FULL), ==, "room_full");
	g_assert_cmpstr(sfu_error_reason(SFU_ERR_INTERNAL), ==, "internal_error");
	g_assert_cmpstr(sfu_error_name(SFU_ERR_ROOM_FULL), ==, "SFU_ERR_ROOM_FULL");
}

static void test_out_of_range(void) {
	const int bad[] = {SFU_ERR__COUNT, SFU_ERR__COUNT + 1, 1000, -1, G_MININT, G_MAXINT};
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		sfu_err e = (sfu_err)bad[i];
		g_assert_cmpstr(sfu_error_name(e), ==, "SFU_ERR_UNKNOWN");
		g_assert_cmpstr(sfu_error_msg(e), ==, sfu_error_msg(SFU_ERR_INTERNAL));
		g_assert_cmpstr(sfu_error_reason(e), ==, sfu_error_reason(SFU_ERR_INTERNAL));
	}
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/errors/every-row-described", test_every_row_described);
	g_test_add_func("/errors/names-unique", test_names_unique);
	g_test_add_func("/errors/legacy-messages", test_legacy_messages);
	g_test_add_func("/errors/reasons", test_reasons_tell_kinds_apart);
	g_test_add_func("/errors/out-of-range", test_out_of_range);
	return g_test_run();
}
