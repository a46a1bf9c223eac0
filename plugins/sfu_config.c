/*! \file    sfu_config.c
 * \brief    janus-sfu: configuration loading and validation (see sfu_config.h)
 * \details  Both formats are first read into a flat list of raw settings
 * (group, key, text, the type the file gave, line); one table-driven pass then
 * checks placement, names, types and values, so the two formats cannot drift
 * apart and every mistake gets the same kind of message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libconfig.h>

#include "sfu_config.h"

G_DEFINE_QUARK(sfu - config - error - quark, sfu_config_error)

#define SFU_CONFIG_JCFG "janus.plugin.sfu.jcfg"
#define SFU_CONFIG_INI  "janus.plugin.sfu.cfg"
#define GENERAL         "general"
#define STATE           "state"

static const char *known_algorithms[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", NULL};

/* =============================================================================
 * The settings: one row per key
 * ==========================================================================*/

typedef enum key_type {
	KEY_UINT,
	KEY_BOOL,
	KEY_STRING,
	KEY_ALGS,
	KEY_EXPIRY,
	KEY_VIDEO_CODEC,
	KEY_BACKEND,
	KEY_UNAVAILABLE,
	KEY_REDIS_URL
} key_type;

typedef struct key_spec {
	const char *group;
	const char *name;
	key_type type;
	size_t offset;  /* into sfu_config */
	guint min, max; /* KEY_UINT bounds */
} key_spec;

#define CFG_OFF(field) G_STRUCT_OFFSET(sfu_config, field)

static const key_spec keys[] = {
	{GENERAL, "max_room_size", KEY_UINT, CFG_OFF(max_room_size), 0, 1000000},
	{GENERAL, "max_ccu", KEY_UINT, CFG_OFF(max_ccu), 0, 100000000},
	{GENERAL, "message_threads", KEY_UINT, CFG_OFF(message_threads), 0, 256},
	{GENERAL, "auth_key", KEY_STRING, CFG_OFF(auth_key), 0, 0},
	{GENERAL, "auth_keys", KEY_STRING, CFG_OFF(auth_keys), 0, 0},
	{GENERAL, "algorithms", KEY_ALGS, CFG_OFF(algorithms), 0, 0},
	{GENERAL, "audience", KEY_STRING, CFG_OFF(audience), 0, 0},
	{GENERAL, "issuer", KEY_STRING, CFG_OFF(issuer), 0, 0},
	{GENERAL, "clock_leeway_s", KEY_UINT, CFG_OFF(clock_leeway_s), 0, 600},
	{GENERAL, "require_user_binding", KEY_BOOL, CFG_OFF(require_user_binding), 0, 0},
	{GENERAL, "bind_user_id", KEY_BOOL, CFG_OFF(bind_user_id), 0, 0},
	{GENERAL, "room_claim", KEY_STRING, CFG_OFF(room_claim), 0, 0},
	{GENERAL, "expiry_warning_s", KEY_UINT, CFG_OFF(expiry_warning_s), 0, 86400},
	{GENERAL, "expiry_grace_s", KEY_UINT, CFG_OFF(expiry_grace_s), 0, 86400},
	{GENERAL, "on_token_expiry", KEY_EXPIRY, CFG_OFF(on_token_expiry), 0, 0},
	{GENERAL, "kick_ban_s", KEY_UINT, CFG_OFF(kick_ban_s), 0, 30 * 86400},
	{GENERAL, "sub_identifies_user", KEY_BOOL, CFG_OFF(sub_identifies_user), 0, 0},
	{GENERAL, "replace_stale_sessions", KEY_BOOL, CFG_OFF(replace_stale_sessions), 0, 0},
	{GENERAL, "one_user_per_jti", KEY_BOOL, CFG_OFF(one_user_per_jti), 0, 0},
	{GENERAL, "events", KEY_BOOL, CFG_OFF(events), 0, 0},
	{GENERAL, "max_blocks_per_user", KEY_UINT, CFG_OFF(max_blocks_per_user), 1, 100000},
	{GENERAL, "max_bans", KEY_UINT, CFG_OFF(max_bans), 1, 10000000},
	{GENERAL, "max_bans_per_room", KEY_UINT, CFG_OFF(max_bans_per_room), 1, 1000000},
	{GENERAL, "max_jti_claims", KEY_UINT, CFG_OFF(max_jti_claims), 1, 100000000},
	{GENERAL, "max_queued_requests", KEY_UINT, CFG_OFF(max_queued_requests), 1, 100000},
	{GENERAL, "max_publishers_per_user", KEY_UINT, CFG_OFF(max_publishers_per_user), 1, 1000},
	{GENERAL, "data_msgs_per_s", KEY_UINT, CFG_OFF(data_msgs_per_s), 1, 1000000},
	{GENERAL, "data_bytes_per_s", KEY_UINT, CFG_OFF(data_bytes_per_s), 65536, 1000000000},
	{GENERAL, "video_codec", KEY_VIDEO_CODEC, CFG_OFF(video_codec), 0, 0},
	{GENERAL, "max_revocations", KEY_UINT, CFG_OFF(max_revocations), 1, 10000000},
	{GENERAL, "max_mutes", KEY_UINT, CFG_OFF(max_mutes), 1, 10000000},
	{GENERAL, "max_token_lifetime_s", KEY_UINT, CFG_OFF(max_token_lifetime_s), 1, 366 * 86400},
	{GENERAL, "mute_s", KEY_UINT, CFG_OFF(mute_s), 1, 30 * 86400},
	{STATE, "backend", KEY_BACKEND, CFG_OFF(state_backend), 0, 0},
	{STATE, "redis_url", KEY_REDIS_URL, CFG_OFF(redis_url), 0, 0},
	{STATE, "redis_password_file", KEY_STRING, CFG_OFF(redis_password_file), 0, 0},
	{STATE, "key_prefix", KEY_STRING, CFG_OFF(key_prefix), 0, 0},
	{STATE, "connect_timeout_ms", KEY_UINT, CFG_OFF(connect_timeout_ms), 10, 60000},
	{STATE, "command_timeout_ms", KEY_UINT, CFG_OFF(command_timeout_ms), 10, 60000},
	{STATE, "on_unavailable", KEY_UNAVAILABLE, CFG_OFF(on_unavailable), 0, 0},
	{STATE, "node_id", KEY_STRING, CFG_OFF(node_id), 0, 0},
	{STATE, "node_url", KEY_STRING, CFG_OFF(node_url), 0, 0},
	{STATE, "directory_interval_s", KEY_UINT, CFG_OFF(directory_interval_s), 1, 3600},
	{STATE, "max_pending_writes", KEY_UINT, CFG_OFF(max_pending_writes), 1, 10000000},
};

