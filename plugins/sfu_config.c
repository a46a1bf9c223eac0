/*! \file    sfu_config.c
 * \brief    janus-sfu: configuration loading and validation (see sfu_config.h)
 * \details  Both formats are first read into a flat key -> string table of
 * section \c general; one table-driven pass then converts and validates each
 * key, so the two formats cannot drift apart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>

#include <debug.h>

#include "sfu_config.h"

G_DEFINE_QUARK(sfu - config - error - quark, sfu_config_error)

#define SFU_CONFIG_JCFG "janus.plugin.sfu.jcfg"
#define SFU_CONFIG_INI  "janus.plugin.sfu.cfg"

static const char *known_algorithms[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", NULL};

/* =============================================================================
 * Typed conversion, one row per key
 * ==========================================================================*/

typedef enum key_type { KEY_UINT, KEY_BOOL, KEY_STRING, KEY_ALGS, KEY_EXPIRY, KEY_VIDEO_CODEC } key_type;

typedef struct key_spec {
	const char *name;
	key_type type;
	size_t offset; /* into sfu_config */
	guint max;     /* KEY_UINT upper bound */
} key_spec;

#define CFG_OFF(field) G_STRUCT_OFFSET(sfu_config, field)

static const key_spec keys[] = {
	{"max_room_size", KEY_UINT, CFG_OFF(max_room_size), 1000000},
	{"max_ccu", KEY_UINT, CFG_OFF(max_ccu), 100000000},
	{"message_threads", KEY_UINT, CFG_OFF(message_threads), 256},
	{"auth_key", KEY_STRING, CFG_OFF(auth_key), 0},
	{"auth_keys", KEY_STRING, CFG_OFF(auth_keys), 0},
	{"algorithms", KEY_ALGS, CFG_OFF(algorithms), 0},
	{"audience", KEY_STRING, CFG_OFF(audience), 0},
	{"issuer", KEY_STRING, CFG_OFF(issuer), 0},
	{"clock_leeway_s", KEY_UINT, CFG_OFF(clock_leeway_s), 600},
	{"require_user_binding", KEY_BOOL, CFG_OFF(require_user_binding), 0},
	{"expiry_warning_s", KEY_UINT, CFG_OFF(expiry_warning_s), 86400},
	{"expiry_grace_s", KEY_UINT, CFG_OFF(expiry_grace_s), 86400},
	{"on_token_expiry", KEY_EXPIRY, CFG_OFF(on_token_expiry), 0},
	{"kick_ban_s", KEY_UINT, CFG_OFF(kick_ban_s), 30 * 86400},
	{"replace_stale_sessions", KEY_BOOL, CFG_OFF(replace_stale_sessions), 0},
	{"one_user_per_jti", KEY_BOOL, CFG_OFF(one_user_per_jti), 0},
	{"events", KEY_BOOL, CFG_OFF(events), 0},
	{"video_codec", KEY_VIDEO_CODEC, CFG_OFF(video_codec), 0},
};

