/*! \file    test-config.c
 * \brief    Unit tests for sfu_config: .jcfg and legacy INI, every key's valid
 *           and invalid values, unknown keys, and file selection in sfu_config_load.
 */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "sfu_config.h"
#include "support/janus-stubs.h"

/* =============================================================================
 * Helpers
 * ==========================================================================*/

/* Parse one `key = value` inside `general: { }` (.jcfg) and return the config (or NULL + error). */
static sfu_config *jcfg(const char *body, GError **error) {
	char *text = g_strdup_printf("general: {\n%s\n}\n", body);
	sfu_config *cfg = sfu_config_parse(text, FALSE, "test.jcfg", error);
	g_free(text);
	return cfg;
}

static sfu_config *ini(const char *body, GError **error) {
	char *text = g_strdup_printf("[general]\n%s\n", body);
	sfu_config *cfg = sfu_config_parse(text, TRUE, "test.cfg", error);
	g_free(text);
	return cfg;
}

static void assert_defaults(const sfu_config *cfg) {
	g_assert_cmpuint(cfg->max_room_size, ==, 0);
	g_assert_cmpuint(cfg->max_ccu, ==, 0);
	g_assert_cmpuint(cfg->message_threads, ==, 0);
	g_assert_null(cfg->auth_key);
	g_assert_null(cfg->auth_keys);
	g_assert_nonnull(cfg->algorithms);
	g_assert_cmpstr(cfg->algorithms[0], ==, "RS512");
	g_assert_null(cfg->algorithms[1]);
	g_assert_null(cfg->audience);
	g_assert_null(cfg->issuer);
	g_assert_cmpuint(cfg->clock_leeway_s, ==, 60);
	g_assert_false(cfg->require_user_binding);
	g_assert_cmpuint(cfg->expiry_warning_s, ==, 60);
	g_assert_cmpuint(cfg->expiry_grace_s, ==, 0);
	g_assert_false(cfg->one_user_per_jti);
	g_assert_false(cfg->sub_identifies_user);
	g_assert_true(cfg->events);
	g_assert_cmpuint(cfg->max_blocks_per_user, ==, 1000);
	g_assert_cmpuint(cfg->max_bans, ==, 100000);
	g_assert_cmpuint(cfg->max_jti_claims, ==, 1000000);
	g_assert_cmpuint(cfg->max_queued_requests, ==, 64);
	if(cfg->legacy) {
		/* The drop-in rule: a legacy .cfg keeps the old plugin's behaviour for what it does not set. */
		g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_KEEP);
		g_assert_cmpuint(cfg->kick_ban_s, ==, 0);
		g_assert_false(cfg->replace_stale_sessions);
	} else {
		g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_EJECT);
		g_assert_cmpuint(cfg->kick_ban_s, ==, 3600);
		g_assert_true(cfg->replace_stale_sessions);
	}
}

/* A present-but-invalid value must fail, with a message naming the key, in both formats. */
static void assert_rejected(const char *key, const char *jcfg_value, const char *ini_value) {
	for(int format = 0; format < 2; format++) {
		const char *value = format ? ini_value : jcfg_value;
		if(value == NULL)
			continue;
		char *line = g_strdup_printf(format ? "%s = %s" : "%s = %s;", key, value);
		GError *error = NULL;
		sfu_config *cfg = format ? ini(line, &error) : jcfg(line, &error);
		if(cfg != NULL)
			g_test_message("accepted %s: %s", format ? "ini" : "jcfg", line);
		g_assert_null(cfg);
		g_assert_nonnull(error);
		g_assert_true(error->domain == SFU_CONFIG_ERROR);
		g_assert_true(error->code == SFU_CONFIG_ERROR_VALUE || error->code == SFU_CONFIG_ERROR_TYPE);
		char *quoted = g_strdup_printf("'%s'", key);
		g_assert_nonnull(strstr(error->message, quoted));
		g_assert_nonnull(strstr(error->message, format ? "test.cfg" : "test.jcfg"));
		g_free(quoted);
		g_error_free(error);
		g_free(line);
	}
}

static sfu_config *accepted(gboolean is_ini, const char *line) {
	GError *error = NULL;
	sfu_config *cfg = is_ini ? ini(line, &error) : jcfg(line, &error);
	if(error != NULL)
		g_test_message("rejected: %s: %s", line, error->message);
	g_assert_no_error(error);
	g_assert_nonnull(cfg);
	return cfg;
}

/* =============================================================================
 * Defaults and formats
 * ==========================================================================*/

static void test_defaults(void) {
	sfu_config *cfg = sfu_config_new_defaults();
	assert_defaults(cfg);
	g_assert_null(cfg->source);
	g_assert_false(cfg->legacy);
	sfu_config_free(cfg);
	sfu_config_free(NULL);
	/* An empty general group is all defaults (and authentication off: the operator asked for it). An empty
	 * or comments-only file is a mistake (operator review: it used to run the plugin open). */
	const char *empties[] = {"", "# nothing at all\n", "  \n"};
	for(size_t i = 0; i < G_N_ELEMENTS(empties); i++) {
		GError *error = NULL;
		g_assert_null(sfu_config_parse(empties[i], FALSE, "x.jcfg", &error));
		g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING);
		g_clear_error(&error);
		g_assert_null(sfu_config_parse(empties[i], TRUE, "x.cfg", &error));
		g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING);
		g_assert_nonnull(strstr(error->message, "[general]"));
		g_clear_error(&error);
	}
	const char *texts[] = {"general: {}", "# nothing\ngeneral: {\n}\n"};
	for(size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		GError *error = NULL;
		cfg = sfu_config_parse(texts[i], FALSE, "x.jcfg", &error);
		g_assert_no_error(error);
		assert_defaults(cfg);
		g_assert_cmpstr(cfg->source, ==, "x.jcfg");
		sfu_config_free(cfg);
	}
	const char *inis[] = {"[general]\n", "; a comment\n[general]\n"};
	for(size_t i = 0; i < G_N_ELEMENTS(inis); i++) {
		GError *error = NULL;
		cfg = sfu_config_parse(inis[i], TRUE, "x.cfg", &error);
		g_assert_no_error(error);
		g_assert_true(cfg->legacy);
		assert_defaults(cfg);
		sfu_config_free(cfg);
	}
}