static const char *const groups[] = {GENERAL, STATE, NULL};

/* =============================================================================
 * Raw settings, as the file gave them
 * ==========================================================================*/

/* What the file said a value is: INI values are all text. */
typedef enum raw_kind { RAW_TEXT, RAW_STRING, RAW_INT, RAW_BOOL, RAW_LIST, RAW_OTHER } raw_kind;

typedef struct raw_setting {
	char *group; /* NULL: outside any group */
	char *name;
	char *text; /* the value as text ("" for RAW_OTHER) */
	raw_kind kind;
	int line;
} raw_setting;

typedef struct raw_file {
	const char *origin;
	gboolean is_ini;
	GPtrArray *settings; /* raw_setting* */
	GPtrArray *groups;   /* raw_setting* with name = group name, line (text unused) */
} raw_file;

static void raw_setting_free(gpointer data) {
	raw_setting *s = data;
	g_free(s->group);
	g_free(s->name);
	g_free(s->text);
	g_free(s);
}

static void raw_add(
	GPtrArray *list, const char *group, const char *name, char *text, raw_kind kind, int line) {
	raw_setting *s = g_new0(raw_setting, 1);
	s->group = g_strdup(group);
	s->name = g_strdup(name);
	s->text = text ? text : g_strdup("");
	s->kind = kind;
	s->line = line;
	g_ptr_array_add(list, s);
}

static void raw_init(raw_file *f, const char *origin, gboolean is_ini) {
	f->origin = origin;
	f->is_ini = is_ini;
	f->settings = g_ptr_array_new_with_free_func(raw_setting_free);
	f->groups = g_ptr_array_new_with_free_func(raw_setting_free);
}

static void raw_clear(raw_file *f) {
	g_ptr_array_free(f->settings, TRUE);
	g_ptr_array_free(f->groups, TRUE);
}

/* =============================================================================
 * "Did you mean": the nearest known name, for typos
 * ==========================================================================*/

/* Lower-case with '-' as '_': "Auth-Key" and "auth_key" are the same mistake away. */
static char *normalized(const char *s) {
	char *n = g_ascii_strdown(s, -1);
	g_strdelimit(n, "-", '_');
	return n;
}

static guint edit_distance(const char *a, const char *b) {
	size_t la = strlen(a), lb = strlen(b);
	if(la > 64 || lb > 64)
		return G_MAXUINT;
	guint row[65];
	for(size_t j = 0; j <= lb; j++)
		row[j] = (guint)j;
	for(size_t i = 1; i <= la; i++) {
		guint diag = row[0];
		row[0] = (guint)i;
		for(size_t j = 1; j <= lb; j++) {
			guint up = row[j];
			guint best = MIN(row[j] + 1, row[j - 1] + 1);
			row[j] = MIN(best, diag + (a[i - 1] == b[j - 1] ? 0 : 1));
			diag = up;
		}
	}
	return row[lb];
}

