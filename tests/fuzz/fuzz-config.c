/*! \file    fuzz-config.c
 * \brief    libFuzzer target: configuration text -> sfu_config_parse (both formats)
 * \details  The first byte selects the format: odd = legacy INI (.cfg), even = libconfig (.jcfg); the
 * rest is the file's text (NUL-terminated copy). Seeds start with 'I' (0x49) or 'J' (0x4a). Checked on
 * every input:
 *   - exactly one of a config and an error comes back; the error is SFU_CONFIG_ERROR, one line, and names
 *     the file first;
 *   - an accepted config has the format's provenance (source, legacy), at least one algorithm, and every
 *     number within the bounds the loader documents; sfu_config_describe() works on it;
 *   - parsing is deterministic (a second parse gives the same description or the same error).
 * libconfig's @include directive reads other files: such inputs are skipped (a configuration file is the
 * operator's, and the fuzzer must not read the machine's files). Replayed without libFuzzer by
 * standalone-main.c (tests/fuzz/replay-config.sh).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "sfu_config.h"

#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                          \
	do {                                                                                                     \
		if(!(cond))                                                                                          \
			abort();                                                                                         \
	} while(0)

static void check_config(const sfu_config *c, gboolean is_ini, const char *origin) {
	CHECK(c->source != NULL && strcmp(c->source, origin) == 0);
	CHECK(c->legacy == is_ini);
	CHECK(c->algorithms != NULL && c->algorithms[0] != NULL);
	for(char **a = c->algorithms; *a != NULL; a++)
		CHECK(**a != '\0');
	CHECK(c->max_room_size <= 1000000 && c->max_ccu <= 100000000 && c->message_threads <= 256);
	CHECK(c->clock_leeway_s <= 600 && c->expiry_warning_s <= 86400 && c->expiry_grace_s <= 86400);
	CHECK(c->kick_ban_s <= 30 * 86400);
	CHECK(c->max_blocks_per_user >= 1 && c->max_blocks_per_user <= 100000);
	CHECK(c->max_bans >= 1 && c->max_bans <= 10000000);
	CHECK(c->max_jti_claims >= 1 && c->max_jti_claims <= 100000000);
	CHECK(c->max_queued_requests >= 1 && c->max_queued_requests <= 100000);
	CHECK(c->on_token_expiry == SFU_EXPIRY_EJECT || c->on_token_expiry == SFU_EXPIRY_KEEP);
	CHECK(c->auth_key == NULL || c->auth_key[0] != '\0');
	CHECK(c->auth_keys == NULL || c->auth_keys[0] != '\0');
}

/* Parse \p text; @returns the description of the config or the error message (new string). */
static char *parse_once(const char *text, gboolean is_ini, const char *origin) {
	GError *error = NULL;
	sfu_config *cfg = sfu_config_parse(text, is_ini, origin, &error);
	CHECK((cfg == NULL) != (error == NULL));
	if(cfg == NULL) {
		CHECK(error->domain == SFU_CONFIG_ERROR);
		CHECK(error->message != NULL && g_str_has_prefix(error->message, origin));
		CHECK(strchr(error->message, '\n') == NULL);
		char *msg = g_strdup(error->message);
		g_error_free(error);
		return msg;
	}
	check_config(cfg, is_ini, origin);
	char *described = sfu_config_describe(cfg);
	CHECK(described != NULL && strstr(described, origin) != NULL);
	sfu_config_free(cfg);
	return described;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	if(size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	gboolean is_ini = (data[0] & 1) != 0;
	char *text = g_strndup((const char *)data + 1, size - 1);
	if(!is_ini && strstr(text, "@include") != NULL) {
		g_free(text);
		return 0;
	}
	const char *origin = is_ini ? "fuzz.cfg" : "fuzz.jcfg";
	char *first = parse_once(text, is_ini, origin);
	char *second = parse_once(text, is_ini, origin);
	CHECK(strcmp(first, second) == 0);
	g_free(first);
	g_free(second);
	g_free(text);
	return 0;
}