static void test_jcfg_full(void) {
	const char *text = "# Janus style\n"
					   "general: {\n"
					   "\tmax_room_size = 12\n"
					   "\tmax_ccu: 1000;\n"
					   "\tmessage_threads = 4\n"
					   "\tauth_key = \"/etc/janus/key.der\"\n"
					   "\tauth_keys = \"/etc/janus/keys.json\"\n"
					   "\talgorithms = [\"RS512\", \"PS512\"]\n"
					   "\taudience = \"hubs\"\n"
					   "\tissuer = \"https://issuer.example\"\n"
					   "\tclock_leeway_s = 30\n"
					   "\trequire_user_binding = true\n"
					   "\texpiry_warning_s = \"120\"\n"
					   "\texpiry_grace_s = 5\n"
					   "\ton_token_expiry = \"keep\"\n"
					   "\tkick_ban_s = 60\n"
					   "\treplace_stale_sessions = false\n"
					   "\tone_user_per_jti = \"yes\"\n"
					   "\tevents = false\n"
					   "\tsub_identifies_user = true\n"
					   "\tmax_blocks_per_user = 10\n"
					   "\tmax_bans = 20\n"
					   "\tmax_jti_claims = 30\n"
					   "\tmax_queued_requests = 40\n"
					   "}\n";
	GError *error = NULL;
	sfu_config *cfg = sfu_config_parse(text, FALSE, "full.jcfg", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_room_size, ==, 12);
	g_assert_cmpuint(cfg->max_ccu, ==, 1000);
	g_assert_cmpuint(cfg->message_threads, ==, 4);
	g_assert_cmpstr(cfg->auth_key, ==, "/etc/janus/key.der");
	g_assert_cmpstr(cfg->auth_keys, ==, "/etc/janus/keys.json");
	g_assert_cmpstr(cfg->algorithms[0], ==, "RS512");
	g_assert_cmpstr(cfg->algorithms[1], ==, "PS512");
	g_assert_null(cfg->algorithms[2]);
	g_assert_cmpstr(cfg->audience, ==, "hubs");
	g_assert_cmpstr(cfg->issuer, ==, "https://issuer.example");
	g_assert_cmpuint(cfg->clock_leeway_s, ==, 30);
	g_assert_true(cfg->require_user_binding);
	g_assert_cmpuint(cfg->expiry_warning_s, ==, 120);
	g_assert_cmpuint(cfg->expiry_grace_s, ==, 5);
	g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_KEEP);
	g_assert_cmpuint(cfg->kick_ban_s, ==, 60);
	g_assert_false(cfg->replace_stale_sessions);
	g_assert_true(cfg->one_user_per_jti);
	g_assert_false(cfg->events);
	g_assert_true(cfg->sub_identifies_user);
	g_assert_cmpuint(cfg->max_blocks_per_user, ==, 10);
	g_assert_cmpuint(cfg->max_bans, ==, 20);
	g_assert_cmpuint(cfg->max_jti_claims, ==, 30);
	g_assert_cmpuint(cfg->max_queued_requests, ==, 40);
	g_assert_cmpstr(cfg->source, ==, "full.jcfg");
	sfu_config_free(cfg);
}

static void test_jcfg_syntax_error(void) {
	GError *error = NULL;
	sfu_config *cfg = sfu_config_parse("general: { max_ccu = ", FALSE, "broken.jcfg", &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, 2);
	g_assert_nonnull(strstr(error->message, "broken.jcfg"));
	g_error_free(error);
}

static void test_ini_full(void) {
	const char *text = "; Mozilla plugin style\n"
					   "# another comment\n"
					   "[general]\n"
					   "max_room_size = 24\n"
					   "max_ccu: 500\n"
					   "auth_key = \"key.der\"\n"
					   "audience = 'quoted ; not a comment'\n"
					   "issuer = iss.example ; inline comment\n"
					   "message_threads = 2 # inline comment\n"
					   "kick_ban_s = 10\n"
					   "kick_ban_s = 20\n"
					   "algorithms = RS512, RS256\n"
					   "  on_token_expiry   =   keep   \r\n"
					   "[general]\n"
					   "expiry_grace_s = 3\n";
	GError *error = NULL;
	sfu_config *cfg = sfu_config_parse(text, TRUE, "legacy.cfg", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_room_size, ==, 24);
	g_assert_cmpuint(cfg->max_ccu, ==, 500);
	g_assert_cmpstr(cfg->auth_key, ==, "key.der");
	g_assert_cmpstr(cfg->audience, ==, "quoted ; not a comment");
	g_assert_cmpstr(cfg->issuer, ==, "iss.example");
	g_assert_cmpuint(cfg->message_threads, ==, 2);
	g_assert_cmpuint(cfg->kick_ban_s, ==, 20); /* last duplicate wins */
	g_assert_cmpstr(cfg->algorithms[0], ==, "RS512");
	g_assert_cmpstr(cfg->algorithms[1], ==, "RS256");
	g_assert_null(cfg->algorithms[2]);
	g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_KEEP);
	g_assert_cmpstr(cfg->source, ==, "legacy.cfg");
	sfu_config_free(cfg);
}