/* The known name closest to \p name among \p candidates (NULL-terminated), or NULL when none is close. */
static const char *nearest(const char *name, const char *const *candidates) {
	char *n = normalized(name);
	const char *best = NULL;
	guint best_d = G_MAXUINT;
	for(const char *const *c = candidates; *c != NULL; c++) {
		guint d = edit_distance(n, *c);
		if(d < best_d) {
			best_d = d;
			best = *c;
		}
	}
	size_t len = strlen(n);
	g_free(n);
	/* Close enough: same after normalising, or at most 2 edits on a name long enough to be more than that. */
	return best != NULL && (best_d == 0 || (best_d <= 2 && len > 2 * best_d)) ? best : NULL;
}

static const char **key_names(const char *group) {
	const char **names = g_new0(const char *, G_N_ELEMENTS(keys) + 1);
	size_t n = 0;
	for(size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if(group == NULL || !strcmp(keys[i].group, group))
			names[n++] = keys[i].name;
	}
	return names;
}

/* " (did you mean 'x'?)" or "". */
static char *hint(const char *name, const char *const *candidates) {
	const char *near = nearest(name, candidates);
	return near ? g_strdup_printf(" (did you mean '%s'?)", near) : g_strdup("");
}

/* =============================================================================
 * Checking and converting one setting
 * ==========================================================================*/

static const key_spec *find_key(const char *group, const char *name) {
	for(size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if((group == NULL || !strcmp(keys[i].group, group)) && !strcmp(keys[i].name, name))
			return &keys[i];
	}
	return NULL;
}

static const char *raw_kind_name(raw_kind kind) {
	switch(kind) {
		case RAW_INT:
			return "a number";
		case RAW_BOOL:
			return "a boolean";
		case RAW_LIST:
			return "a list";
		case RAW_STRING:
		case RAW_TEXT:
			return "a string";
		case RAW_OTHER:
		default:
			return "a group or a real number";
	}
}

/* Whether the file's type fits the key's type (INI text always does; its value is checked next). */
static gboolean type_fits(key_type type, raw_kind kind) {
	if(kind == RAW_TEXT)
		return TRUE;
	switch(type) {
		case KEY_UINT:
			return kind == RAW_INT || kind == RAW_STRING; /* Janus itself reads "60" as 60 */
		case KEY_BOOL:
			return kind == RAW_BOOL || kind == RAW_STRING || kind == RAW_INT; /* "yes" and 1 are true */
		case KEY_ALGS:
			return kind == RAW_STRING || kind == RAW_LIST;
		case KEY_STRING:
		case KEY_EXPIRY:
		case KEY_BACKEND:
		case KEY_UNAVAILABLE:
		case KEY_REDIS_URL:
		default:
			return kind == RAW_STRING;
	}
}

static gboolean parse_uint(const char *text, guint min, guint max, guint *out) {
	if(text[0] == '\0' || !g_ascii_isdigit(text[0]))
		return FALSE;
	char *end = NULL;
	errno = 0;
	guint64 v = g_ascii_strtoull(text, &end, 10);
	if(errno != 0 || *end != '\0' || v < min || v > max)
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
	gboolean ok = TRUE;
	for(char **a = list; ok && *a != NULL; a++) {
		if(**a == '\0')
			continue;
		ok = g_strv_contains(known_algorithms, *a);
		gboolean seen = FALSE;
		for(guint i = 0; ok && i < algs->len; i++)
			seen = seen || !strcmp(algs->pdata[i], *a);
		if(ok && !seen)
			g_ptr_array_add(algs, g_strdup(*a));
	}
	g_strfreev(list);
	if(!ok || algs->len == 0) {
		g_ptr_array_free(algs, TRUE);
		return FALSE;
	}
	g_ptr_array_set_free_func(algs, NULL);
	g_ptr_array_add(algs, NULL);
	*out = (char **)g_ptr_array_free(algs, FALSE);
	return TRUE;
}