static gboolean parse_uint(const char *text, guint max, guint *out) {
	if(text[0] == '\0' || !g_ascii_isdigit(text[0]))
		return FALSE;
	char *end = NULL;
	errno = 0;
	guint64 v = g_ascii_strtoull(text, &end, 10);
	if(errno != 0 || *end != '\0' || v > max)
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

static gboolean parse_bool(const char *text, gboolean *out) {
	if(!g_ascii_strcasecmp(text, "true") || !g_ascii_strcasecmp(text, "yes") || !strcmp(text, "1")) {
		*out = TRUE;
		return TRUE;
	}
	if(!g_ascii_strcasecmp(text, "false") || !g_ascii_strcasecmp(text, "no") || !strcmp(text, "0")) {
		*out = FALSE;
		return TRUE;
	}
	return FALSE;
}

static gboolean parse_algorithms(const char *text, char ***out) {
	char **list = g_strsplit_set(text, ", ", -1);
	GPtrArray *algs = g_ptr_array_new_with_free_func(g_free);
	for(char **a = list; *a != NULL; a++) {
		if(**a == '\0')
			continue;
		if(!g_strv_contains(known_algorithms, *a)) {
			g_ptr_array_free(algs, TRUE);
			g_strfreev(list);
			return FALSE;
		}
		gboolean seen = FALSE;
		for(guint i = 0; i < algs->len; i++)
			seen = seen || !strcmp(algs->pdata[i], *a);
		if(!seen)
			g_ptr_array_add(algs, g_strdup(*a));
	}
	g_strfreev(list);
	if(algs->len == 0) {
		g_ptr_array_free(algs, TRUE);
		return FALSE;
	}
	g_ptr_array_set_free_func(algs, NULL);
	g_ptr_array_add(algs, NULL);
	*out = (char **)g_ptr_array_free(algs, FALSE);
	return TRUE;
}

static gboolean apply_key(
	sfu_config *cfg, const key_spec *k, const char *value, const char *origin, GError **error) {
	char *field = (char *)cfg + k->offset;
	gboolean ok = FALSE;
	const char *expected = "";
	switch(k->type) {
		case KEY_UINT:
			ok = parse_uint(value, k->max, (guint *)field);
			expected = "a non-negative integer";
			break;
		case KEY_BOOL:
			ok = parse_bool(value, (gboolean *)field);
			expected = "true or false";
			break;
		case KEY_STRING:
			ok = value[0] != '\0';
			if(ok) {
				g_free(*(char **)field);
				*(char **)field = g_strdup(value);
			}
			expected = "a non-empty string";
			break;
		case KEY_ALGS: {
			char **algs = NULL;
			ok = parse_algorithms(value, &algs);
			if(ok) {
				g_strfreev(*(char ***)field);
				*(char ***)field = algs;
			}
			expected = "a list of RS256, RS384, RS512, PS256, PS384, PS512";
			break;
		}
		case KEY_EXPIRY:
			ok = TRUE;
			if(!strcmp(value, "eject"))
				cfg->on_token_expiry = SFU_EXPIRY_EJECT;
			else if(!strcmp(value, "keep"))
				cfg->on_token_expiry = SFU_EXPIRY_KEEP;
			else
				ok = FALSE;
			expected = "\"eject\" or \"keep\"";
			break;
		case KEY_VIDEO_CODEC:
			ok = TRUE;
			if(!strcmp(value, "auto"))
				cfg->video_codec = SFU_VIDEO_AUTO;
			else if(!strcmp(value, "h264"))
				cfg->video_codec = SFU_VIDEO_H264;
			else if(!strcmp(value, "vp8"))
				cfg->video_codec = SFU_VIDEO_VP8;
			else
				ok = FALSE;
			expected = "\"auto\", \"h264\" or \"vp8\"";
			break;
		default:
			break;
	}
	if(!ok) {
		/* The value is not echoed when it may be a secret-bearing path; bounded otherwise. */
		if(k->max > 0 && k->type == KEY_UINT)
			g_set_error(error, SFU_CONFIG_ERROR, 1, "%s: invalid value for '%s': expected %s (at most %u)",
				origin, k->name, expected, k->max);
		else
			g_set_error(error, SFU_CONFIG_ERROR, 1, "%s: invalid value for '%s': expected %s", origin,
				k->name, expected);
	}
	return ok;
}

static sfu_config *apply_table(GHashTable *table, const char *origin, GError **error) {
	sfu_config *cfg = sfu_config_new_defaults();
	cfg->source = g_strdup(origin);
	GHashTableIter iter;
	gpointer name, value;
	g_hash_table_iter_init(&iter, table);
	while(g_hash_table_iter_next(&iter, &name, &value)) {
		const key_spec *spec = NULL;
		for(size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
			if(!strcmp(keys[i].name, name))
				spec = &keys[i];
		}
		if(spec == NULL) {
			JANUS_LOG(LOG_WARN, "[sfu] %s: unknown setting '%s' ignored\n", origin, (char *)name);
			continue;
		}
		if(!apply_key(cfg, spec, value, origin, error)) {
			sfu_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

/* =============================================================================
 * Formats
 * ==========================================================================*/

static gboolean is_list_key(const char *name) {
	for(size_t i = 0; name != NULL && i < G_N_ELEMENTS(keys); i++) {
		if(keys[i].type == KEY_ALGS && !strcmp(keys[i].name, name))
			return TRUE;
	}
	return FALSE;
}

/* libconfig (.jcfg): values may be strings, numbers or booleans (Janus itself accepts all three). */
static GHashTable *read_jcfg(const char *text, const char *origin, GError **error) {
	config_t lc;
	config_init(&lc);
	if(config_read_string(&lc, text) != CONFIG_TRUE) {
		g_set_error(error, SFU_CONFIG_ERROR, 2, "%s:%d: syntax error: %s", origin, config_error_line(&lc),
			config_error_text(&lc));
		config_destroy(&lc);
		return NULL;
	}
	GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	config_setting_t *general = config_lookup(&lc, "general");
	int n = general ? config_setting_length(general) : 0;
	for(int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(general, i);
		const char *name = config_setting_name(s);
		char *value = NULL;
		switch(config_setting_type(s)) {
			case CONFIG_TYPE_STRING:
				value = g_strdup(config_setting_get_string(s));
				break;
			case CONFIG_TYPE_INT:
				/* Negative numbers are kept as text so validation rejects them by name. */
				value = g_strdup_printf("%d", config_setting_get_int(s));
				break;
			case CONFIG_TYPE_INT64:
				value = g_strdup_printf("%lld", (long long)config_setting_get_int64(s));
				break;
			case CONFIG_TYPE_BOOL:
				value = g_strdup(config_setting_get_bool(s) ? "true" : "false");
				break;
			case CONFIG_TYPE_ARRAY:
			case CONFIG_TYPE_LIST: {
				/* Only list-typed keys take a list; "" fails every other key's validation by name. */
				if(!is_list_key(name)) {
					value = g_strdup("");
					break;
				}
				GString *joined = g_string_new(NULL);
				for(int j = 0; j < config_setting_length(s); j++) {
					const char *item = config_setting_get_string_elem(s, j);
					g_string_append_printf(joined, "%s%s", j ? "," : "", item ? item : "?");
				}
				value = g_string_free(joined, FALSE);
				break;
			}
			default:
				/* Floats and groups: "" is invalid for every key type (and "?" was a valid string). */
				value = g_strdup("");
				break;
		}
		if(name != NULL)
			g_hash_table_insert(table, g_strdup(name), value);
		else
			g_free(value);
	}
	config_destroy(&lc);
	return table;
}

/* Legacy INI, as rust-ini 0.13 read it for Mozilla's plugin: [general], key = value or key: value,
 * quotes stripped, ; and # start comments (also after an unquoted value), last duplicate wins. */
static char *ini_value(const char *raw) {
	while(g_ascii_isspace(*raw))
		raw++;
	if(*raw == '"' || *raw == '\'') {
		char quote = *raw++;
		GString *out = g_string_new(NULL);
		for(; *raw != '\0' && *raw != quote; raw++) {
			if(*raw == '\\' && raw[1] != '\0')
				raw++;
			g_string_append_c(out, *raw);
		}
		return g_string_free(out, FALSE);
	}
	size_t len = strcspn(raw, ";#");
	char *value = g_strndup(raw, len);
	return g_strstrip(value);
}

static GHashTable *read_ini(const char *text) {
	GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	char **lines = g_strsplit(text, "\n", -1);
	gboolean in_general = FALSE;
	for(char **l = lines; *l != NULL; l++) {
		char *line = g_strstrip(*l);
		if(*line == '\0' || *line == ';' || *line == '#')
			continue;
		if(*line == '[') {
			char *close = strchr(line, ']');
			in_general = close != NULL && (close - line - 1) == 7 && !strncmp(line + 1, "general", 7);
			continue;
		}
		if(!in_general)
			continue;
		size_t split = strcspn(line, "=:");
		if(line[split] == '\0')
			continue;
		char *name = g_strstrip(g_strndup(line, split));
		g_hash_table_insert(table, name, ini_value(line + split + 1));
	}
	g_strfreev(lines);
	return table;
}

/* =============================================================================
 * Public API
 * ==========================================================================*/

sfu_config *sfu_config_new_defaults(void) {
	sfu_config *cfg = g_malloc0(sizeof(sfu_config));
	const char *algs[] = {"RS512", NULL};
	cfg->algorithms = g_strdupv((char **)algs);
	cfg->expiry_warning_s = 60;
	cfg->on_token_expiry = SFU_EXPIRY_EJECT;
	cfg->kick_ban_s = 3600;
	cfg->replace_stale_sessions = TRUE;
	cfg->events = TRUE;
	cfg->video_codec = SFU_VIDEO_AUTO;
	return cfg;
}

void sfu_config_free(sfu_config *cfg) {
	if(cfg == NULL)
		return;
	g_free(cfg->source);
	g_free(cfg->auth_key);
	g_free(cfg->auth_keys);
	g_strfreev(cfg->algorithms);
	g_free(cfg->audience);
	g_free(cfg->issuer);
	g_free(cfg);
}

sfu_config *sfu_config_parse(const char *text, gboolean is_ini, const char *origin, GError **error) {
	GHashTable *table = is_ini ? read_ini(text) : read_jcfg(text, origin, error);
	if(table == NULL)
		return NULL;
	sfu_config *cfg = apply_table(table, origin, error);
	g_hash_table_destroy(table);
	return cfg;
}

/* A relative key path is tried against the config folder first, then kept as given (Janus's cwd). */
static void resolve_path(char **path, const char *config_dir) {
	if(*path == NULL || g_path_is_absolute(*path))
		return;
	char *candidate = g_build_filename(config_dir, *path, NULL);
	if(g_file_test(candidate, G_FILE_TEST_EXISTS)) {
		g_free(*path);
		*path = candidate;
	} else {
		g_free(candidate);
	}
}

sfu_config *sfu_config_load(const char *config_dir, GError **error) {
	const char *names[] = {SFU_CONFIG_JCFG, SFU_CONFIG_INI};
	for(size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(config_dir ? config_dir : ".", names[i], NULL);
		if(!g_file_test(path, G_FILE_TEST_EXISTS)) {
			g_free(path);
			continue;
		}
		char *text = NULL;
		if(!g_file_get_contents(path, &text, NULL, error)) {
			g_free(path);
			return NULL;
		}
		sfu_config *cfg = sfu_config_parse(text, i == 1, path, error);
		g_free(text);
		g_free(path);
		if(cfg != NULL) {
			resolve_path(&cfg->auth_key, config_dir);
			resolve_path(&cfg->auth_keys, config_dir);
		}
		return cfg;
	}
	return sfu_config_new_defaults();
}