static void test_ini_quotes_and_comments(void) {
	sfu_config *cfg = accepted(TRUE, "max_ccu = \"7\"");
	g_assert_cmpuint(cfg->max_ccu, ==, 7);
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "max_ccu = '8'");
	g_assert_cmpuint(cfg->max_ccu, ==, 8);
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "max_ccu = 9;10");
	g_assert_cmpuint(cfg->max_ccu, ==, 9);
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "max_ccu = 11#12");
	g_assert_cmpuint(cfg->max_ccu, ==, 11);
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "auth_key = \"with # hash.der\" ; comment");
	g_assert_cmpstr(cfg->auth_key, ==, "with # hash.der");
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "; max_ccu = 3\n# max_room_size = 4");
	assert_defaults(cfg);
	sfu_config_free(cfg);
	/* A line without separator is a mistake (fail closed), named by its line. */
	GError *error = NULL;
	g_assert_null(ini("max_ccu\nmax_room_size = 5", &error));
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_SYNTAX);
	g_assert_nonnull(strstr(error->message, "test.cfg:2"));
	g_clear_error(&error);
}

/* Expect \p text (format \p is_ini) to be refused with \p code, the message holding every one of \p needles. */
static void assert_mistake(gboolean is_ini, const char *text, int code, const char *const *needles) {
	GError *error = NULL;
	sfu_config *cfg = sfu_config_parse(text, is_ini, is_ini ? "m.cfg" : "m.jcfg", &error);
	if(cfg != NULL)
		g_test_message("accepted: %s", text);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, code);
	g_assert_nonnull(strstr(error->message, is_ini ? "m.cfg" : "m.jcfg"));
	for(const char *const *n = needles; *n != NULL; n++) {
		if(strstr(error->message, *n) == NULL)
			g_test_message("'%s' not in: %s", *n, error->message);
		g_assert_nonnull(strstr(error->message, *n));
	}
	g_error_free(error);
}

static void test_ini_sections(void) {
	/* Sections may come back; only [general] exists. */
	GError *error = NULL;
	sfu_config *cfg =
		sfu_config_parse("[general]\nmax_room_size = 2\n[general]\nkick_ban_s = 1\n", TRUE, "s.cfg", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_room_size, ==, 2);
	g_assert_cmpuint(cfg->kick_ban_s, ==, 1);
	sfu_config_free(cfg);
	/* rust-ini reads on after ']': a key on the section's line is a setting of that section, never dropped
	 * (dropping auth_key would run the plugin open). A comment there is a comment; anything else a mistake. */
	cfg = sfu_config_parse("[general] auth_key = \"k.der\"\nmax_ccu = 2\n", TRUE, "s.cfg", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cfg->auth_key, ==, "k.der");
	g_assert_cmpuint(cfg->max_ccu, ==, 2);
	sfu_config_free(cfg);
	cfg = sfu_config_parse("[general] ; the plugin's section\nmax_ccu = 3\n", TRUE, "s.cfg", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_ccu, ==, 3);
	sfu_config_free(cfg);
	assert_mistake(TRUE, "[general] auth_key\n", SFU_CONFIG_ERROR_SYNTAX, (const char *[]){"m.cfg:1", NULL});
	const char *misplaced[] = {"'auth-key'", "did you mean 'auth_key'?", "m.cfg:1", NULL};
	assert_mistake(TRUE, "[general]auth-key=k.der\n", SFU_CONFIG_ERROR_UNKNOWN, misplaced);
	/* A misnamed section (case counts), another section, or keys before any section stop the plugin. */
	const char *general[] = {"'General'", "did you mean 'general'?", NULL};
	assert_mistake(TRUE, "[General]\nauth_key = k.der\n", SFU_CONFIG_ERROR_UNKNOWN, general);
	const char *other[] = {"'x'", "m.cfg:3", NULL};
	assert_mistake(TRUE, "[general]\nmax_ccu = 1\n[x]\nmax_ccu = 2\n", SFU_CONFIG_ERROR_UNKNOWN, other);
	const char *outside[] = {"'auth_key'", "outside its group", "m.cfg:1", NULL};
	assert_mistake(TRUE, "auth_key = k.der\n[general]\n", SFU_CONFIG_ERROR_PLACE, outside);
	assert_mistake(
		TRUE, "[general\nauth_key = k.der\n", SFU_CONFIG_ERROR_SYNTAX, (const char *[]){"m.cfg:1", NULL});
}