/* Convert \p value into \p cfg's field. FALSE with \p expected set when the value is not valid. */
static gboolean convert(sfu_config *cfg, const key_spec *k, const char *value, const char **expected) {
	char *field = (char *)cfg + k->offset;
	switch(k->type) {
		case KEY_UINT:
			*expected = "a non-negative integer";
			return parse_uint(value, k->min, k->max, (guint *)field);
		case KEY_BOOL:
			*expected = "true or false";
			return parse_bool(value, (gboolean *)field);
		case KEY_STRING:
			*expected = "a non-empty string";
			if(value[0] == '\0')
				return FALSE;
			g_free(*(char **)field);
			*(char **)field = g_strdup(value);
			return TRUE;
		case KEY_ALGS: {
			*expected = "a list of RS256, RS384, RS512, PS256, PS384, PS512";
			char **algs = NULL;
			if(!parse_algorithms(value, &algs))
				return FALSE;
			g_strfreev(*(char ***)field);
			*(char ***)field = algs;
			return TRUE;
		}
		case KEY_EXPIRY:
			*expected = "\"eject\" or \"keep\"";
			if(!strcmp(value, "eject"))
				cfg->on_token_expiry = SFU_EXPIRY_EJECT;
			else if(!strcmp(value, "keep"))
				cfg->on_token_expiry = SFU_EXPIRY_KEEP;
			else
				return FALSE;
			return TRUE;
		case KEY_VIDEO_CODEC:
			*expected = "\"auto\", \"h264\" or \"vp8\"";
			if(!strcmp(value, "auto"))
				cfg->video_codec = SFU_VIDEO_AUTO;
			else if(!strcmp(value, "h264"))
				cfg->video_codec = SFU_VIDEO_H264;
			else if(!strcmp(value, "vp8"))
				cfg->video_codec = SFU_VIDEO_VP8;
			else
				return FALSE;
			return TRUE;
		case KEY_BACKEND:
			*expected = "\"memory\" or \"redis\"";
			if(!strcmp(value, "memory"))
				cfg->state_backend = SFU_STATE_MEMORY;
			else if(!strcmp(value, "redis"))
				cfg->state_backend = SFU_STATE_REDIS;
			else
				return FALSE;
			return TRUE;
		case KEY_UNAVAILABLE:
			*expected = "\"refuse\" or \"last_known\"";
			if(!strcmp(value, "refuse"))
				cfg->on_unavailable = SFU_UNAVAILABLE_REFUSE;
			else if(!strcmp(value, "last_known"))
				cfg->on_unavailable = SFU_UNAVAILABLE_LAST_KNOWN;
			else
				return FALSE;
			return TRUE;
		case KEY_REDIS_URL: {
			sfu_redis_address a;
			if(!sfu_redis_address_parse(value, &a, expected))
				return FALSE;
			sfu_redis_address_clear(&a);
			g_free(*(char **)field);
			*(char **)field = g_strdup(value);
			return TRUE;
		}
		default:
			*expected = "?";
			return FALSE;
	}
}

/* "file:LINE" (or "file" without a line). */
static char *where(const raw_file *f, int line) {
	return line > 0 ? g_strdup_printf("%s:%d", f->origin, line) : g_strdup(f->origin);
}

static gboolean check_groups(const raw_file *f, GError **error) {
	for(guint i = 0; i < f->groups->len; i++) {
		const raw_setting *g = f->groups->pdata[i];
		if(g_strv_contains(groups, g->name))
			continue;
		char *at = where(f, g->line), *h = hint(g->name, groups);
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_UNKNOWN,
			"%s: unknown %s '%s'%s: the plugin's settings go in %s", at, f->is_ini ? "section" : "group",
			g->name, h, f->is_ini ? "[general]" : "general: { ... }");
		g_free(at);
		g_free(h);
		return FALSE;
	}
	return TRUE;
}

/* Placement and name of \p s. NULL with \p error set on a mistake. */
static const key_spec *check_name(const raw_file *f, const raw_setting *s, GError **error) {
	char *at = where(f, s->line);
	const key_spec *k = s->group ? find_key(s->group, s->name) : NULL;
	const key_spec *elsewhere = k ? NULL : find_key(NULL, s->name);
	if(k == NULL && elsewhere != NULL) {
		char *place = f->is_ini ? g_strdup_printf("the [%s] section", elsewhere->group)
								: g_strdup_printf("%s: { ... }", elsewhere->group);
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_PLACE,
			"%s: '%s' is outside its group: put it in %s", at, s->name, place);
		g_free(place);
	} else if(k == NULL) {
		const char **names = key_names(s->group);
		char *h = hint(s->name, names);
		if(s->group != NULL)
			g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_UNKNOWN, "%s: unknown setting '%s'%s in %s",
				at, s->name, h, s->group);
		else
			g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_UNKNOWN,
				"%s: unknown setting '%s'%s outside any group", at, s->name, h);
		g_free(h);
		g_free(names);
	}
	g_free(at);
	return k;
}

static gboolean apply_setting(sfu_config *cfg, const raw_file *f, const raw_setting *s, GError **error) {
	const key_spec *k = check_name(f, s, error);
	if(k == NULL)
		return FALSE;
	const char *expected = "";
	gboolean fits = type_fits(k->type, s->kind);
	gboolean ok = fits && convert(cfg, k, s->text, &expected);
	if(ok)
		return TRUE;
	if(!fits)
		convert(cfg, k, "", &expected); /* only to learn what was expected */
	char *at = where(f, s->line);
	char bounds[64] = "";
	if(k->type == KEY_UINT)
		g_snprintf(bounds, sizeof(bounds), " from %u to %u", k->min, k->max);
	/* The value itself is not echoed: it may be a secret-bearing path. */
	if(!fits)
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_TYPE,
			"%s: wrong type for '%s': expected %s%s, got %s", at, k->name, expected, bounds,
			raw_kind_name(s->kind));
	else
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE,
			"%s: invalid value for '%s': expected %s%s", at, k->name, expected, bounds);
	g_free(at);
	return FALSE;
}

/* The old plugin's behaviour for what a legacy .cfg does not set (the drop-in rule, docs/MIGRATING.md). */
static void legacy_defaults(sfu_config *cfg) {
	cfg->legacy = TRUE;
	cfg->on_token_expiry = SFU_EXPIRY_KEEP;
	cfg->kick_ban_s = 0;
	cfg->replace_stale_sessions = FALSE;
	cfg->bind_user_id = FALSE;
}

static sfu_config *apply_file(const raw_file *f, GError **error) {
	if(!check_groups(f, error))
		return NULL;
	sfu_config *cfg = sfu_config_new_defaults();
	cfg->source = g_strdup(f->origin);
	if(f->is_ini)
		legacy_defaults(cfg);
	for(guint i = 0; i < f->settings->len; i++) {
		if(!apply_setting(cfg, f, f->settings->pdata[i], error)) {
			sfu_config_free(cfg);
			return NULL;
		}
	}
	if(f->groups->len == 0) {
		/* An empty or comment-only file is a mistake, not a wish to run without authentication. */
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING,
			"%s: no %s: an empty (or comments-only) file is refused; write %s to run the plugin without "
			"authentication on purpose",
			f->origin, f->is_ini ? "[general] section" : "general group",
			f->is_ini ? "[general]" : "general: { }");
		sfu_config_free(cfg);
		return NULL;
	}
	gboolean bind_given = FALSE;
	for(guint i = 0; i < f->settings->len; i++)
		bind_given =
			bind_given || !strcmp(((const raw_setting *)f->settings->pdata[i])->name, "bind_user_id");
	if(cfg->require_user_binding && !cfg->bind_user_id && !bind_given)
		cfg->bind_user_id =
			TRUE; /* requiring the claim means using it (a legacy .cfg ignores it otherwise) */
	if(cfg->require_user_binding && !cfg->bind_user_id) {
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE,
			"%s: require_user_binding = true needs bind_user_id = true (tokens cannot be required to bind a "
			"user "
			"whose user_id claim is ignored)",
			f->origin);
		sfu_config_free(cfg);
		return NULL;
	}
	if(cfg->state_backend == SFU_STATE_REDIS && cfg->redis_url == NULL) {
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE,
			"%s: backend = \"redis\" needs redis_url in state: { ... }", f->origin);
		sfu_config_free(cfg);
		return NULL;
	}
	if(cfg->key_prefix == NULL)
		cfg->key_prefix = g_strdup("sfu:");
	if(cfg->node_id == NULL)
		cfg->node_id = g_strdup(g_get_host_name());
	return cfg;
}

/* =============================================================================
 * Formats
 * ==========================================================================*/

static void read_jcfg_setting(raw_file *f, const char *group, config_setting_t *s) {
	const char *name = config_setting_name(s);
	int line = (int)config_setting_source_line(s);
	char *text = NULL;
	raw_kind kind = RAW_OTHER;
	switch(config_setting_type(s)) {
		case CONFIG_TYPE_STRING:
			text = g_strdup(config_setting_get_string(s));
			kind = RAW_STRING;
			break;
		case CONFIG_TYPE_INT:
			/* Negative numbers are kept as text so that validation rejects them by name. */
			text = g_strdup_printf("%d", config_setting_get_int(s));
			kind = RAW_INT;
			break;
		case CONFIG_TYPE_INT64:
			text = g_strdup_printf("%lld", (long long)config_setting_get_int64(s));
			kind = RAW_INT;
			break;
		case CONFIG_TYPE_BOOL:
			text = g_strdup(config_setting_get_bool(s) ? "true" : "false");
			kind = RAW_BOOL;
			break;
		case CONFIG_TYPE_ARRAY:
		case CONFIG_TYPE_LIST: {
			GString *joined = g_string_new(NULL);
			for(int j = 0; j < config_setting_length(s); j++) {
				const char *item = config_setting_get_string_elem(s, j);
				/* A non-string item makes the list invalid for every key ("?" is no algorithm). */
				g_string_append_printf(joined, "%s%s", j ? "," : "", item ? item : "?");
			}
			text = g_string_free(joined, FALSE);
			kind = RAW_LIST;
			break;
		}
		default:
			break;
	}
	if(name != NULL)
		raw_add(f->settings, group, name, text, kind, line);
	else
		g_free(text);
}