/* Issue 9: every configuration mistake that used to run the plugin open now stops it, with "did you mean". */
static void test_mistakes_fail_closed(void) {
	/* A misspelt key, in both formats. */
	const char *dash[] = {"'auth-key'", "did you mean 'auth_key'?", NULL};
	assert_mistake(FALSE, "general: { auth-key = \"k.der\" }", SFU_CONFIG_ERROR_UNKNOWN, dash);
	assert_mistake(TRUE, "[general]\nauth-key = k.der\n", SFU_CONFIG_ERROR_UNKNOWN, dash);
	const char *typo[] = {"'max_room_sise'", "did you mean 'max_room_size'?", "m.jcfg:1", NULL};
	assert_mistake(FALSE, "general: { max_room_sise = 3 }", SFU_CONFIG_ERROR_UNKNOWN, typo);
	const char *upper[] = {"'Auth_Key'", "did you mean 'auth_key'?", NULL};
	assert_mistake(FALSE, "general: { Auth_Key = \"k.der\" }", SFU_CONFIG_ERROR_UNKNOWN, upper);
	/* Far from any name: no suggestion, but still refused. */
	const char *far[] = {"'frobnicate'", NULL};
	assert_mistake(FALSE, "general: { frobnicate = 1 }", SFU_CONFIG_ERROR_UNKNOWN, far);
	/* A group named General, or any other group. */
	const char *general[] = {"'General'", "did you mean 'general'?", NULL};
	assert_mistake(FALSE, "General: { auth_key = \"k.der\" }", SFU_CONFIG_ERROR_UNKNOWN, general);
	const char *other[] = {"'plugin'", NULL};
	assert_mistake(FALSE, "general: {}\nplugin: { max_ccu = 1 }", SFU_CONFIG_ERROR_UNKNOWN, other);
	/* A key outside its group. */
	const char *outside[] = {"'auth_key'", "outside its group", "general: { ... }", NULL};
	assert_mistake(FALSE, "auth_key = \"k.der\"\ngeneral: {}", SFU_CONFIG_ERROR_PLACE, outside);
	/* A value of the wrong type, named with what was expected and what was given. */
	const char *num[] = {"'auth_key'", "expected a non-empty string", "got a number", NULL};
	assert_mistake(FALSE, "general: { auth_key = 5 }", SFU_CONFIG_ERROR_TYPE, num);
	const char *flag[] = {"'kick_ban_s'", "got a boolean", NULL};
	assert_mistake(FALSE, "general: { kick_ban_s = true }", SFU_CONFIG_ERROR_TYPE, flag);
	const char *group[] = {"'auth_key'", "got a group", NULL};
	assert_mistake(FALSE, "general: { auth_key = { path = \"k.der\" } }", SFU_CONFIG_ERROR_TYPE, group);
	const char *list[] = {"'max_ccu'", "got a list", NULL};
	assert_mistake(FALSE, "general: { max_ccu = [1] }", SFU_CONFIG_ERROR_TYPE, list);
	/* Bounds are part of the message. */
	const char *bound[] = {"'max_bans'", "from 1 to", NULL};
	assert_mistake(FALSE, "general: { max_bans = 0 }", SFU_CONFIG_ERROR_VALUE, bound);
}

/* The drop-in rule: a legacy .cfg keeps the old plugin's behaviour unless it sets the new keys itself. */
static void test_legacy_defaults(void) {
	sfu_config *cfg = accepted(TRUE, "auth_key = k.der\nmax_room_size = 30");
	g_assert_true(cfg->legacy);
	g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_KEEP);
	g_assert_cmpuint(cfg->kick_ban_s, ==, 0);
	g_assert_false(cfg->replace_stale_sessions);
	g_assert_cmpuint(cfg->clock_leeway_s, ==, 60);
	char *policy = sfu_config_describe(cfg);
	g_assert_nonnull(strstr(policy, "legacy"));
	g_assert_nonnull(strstr(policy, "expiry: keep"));
	g_assert_nonnull(strstr(policy, "kick bans off"));
	g_assert_nonnull(strstr(policy, "leeway 60 s"));
	g_free(policy);
	g_assert_false(cfg->bind_user_id); /* the old plugin ignored the user_id claim */
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "auth_key = k.der\nrequire_user_binding = true");
	g_assert_true(cfg->bind_user_id); /* requiring the claim means using it */
	sfu_config_free(cfg);
	GError *error = NULL;
	g_assert_null(ini("auth_key = k.der\nrequire_user_binding = true\nbind_user_id = false", &error));
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE);
	g_clear_error(&error);
	cfg = accepted(
		TRUE, "auth_key = k.der\non_token_expiry = eject\nkick_ban_s = 600\nreplace_stale_sessions = yes");
	g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_EJECT);
	g_assert_cmpuint(cfg->kick_ban_s, ==, 600);
	g_assert_true(cfg->replace_stale_sessions);
	sfu_config_free(cfg);
	/* A .jcfg gets the new defaults. */
	cfg = accepted(FALSE, "auth_key = \"k.der\";");
	g_assert_false(cfg->legacy);
	g_assert_true(cfg->bind_user_id);
	policy = sfu_config_describe(cfg);
	g_assert_nonnull(strstr(policy, "auth on"));
	g_assert_nonnull(strstr(policy, "expiry: eject at exp + 60 s"));
	g_assert_nonnull(strstr(policy, "kick bans 3600 s by user_id"));
	g_free(policy);
	sfu_config_free(cfg);
	/* Whatever decides whether a token is accepted is on the line: every algorithm, the JWKS, aud, iss, binding. */
	cfg = accepted(FALSE, "auth_keys = \"keys.json\"; algorithms = \"RS512 PS512\"; audience = \"sfu\"; "
						  "issuer = \"https://i.example\"; require_user_binding = true;");
	policy = sfu_config_describe(cfg);
	g_assert_nonnull(
		strstr(policy, "auth on (auth_keys keys.json (JWKS), RS512,PS512, audience \"sfu\", issuer "
					   "\"https://i.example\", user_id claim required)"));
	g_free(policy);
	sfu_config_free(cfg);
	cfg = accepted(FALSE, "max_ccu = 3;");
	policy = sfu_config_describe(cfg);
	g_assert_nonnull(strstr(policy, "auth OFF"));
	g_free(policy);
	sfu_config_free(cfg);
}