/* libconfig (.jcfg): top-level groups holding settings. */
static gboolean read_jcfg(raw_file *f, const char *text, GError **error) {
	config_t lc;
	config_init(&lc);
	if(config_read_string(&lc, text) != CONFIG_TRUE) {
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_SYNTAX, "%s:%d: syntax error: %s", f->origin,
			config_error_line(&lc), config_error_text(&lc));
		config_destroy(&lc);
		return FALSE;
	}
	config_setting_t *root = config_root_setting(&lc);
	for(int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *top = config_setting_get_elem(root, i);
		const char *name = config_setting_name(top);
		if(name == NULL)
			continue;
		if(config_setting_type(top) != CONFIG_TYPE_GROUP) {
			read_jcfg_setting(f, NULL, top);
			continue;
		}
		raw_add(f->groups, NULL, name, NULL, RAW_OTHER, (int)config_setting_source_line(top));
		for(int j = 0; j < config_setting_length(top); j++)
			read_jcfg_setting(f, name, config_setting_get_elem(top, j));
	}
	config_destroy(&lc);
	return TRUE;
}

/* Legacy INI, as rust-ini 0.13 read it for Mozilla's plugin: key = value or key: value, quotes stripped,
 * ; and # start comments (also after an unquoted value), last duplicate wins. */
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

static gboolean read_ini(raw_file *f, const char *text, GError **error) {
	char **lines = g_strsplit(text, "\n", -1);
	char *section = NULL;
	gboolean ok = TRUE;
	for(int n = 0; ok && lines[n] != NULL; n++) {
		char *line = g_strstrip(lines[n]);
		if(*line == '\0' || *line == ';' || *line == '#')
			continue;
		if(*line == '[') {
			char *close = strchr(line, ']');
			if(close == NULL) {
				g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_SYNTAX, "%s:%d: syntax error: no ']'",
					f->origin, n + 1);
				ok = FALSE;
				break;
			}
			g_free(section);
			section = g_strstrip(g_strndup(line + 1, close - line - 1));
			raw_add(f->groups, NULL, section, NULL, RAW_OTHER, n + 1);
			/* rust-ini reads on after ']' ("[general] auth_key = k.der" sets auth_key): so do we, never
			 * dropping a setting the old plugin used. */
			line = g_strchug(close + 1);
			if(*line == '\0' || *line == ';' || *line == '#')
				continue;
		}
		size_t split = strcspn(line, "=:");
		if(line[split] == '\0') {
			g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_SYNTAX,
				"%s:%d: syntax error: expected 'key = value'", f->origin, n + 1);
			ok = FALSE;
			break;
		}
		char *name = g_strstrip(g_strndup(line, split));
		raw_add(f->settings, section, name, ini_value(line + split + 1), RAW_TEXT, n + 1);
		g_free(name);
	}
	g_free(section);
	g_strfreev(lines);
	return ok;
}

/* =============================================================================
 * Public API
 * ==========================================================================*/

sfu_config *sfu_config_new_defaults(void) {
	sfu_config *cfg = g_malloc0(sizeof(sfu_config));
	const char *algs[] = {"RS512", NULL};
	cfg->algorithms = g_strdupv((char **)algs);
	/* Guardian (Reticulum's JWT library) allows 60 s of clock drift; so do we (docs/SECURITY.md). */
	cfg->clock_leeway_s = 60;
	cfg->expiry_warning_s = 60;
	cfg->on_token_expiry = SFU_EXPIRY_EJECT;
	cfg->kick_ban_s = 3600;
	cfg->replace_stale_sessions = TRUE;
	cfg->bind_user_id = TRUE;
	cfg->events = TRUE;
	cfg->max_blocks_per_user = 1000;
	cfg->max_bans = 100000;
	cfg->max_bans_per_room = 1000;
	cfg->max_jti_claims = 1000000;
	cfg->max_queued_requests = 64;
	cfg->max_publishers_per_user = 8;
	cfg->data_msgs_per_s = 100;
	cfg->data_bytes_per_s = 256 * 1024;
	cfg->video_codec = SFU_VIDEO_AUTO;
	cfg->max_revocations = 100000;
	cfg->max_mutes = 100000;
	cfg->max_token_lifetime_s = 86400;
	cfg->mute_s = 86400;
	cfg->state_backend = SFU_STATE_MEMORY;
	cfg->connect_timeout_ms = 1000;
	cfg->command_timeout_ms = 1000;
	cfg->on_unavailable = SFU_UNAVAILABLE_REFUSE;
	cfg->directory_interval_s = 5;
	cfg->max_pending_writes = 10000;
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
	g_free(cfg->room_claim);
	g_free(cfg->redis_url);
	g_free(cfg->redis_password_file);
	g_free(cfg->key_prefix);
	g_free(cfg->node_id);
	g_free(cfg->node_url);
	g_free(cfg);
}

sfu_config *sfu_config_parse(const char *text, gboolean is_ini, const char *origin, GError **error) {
	raw_file f;
	raw_init(&f, origin, is_ini);
	sfu_config *cfg = NULL;
	if(is_ini ? read_ini(&f, text, error) : read_jcfg(&f, text, error))
		cfg = apply_file(&f, error);
	raw_clear(&f);
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

sfu_config *sfu_config_load_file(const char *path, GError **error) {
	char *text = NULL;
	GError *read_error = NULL;
	if(!g_file_get_contents(path, &text, NULL, &read_error)) {
		g_set_error(
			error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_READ, "%s: cannot read: %s", path, read_error->message);
		g_error_free(read_error);
		return NULL;
	}
	sfu_config *cfg = sfu_config_parse(text, g_str_has_suffix(path, ".cfg"), path, error);
	g_free(text);
	if(cfg != NULL) {
		char *dir = g_path_get_dirname(path);
		resolve_path(&cfg->auth_key, dir);
		resolve_path(&cfg->auth_keys, dir);
		resolve_path(&cfg->redis_password_file, dir);
		g_free(dir);
	}
	return cfg;
}

sfu_config *sfu_config_load(const char *config_dir, GError **error) {
	const char *dir = config_dir ? config_dir : ".";
	char *jcfg = g_build_filename(dir, SFU_CONFIG_JCFG, NULL);
	char *ini = g_build_filename(dir, SFU_CONFIG_INI, NULL);
	const char *path = g_file_test(jcfg, G_FILE_TEST_EXISTS)  ? jcfg
					   : g_file_test(ini, G_FILE_TEST_EXISTS) ? ini
															  : NULL;
	sfu_config *cfg = NULL;
	if(path == jcfg && g_file_test(ini, G_FILE_TEST_EXISTS)) {
		/* The old plugin never read a .jcfg: a .jcfg next to the old .cfg is a migration half done, and the
		 * plugin will not guess which of the two holds the auth_key the operator means. */
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_PLACE,
			"both %s and %s exist: remove the one you do not use (the plugin will not guess which holds your "
			"auth_key; docs/MIGRATING.md)",
			jcfg, ini);
	} else if(path == NULL) {
		/* Fail closed: without its file the plugin would run with no authentication at all. */
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_MISSING,
			"no configuration file: expected %s (or the legacy %s); an empty general: { } group runs the "
			"plugin without authentication, if that is really what you want",
			jcfg, SFU_CONFIG_INI);
	} else {
		cfg = sfu_config_load_file(path, error);
	}
	g_free(jcfg);
	g_free(ini);
	return cfg;
}

sfu_config *sfu_config_load_path(const char *path, GError **error) {
	if(path != NULL && g_file_test(path, G_FILE_TEST_IS_DIR))
		return sfu_config_load(path, error);
	return sfu_config_load_file(path, error);
}