/* =============================================================================
 * Every key: valid and invalid values
 * ==========================================================================*/

typedef struct uint_key {
	const char *name;
	size_t offset;
	guint max;
} uint_key;

static const uint_key uint_keys[] = {
	{"max_room_size", G_STRUCT_OFFSET(sfu_config, max_room_size), 1000000},
	{"max_ccu", G_STRUCT_OFFSET(sfu_config, max_ccu), 100000000},
	{"message_threads", G_STRUCT_OFFSET(sfu_config, message_threads), 256},
	{"clock_leeway_s", G_STRUCT_OFFSET(sfu_config, clock_leeway_s), 600},
	{"expiry_warning_s", G_STRUCT_OFFSET(sfu_config, expiry_warning_s), 86400},
	{"expiry_grace_s", G_STRUCT_OFFSET(sfu_config, expiry_grace_s), 86400},
	{"kick_ban_s", G_STRUCT_OFFSET(sfu_config, kick_ban_s), 30 * 86400},
};

static void test_uint_keys(void) {
	for(size_t i = 0; i < G_N_ELEMENTS(uint_keys); i++) {
		const uint_key *k = &uint_keys[i];
		for(int is_ini = 0; is_ini < 2; is_ini++) {
			const guint values[] = {0, 1, k->max};
			for(size_t v = 0; v < G_N_ELEMENTS(values); v++) {
				char *line = g_strdup_printf(is_ini ? "%s = %u" : "%s = %u;", k->name, values[v]);
				sfu_config *cfg = accepted(is_ini, line);
				g_assert_cmpuint(G_STRUCT_MEMBER(guint, cfg, k->offset), ==, values[v]);
				sfu_config_free(cfg);
				g_free(line);
			}
			/* Numbers given as strings are fine in .jcfg too (Janus accepts both). */
			char *line = g_strdup_printf(is_ini ? "%s = \"%u\"" : "%s = \"%u\";", k->name, k->max);
			sfu_config *cfg = accepted(is_ini, line);
			g_assert_cmpuint(G_STRUCT_MEMBER(guint, cfg, k->offset), ==, k->max);
			sfu_config_free(cfg);
			g_free(line);
		}
		char *over = g_strdup_printf("%u", k->max + 1);
		char *over_quoted = g_strdup_printf("\"%u\"", k->max + 1);
		assert_rejected(k->name, over, over);
		assert_rejected(k->name, over_quoted, over_quoted);
		g_free(over);
		g_free(over_quoted);
		assert_rejected(k->name, "-1", "-1");
		assert_rejected(k->name, "\"-5\"", "\"-5\"");
		assert_rejected(k->name, "\"abc\"", "abc");
		assert_rejected(k->name, "\"12abc\"", "12abc");
		assert_rejected(k->name, "\"\"", "\"\"");
		assert_rejected(k->name, "\" 3\"", "\" 3\"");
		assert_rejected(k->name, "\"+3\"", "+3");
		assert_rejected(k->name, "\"0x10\"", "0x10");
		assert_rejected(k->name, "1.5", "1.5");
		assert_rejected(k->name, "true", "true");
		assert_rejected(k->name, "99999999999999999999L", "99999999999999999999");
		assert_rejected(k->name, "4294967296L", "4294967296");
		assert_rejected(k->name, "[\"1\"]", NULL);
		assert_rejected(k->name, "(\"1\")", NULL);
		assert_rejected(k->name, "{ v = 1; }", NULL);
		assert_rejected(k->name, NULL, "");
	}
}

static const struct {
	const char *name;
	size_t offset;
} bool_keys[] = {
	{"require_user_binding", G_STRUCT_OFFSET(sfu_config, require_user_binding)},
	{"replace_stale_sessions", G_STRUCT_OFFSET(sfu_config, replace_stale_sessions)},
	{"one_user_per_jti", G_STRUCT_OFFSET(sfu_config, one_user_per_jti)},
	{"events", G_STRUCT_OFFSET(sfu_config, events)},
};

static void test_bool_keys(void) {
	const struct {
		const char *jcfg, *ini;
		gboolean value;
	} good[] = {
		{"true", "true", TRUE},
		{"false", "false", FALSE},
		{"\"yes\"", "yes", TRUE},
		{"\"no\"", "no", FALSE},
		{"\"TRUE\"", "True", TRUE},
		{"\"False\"", "FALSE", FALSE},
		{"\"1\"", "1", TRUE},
		{"\"0\"", "0", FALSE},
		{"1", "\"1\"", TRUE},
		{"0", "'0'", FALSE},
	};
	for(size_t i = 0; i < G_N_ELEMENTS(bool_keys); i++) {
		for(size_t g = 0; g < G_N_ELEMENTS(good); g++) {
			for(int is_ini = 0; is_ini < 2; is_ini++) {
				char *line = g_strdup_printf(
					is_ini ? "%s = %s" : "%s = %s;", bool_keys[i].name, is_ini ? good[g].ini : good[g].jcfg);
				sfu_config *cfg = accepted(is_ini, line);
				g_assert_cmpint(G_STRUCT_MEMBER(gboolean, cfg, bool_keys[i].offset), ==, good[g].value);
				sfu_config_free(cfg);
				g_free(line);
			}
		}
		assert_rejected(bool_keys[i].name, "\"maybe\"", "maybe");
		assert_rejected(bool_keys[i].name, "2", "2");
		assert_rejected(bool_keys[i].name, "-1", "-1");
		assert_rejected(bool_keys[i].name, "\"\"", "\"\"");
		assert_rejected(bool_keys[i].name, "\"on\"", "on");
		assert_rejected(bool_keys[i].name, "1.0", "1.0");
		assert_rejected(bool_keys[i].name, NULL, "");
	}
}

static void test_string_keys(void) {
	const struct {
		const char *name;
		size_t offset;
	} keys[] = {
		{"auth_key", G_STRUCT_OFFSET(sfu_config, auth_key)},
		{"auth_keys", G_STRUCT_OFFSET(sfu_config, auth_keys)},
		{"audience", G_STRUCT_OFFSET(sfu_config, audience)},
		{"issuer", G_STRUCT_OFFSET(sfu_config, issuer)},
	};
	for(size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		for(int is_ini = 0; is_ini < 2; is_ini++) {
			char *line = g_strdup_printf(is_ini ? "%s = some value" : "%s = \"some value\";", keys[i].name);
			sfu_config *cfg = accepted(is_ini, line);
			g_assert_cmpstr(G_STRUCT_MEMBER(char *, cfg, keys[i].offset), ==, "some value");
			sfu_config_free(cfg);
			g_free(line);
		}
		assert_rejected(keys[i].name, "\"\"", "\"\"");
		assert_rejected(keys[i].name, NULL, "");
		assert_rejected(keys[i].name, NULL, "; only a comment");
		/* Neither lists, groups nor floats are strings (they used to become "a" or "?"). */
		assert_rejected(keys[i].name, "[\"a\"]", NULL);
		assert_rejected(keys[i].name, "(\"a\", \"b\")", NULL);
		assert_rejected(keys[i].name, "{ x = 1; }", NULL);
		assert_rejected(keys[i].name, "1.5", NULL);
	}
}

static void test_algorithms(void) {
	const char *ok_jcfg[] = {"\"RS512\"", "[\"RS512\"]", "[\"RS256\", \"RS384\", \"RS512\"]",
		"\"PS256,PS384\"", "(\"PS512\")", "\"RS512, RS512\""};
	for(size_t i = 0; i < G_N_ELEMENTS(ok_jcfg); i++) {
		char *line = g_strdup_printf("algorithms = %s;", ok_jcfg[i]);
		sfu_config *cfg = accepted(FALSE, line);
		g_assert_nonnull(cfg->algorithms[0]);
		sfu_config_free(cfg);
		g_free(line);
	}
	/* Duplicates collapse. */
	sfu_config *cfg = accepted(TRUE, "algorithms = RS512 RS512,RS512");
	g_assert_cmpstr(cfg->algorithms[0], ==, "RS512");
	g_assert_null(cfg->algorithms[1]);
	sfu_config_free(cfg);
	/* Bad algorithms: symmetric, none, EC, wrong case, empty, mixed with a good one. */
	assert_rejected("algorithms", "\"HS256\"", "HS256");
	assert_rejected("algorithms", "\"HS512\"", "HS512");
	assert_rejected("algorithms", "\"none\"", "none");
	assert_rejected("algorithms", "\"ES256\"", "ES256");
	assert_rejected("algorithms", "\"rs512\"", "rs512");
	assert_rejected("algorithms", "[\"RS512\", \"HS256\"]", "RS512, HS256");
	assert_rejected("algorithms", "[\"RS512\", \"none\"]", "RS512,none");
	assert_rejected("algorithms", "\"\"", "\"\"");
	assert_rejected("algorithms", "\" , \"", " , ");
	assert_rejected("algorithms", "[]", NULL);
	assert_rejected("algorithms", "[1, 2]", NULL);
	assert_rejected("algorithms", "512", "512");
}

static void test_on_token_expiry(void) {
	sfu_config *cfg = accepted(FALSE, "on_token_expiry = \"eject\";");
	g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_EJECT);
	sfu_config_free(cfg);
	cfg = accepted(TRUE, "on_token_expiry = keep");
	g_assert_cmpint(cfg->on_token_expiry, ==, SFU_EXPIRY_KEEP);
	sfu_config_free(cfg);
	const char *bad[] = {"Eject", "KEEP", "kick", "disconnect", "1", "0", "ejectx", " eject"};
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *quoted = g_strdup_printf("\"%s\"", bad[i]);
		assert_rejected("on_token_expiry", quoted, quoted);
		g_free(quoted);
	}
	assert_rejected("on_token_expiry", "true", "true");
	assert_rejected("on_token_expiry", "0", NULL);
	assert_rejected("on_token_expiry", "\"\"", "");
}

static void test_invalid_value_not_echoed(void) {
	/* Values may be secret-bearing paths: the error names the key, not the value. */
	GError *error = NULL;
	sfu_config *cfg = jcfg("max_ccu = \"s3cr3t-value\";", &error);
	g_assert_null(cfg);
	g_assert_nonnull(error);
	g_assert_null(strstr(error->message, "s3cr3t-value"));
	g_error_free(error);
}