char *sfu_config_describe(const sfu_config *c) {
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "config %s (%s)", c->source ? c->source : "(defaults)",
		c->legacy ? "legacy .cfg: old plugin defaults" : "jcfg");
	if(c->auth_key == NULL && c->auth_keys == NULL) {
		g_string_append(s, "; auth OFF (no auth_key/auth_keys: anyone may join any room)");
	} else {
		/* Everything that decides whether a token is accepted: keys, algorithms, aud/iss, user binding. */
		char *algs = g_strjoinv(",", c->algorithms);
		g_string_append_printf(s, "; auth on (%s%s%s%s%s%s, %s", c->auth_key ? "auth_key " : "",
			c->auth_key ? c->auth_key : "", c->auth_key && c->auth_keys ? ", " : "",
			c->auth_keys ? "auth_keys " : "", c->auth_keys ? c->auth_keys : "", c->auth_keys ? " (JWKS)" : "",
			algs);
		g_free(algs);
		if(c->audience != NULL)
			g_string_append_printf(s, ", audience \"%s\"", c->audience);
		if(c->issuer != NULL)
			g_string_append_printf(s, ", issuer \"%s\"", c->issuer);
		if(c->require_user_binding)
			g_string_append(s, ", user_id claim required");
		g_string_append_c(s, ')');
	}
	if(c->room_claim != NULL)
		g_string_append_printf(s, "; tokens pinned to the room of their '%s' claim", c->room_claim);
	g_string_append_printf(s, "; clock leeway %u s", c->clock_leeway_s);
	if(c->on_token_expiry == SFU_EXPIRY_EJECT)
		g_string_append_printf(s, "; expiry: eject at exp + %u s (warning %u s before exp)",
			c->clock_leeway_s + c->expiry_grace_s, c->expiry_warning_s);
	else
		g_string_append(s, "; expiry: keep (tokens checked at the door only)");
	if(c->kick_ban_s > 0)
		g_string_append_printf(
			s, "; kick bans %u s by user_id%s", c->kick_ban_s, c->sub_identifies_user ? ", sub and jti" : "");
	else
		g_string_append(s, "; kick bans off");
	if(c->state_backend == SFU_STATE_REDIS)
		g_string_append_printf(s, "; state redis (node %s, prefix %s, when unavailable: %s)",
			c->node_id ? c->node_id : "?", c->key_prefix ? c->key_prefix : "sfu:",
			c->on_unavailable == SFU_UNAVAILABLE_REFUSE ? "refuse joins" : "last known state");
	else
		g_string_append(s, "; state in memory");
	return g_string_free(s, FALSE);
}

/* =============================================================================
 * Redis addresses
 * ==========================================================================*/

void sfu_redis_address_clear(sfu_redis_address *a) {
	g_free(a->host);
	g_free(a->path);
	g_free(a->user);
	if(a->password != NULL)
		memset(a->password, 0, strlen(a->password));
	g_free(a->password);
	memset(a, 0, sizeof(*a));
}

static gboolean parse_db(const char *text, guint *db) {
	return parse_uint(text, 0, 1000000, db);
}

gboolean sfu_redis_address_parse(const char *url, sfu_redis_address *out, const char **error) {
	memset(out, 0, sizeof(*out));
	*error = "redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N]";
	if(url == NULL)
		return FALSE;
	if(g_str_has_prefix(url, "rediss://")) {
		*error = "redis:// or unix://: rediss:// (TLS) needs hiredis >= 1.0, Debian bookworm has 0.14; "
				 "reach a TLS Redis through a local tunnel (docs/SCALING.md)";
		return FALSE;
	}
	if(g_str_has_prefix(url, "unix://")) {
		const char *path = url + strlen("unix://");
		const char *q = strchr(path, '?');
		if(*path != '/' || (q != NULL && q == path + 1))
			return FALSE;
		out->path = q ? g_strndup(path, q - path) : g_strdup(path);
		if(q != NULL && (!g_str_has_prefix(q, "?db=") || !parse_db(q + 4, &out->db))) {
			sfu_redis_address_clear(out);
			return FALSE;
		}
		return TRUE;
	}
	if(!g_str_has_prefix(url, "redis://"))
		return FALSE;
	const char *rest = url + strlen("redis://");
	const char *at = strrchr(rest, '@');
	if(at != NULL) {
		char *cred = g_strndup(rest, at - rest);
		char *colon = strchr(cred, ':');
		if(colon == NULL || colon[1] == '\0') {
			g_free(cred);
			return FALSE;
		}
		*colon = '\0';
		out->user = cred[0] ? g_uri_unescape_string(cred, NULL) : NULL;
		out->password = g_uri_unescape_string(colon + 1, NULL);
		memset(cred, 0, strlen(colon + 1) + (colon - cred) + 1);
		g_free(cred);
		rest = at + 1;
		if(out->password == NULL) {
			sfu_redis_address_clear(out);
			return FALSE;
		}
	}
	const char *slash = strchr(rest, '/');
	char *hostport = slash ? g_strndup(rest, slash - rest) : g_strdup(rest);
	const char *colon = strrchr(hostport, ':');
	out->port = 6379;
	gboolean ok = TRUE;
	if(colon != NULL && strchr(hostport, ']') == NULL) {
		out->host = g_strndup(hostport, colon - hostport);
		ok = parse_uint(colon + 1, 1, 65535, &out->port);
	} else {
		out->host = g_strdup(hostport);
	}
	g_free(hostport);
	if(ok && (out->host[0] == '\0' || strpbrk(out->host, " ?#") != NULL))
		ok = FALSE;
	if(ok && slash != NULL && slash[1] != '\0')
		ok = parse_db(slash + 1, &out->db);
	if(!ok)
		sfu_redis_address_clear(out);
	return ok;
}