/* =============================================================================
 * sfu_config_load: file selection and key paths
 * ==========================================================================*/

static void write_file(const char *dir, const char *name, const char *text) {
	char *path = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_free(path);
}

static void remove_dir(const char *dir) {
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while(d != NULL && (name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);
		g_assert_cmpint(g_remove(path), ==, 0);
		g_free(path);
	}
	if(d != NULL)
		g_dir_close(d);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_load(void) {
	char *dir = g_dir_make_tmp("sfu-config-XXXXXX", NULL);
	g_assert_nonnull(dir);
	GError *error = NULL;

	/* No file: refused (fail closed), naming the file that was expected. */
	sfu_config *cfg = sfu_config_load(dir, &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING);
	g_assert_nonnull(strstr(error->message, "janus.plugin.sfu.jcfg"));
	g_clear_error(&error);

	/* Only the legacy .cfg: used. */
	write_file(dir, "janus.plugin.sfu.cfg", "[general]\nmax_ccu = 3\n");
	cfg = sfu_config_load(dir, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_ccu, ==, 3);
	g_assert_true(g_str_has_suffix(cfg->source, "janus.plugin.sfu.cfg"));
	sfu_config_free(cfg);

	/* Both: refused, naming both (operator review: a .jcfg copied next to the old .cfg used to win silently and
	 * run the plugin open while the .cfg held the key). */
	write_file(dir, "janus.plugin.sfu.jcfg", "general: { max_ccu = 4 }\n");
	cfg = sfu_config_load(dir, &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_PLACE);
	g_assert_nonnull(strstr(error->message, "janus.plugin.sfu.jcfg"));
	g_assert_nonnull(strstr(error->message, "janus.plugin.sfu.cfg exist"));
	g_clear_error(&error);
	char *ini_path = g_build_filename(dir, "janus.plugin.sfu.cfg", NULL);
	g_assert_cmpint(g_remove(ini_path), ==, 0);
	g_free(ini_path);

	/* An invalid .jcfg fails. */
	write_file(dir, "janus.plugin.sfu.jcfg", "general: { max_ccu = -4 }\n");
	cfg = sfu_config_load(dir, &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE);
	g_assert_nonnull(strstr(error->message, "'max_ccu'"));
	g_assert_nonnull(strstr(error->message, "janus.plugin.sfu.jcfg"));
	g_clear_error(&error);

	/* Relative key paths: resolved against the config folder when the file is there, else kept. */
	write_file(dir, "key.der", "not really a key");
	write_file(
		dir, "janus.plugin.sfu.jcfg", "general: { auth_key = \"key.der\"; auth_keys = \"missing.json\" }\n");
	cfg = sfu_config_load(dir, &error);
	g_assert_no_error(error);
	char *expected = g_build_filename(dir, "key.der", NULL);
	g_assert_cmpstr(cfg->auth_key, ==, expected);
	g_assert_cmpstr(cfg->auth_keys, ==, "missing.json");
	g_free(expected);
	sfu_config_free(cfg);

	/* Absolute paths are kept as they are. */
	write_file(dir, "janus.plugin.sfu.jcfg", "general: { auth_key = \"/nonexistent/key.der\" }\n");
	cfg = sfu_config_load(dir, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(cfg->auth_key, ==, "/nonexistent/key.der");
	sfu_config_free(cfg);

	/* The legacy file gets the same resolution. */
	g_assert_cmpint(g_remove(expected = g_build_filename(dir, "janus.plugin.sfu.jcfg", NULL)), ==, 0);
	g_free(expected);
	write_file(dir, "janus.plugin.sfu.cfg", "[general]\nauth_key = key.der\n");
	cfg = sfu_config_load(dir, &error);
	g_assert_no_error(error);
	g_assert_true(g_path_is_absolute(cfg->auth_key));
	g_assert_true(g_str_has_suffix(cfg->auth_key, "key.der"));
	sfu_config_free(cfg);

	remove_dir(dir);
	g_free(dir);
}

/* sfu_config_load_path (sfu-token verify --config): a folder as the plugin reads it, a file as that file. */
static void test_load_path(void) {
	char *dir = g_dir_make_tmp("sfu-config-XXXXXX", NULL);
	g_assert_nonnull(dir);
	GError *error = NULL;
	/* A folder: the plugin's file choice, refusals included. */
	sfu_config *cfg = sfu_config_load_path(dir, &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING);
	g_clear_error(&error);
	write_file(dir, "janus.plugin.sfu.jcfg", "general: { max_ccu = 4 }\n");
	cfg = sfu_config_load_path(dir, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_ccu, ==, 4);
	sfu_config_free(cfg);
	/* A file, whatever its folder holds and whatever its name: that file (".cfg" read as the legacy format). */
	write_file(dir, "other.cfg", "[general]\nmax_ccu = 5\n");
	char *path = g_build_filename(dir, "other.cfg", NULL);
	cfg = sfu_config_load_path(path, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(cfg->max_ccu, ==, 5);
	g_assert_true(cfg->legacy);
	sfu_config_free(cfg);
	g_free(path);
	/* Neither: the file error. */
	cfg = sfu_config_load_path("/nonexistent/janus.plugin.sfu.jcfg", &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_READ);
	g_clear_error(&error);
	remove_dir(dir);
	g_free(dir);
}

static void test_load_missing_dir(void) {
	GError *error = NULL;
	sfu_config *cfg = sfu_config_load("/nonexistent/sfu-config-dir", &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING);
	g_clear_error(&error);
	cfg = sfu_config_load_file("/nonexistent/janus.plugin.sfu.jcfg", &error);
	g_assert_null(cfg);
	g_assert_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_READ);
	g_clear_error(&error);
}

/* The state group (docs/SCALING.md): defaults, every key, and its mistakes fail closed too. */
static void test_state_group(void) {
	GError *error = NULL;
	sfu_config *cfg = sfu_config_parse("general: {}\n", FALSE, "s.jcfg", &error);
	g_assert_no_error(error);
	g_assert_cmpint(cfg->state_backend, ==, SFU_STATE_MEMORY);
	g_assert_cmpint(cfg->on_unavailable, ==, SFU_UNAVAILABLE_REFUSE);
	g_assert_cmpstr(cfg->key_prefix, ==, "sfu:");
	g_assert_nonnull(cfg->node_id);
	g_assert_cmpuint(cfg->max_token_lifetime_s, ==, 86400);
	g_assert_cmpuint(cfg->mute_s, ==, 86400);
	g_assert_cmpuint(cfg->max_revocations, ==, 100000);
	g_assert_cmpuint(cfg->max_mutes, ==, 100000);
	sfu_config_free(cfg);
	cfg =
		sfu_config_parse("general: { max_token_lifetime_s = 600; mute_s = 60; max_mutes = 5 }\n"
						 "state: { backend = \"redis\"; redis_url = \"redis://:pw@10.0.0.1:6380/1\"; "
						 "key_prefix = \"app:\"; on_unavailable = \"last_known\"; node_id = \"n7\"; "
						 "node_url = \"wss://n7/janus\"; directory_interval_s = 2; connect_timeout_ms = 300; "
						 "command_timeout_ms = 400; max_pending_writes = 10 }\n",
			FALSE, "s.jcfg", &error);
	g_assert_no_error(error);
	g_assert_cmpint(cfg->state_backend, ==, SFU_STATE_REDIS);
	g_assert_cmpstr(cfg->redis_url, ==, "redis://:pw@10.0.0.1:6380/1");
	g_assert_cmpstr(cfg->key_prefix, ==, "app:");
	g_assert_cmpint(cfg->on_unavailable, ==, SFU_UNAVAILABLE_LAST_KNOWN);
	g_assert_cmpstr(cfg->node_id, ==, "n7");
	g_assert_cmpstr(cfg->node_url, ==, "wss://n7/janus");
	g_assert_cmpuint(cfg->directory_interval_s, ==, 2);
	g_assert_cmpuint(cfg->max_pending_writes, ==, 10);
	g_assert_cmpuint(cfg->max_token_lifetime_s, ==, 600);
	g_assert_cmpuint(cfg->max_mutes, ==, 5);
	char *line = sfu_config_describe(cfg);
	g_assert_nonnull(strstr(line, "state redis (node n7"));
	g_assert_null(strstr(line, "pw")); /* never the password */
	g_free(line);
	sfu_config_free(cfg);
	const struct {
		const char *text, *needle;
	} bad[] = {
		{"state: { backend = \"redis\" }", "needs redis_url"},
		{"state: { backend = \"etcd\" }", "'backend'"},
		{"state: { redis_url = \"rediss://h\" }", "hiredis"},
		{"state: { redis_url = \"redis://:hunter2@h:99999\" }", "'redis_url'"},
		{"state: { on_unavailable = \"open\" }", "'on_unavailable'"},
		{"state: { directory_interval_s = 0 }", "'directory_interval_s'"},
		{"state: { backnd = \"redis\" }", "did you mean 'backend'"},
		{"general: { redis_url = \"redis://h\" }", "put it in state: { ... }"},
		{"Stat: { }", "unknown group"},
	};
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		cfg = sfu_config_parse(bad[i].text, FALSE, "s.jcfg", &error);
		g_assert_null(cfg);
		g_assert_nonnull(error);
		if(strstr(error->message, bad[i].needle) == NULL)
			g_error("'%s': message '%s' lacks '%s'", bad[i].text, error->message, bad[i].needle);
		g_assert_null(strstr(error->message, "hunter2"));
		g_clear_error(&error);
	}
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/defaults", test_defaults);
	g_test_add_func("/config/jcfg/full", test_jcfg_full);
	g_test_add_func("/config/jcfg/syntax-error", test_jcfg_syntax_error);
	g_test_add_func("/config/ini/full", test_ini_full);
	g_test_add_func("/config/ini/quotes-and-comments", test_ini_quotes_and_comments);
	g_test_add_func("/config/ini/sections", test_ini_sections);
	g_test_add_func("/config/keys/uint", test_uint_keys);
	g_test_add_func("/config/keys/bool", test_bool_keys);
	g_test_add_func("/config/keys/string", test_string_keys);
	g_test_add_func("/config/keys/algorithms", test_algorithms);
	g_test_add_func("/config/keys/on-token-expiry", test_on_token_expiry);
	g_test_add_func("/config/mistakes-fail-closed", test_mistakes_fail_closed);
	g_test_add_func("/config/legacy-defaults", test_legacy_defaults);
	g_test_add_func("/config/invalid-value-not-echoed", test_invalid_value_not_echoed);
	g_test_add_func("/config/load", test_load);
	g_test_add_func("/config/state-group", test_state_group);
	g_test_add_func("/config/load-missing-dir", test_load_missing_dir);
	g_test_add_func("/config/load-path", test_load_path);
	return g_test_run();
}
