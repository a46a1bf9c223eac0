/*! \file    sfu_state.c
 * \brief    janus-sfu: the state backend: memory, or Redis shared by every node (see sfu_state.h)
 * \details  One thread owns two hiredis 0.14 contexts, both blocking with timeouts: \c cmd for writes,
 * scans and the directory, \c sub subscribed to the channel. The thread polls the subscriber's socket and a
 * wake-up pipe (written by the listener when it queues a change), so messages are applied as soon as they
 * arrive and local changes leave as soon as they are made. Every key and message is JSON; see
 * docs/SCALING.md for the layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* hiredis 0.14's sds.h has switches without default: not ours to fix, not to fail -Werror builds on. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wswitch-default"
#include <hiredis.h>
#pragma GCC diagnostic pop

#include <debug.h>

#include "sfu_access.h"
#include "sfu_bans.h"
#include "sfu_lock.h"
#include "sfu_log.h"
#include "sfu_registry.h"
#include "sfu_request.h"
#include "sfu_state.h"
#include "sfu_stats.h"

#define MSG_VERSION     1
#define MAX_VALUE_LEN   SFU_MAX_TOKEN_LEN /* a jti, sub or kid comes from a token */
#define LATENCY_SAMPLES 1024
#define SCAN_COUNT      "1000"

static const sfu_config *config = NULL;
static char *password = NULL; /* from the URL or redis_password_file; never logged */
static char *instance = NULL; /* node_id + random suffix: the origin of our messages */
static char *channel = NULL;  /* <prefix>events */
static GThread *thread = NULL;
static volatile gint stopping = 0;
static int wake[2] = {-1, -1};

/* The outgoing queue (leaf lock): json_t* messages, oldest first. */
static sfu_mutex queue_lock = SFU_MUTEX_INIT;
static GQueue queue = G_QUEUE_INIT;

/* Thread-owned connection state. */
static redisContext *cmd = NULL, *sub = NULL;
static char *run_id = NULL; /* Redis's run_id at the last connection: a new one means it restarted */
static gboolean ever_synced = FALSE;
static gint64 warned_at = 0;

/* Counters (atomics) and the latency ring (stats lock). */
static volatile gint connected = 0, current = 0;
static sfu_mutex stats_lock = SFU_MUTEX_INIT;
static gint64 latencies[LATENCY_SAMPLES];
static guint n_latencies = 0, latency_pos = 0;

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* =============================================================================
 * Keys (binary-safe: room ids are length-prefixed so no id can forge another's key)
 * ==========================================================================*/

static GString *key_new(const char *kind) {
	GString *k = g_string_new(config->key_prefix);
	g_string_append(k, kind);
	g_string_append_c(k, ':');
	return k;
}

static void key_add_room(GString *k, const char *room_id) {
	g_string_append_printf(k, "%zu:%s:", strlen(room_id), room_id);
}

/* <prefix>ban:<len>:<room>:<kind>:<value> */
static GString *ban_key(const char *room_id, const char *kind, const char *value) {
	GString *k = key_new("ban");
	key_add_room(k, room_id);
	g_string_append_printf(k, "%s:%s", kind, value);
	return k;
}

/* <prefix>revoke:<kind>:<value> */
static GString *revoke_key(const char *kind, const char *value) {
	GString *k = key_new("revoke");
	g_string_append_printf(k, "%s:%s", kind, value);
	return k;
}

/* <prefix>mute:<len>:<room>:<user> */
static GString *mute_key(const char *room_id, const char *user_id) {
	GString *k = key_new("mute");
	key_add_room(k, room_id);
	g_string_append(k, user_id);
	return k;
}

/* <prefix>jti:<jti> */
static GString *jti_key(const char *jti) {
	GString *k = key_new("jti");
	g_string_append(k, jti);
	return k;
}

/* <prefix>node:<node_id> */
static GString *node_key(const char *node_id) {
	GString *k = key_new("node");
	g_string_append(k, node_id);
	return k;
}

/* A SCAN MATCH pattern for every key starting with \p literal (its glob characters escaped). */
static char *glob_prefix(const char *literal) {
	GString *p = g_string_new(NULL);
	for(const char *c = literal; *c; c++) {
		if(strchr("*?[]\\", *c))
			g_string_append_c(p, '\\');
		g_string_append_c(p, *c);
	}
	g_string_append_c(p, '*');
	return g_string_free(p, FALSE);
}

/* A SCAN MATCH pattern for every key of \p kind under \p prefix. */
static char *scan_pattern(const char *prefix, const char *kind) {
	char *literal = g_strdup_printf("%s%s:", prefix, kind);
	char *p = glob_prefix(literal);
	g_free(literal);
	return p;
}

/* =============================================================================
 * Redis commands (thread only)
 * ==========================================================================*/

static void redis_free(redisContext **c) {
	if(*c != NULL)
		redisFree(*c);
	*c = NULL;
}

/* Run one command on \p c. NULL on a connection error (the caller disconnects). */
static redisReply *command(redisContext *c, int argc, const char **argv, const size_t *lens) {
	if(c == NULL)
		return NULL;
	redisReply *r = redisCommandArgv(c, argc, argv, lens);
	if(r == NULL)
		sfu_stats_add(SFU_STAT_STATE_ERRORS, 1);
	return r;
}

static redisReply *command2(redisContext *c, const char *a, const char *b) {
	const char *argv[] = {a, b};
	size_t lens[] = {strlen(a), strlen(b)};
	return command(c, b ? 2 : 1, argv, lens);
}

static gboolean reply_ok(redisReply *r) {
	return r != NULL && r->type != REDIS_REPLY_ERROR;
}

static struct timeval tv_ms(guint ms) {
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return tv;
}

/* Connect and authenticate (AUTH, SELECT). NULL with \p why set (never the password). */
static redisContext *open_context(
	const sfu_redis_address *a, const char *pass, guint connect_ms, guint command_ms, char **why) {
	redisContext *c = a->path ? redisConnectUnixWithTimeout(a->path, tv_ms(connect_ms))
							  : redisConnectWithTimeout(a->host, (int)a->port, tv_ms(connect_ms));
	if(c == NULL || c->err) {
		*why = g_strdup(c ? c->errstr : "out of memory");
		if(c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv_ms(command_ms));
	if(pass != NULL) {
		const char *argv[] = {"AUTH", a->user ? a->user : pass, pass};
		size_t lens[] = {4, strlen(argv[1]), strlen(pass)};
		redisReply *r = redisCommandArgv(c, a->user ? 3 : 2, argv, lens);
		gboolean ok = reply_ok(r);
		*why = ok ? NULL : g_strdup(r ? "authentication refused" : c->errstr);
		if(r)
			freeReplyObject(r);
		if(!ok) {
			redisFree(c);
			return NULL;
		}
	}
	if(a->db != 0) {
		char db[16];
		g_snprintf(db, sizeof(db), "%u", a->db);
		redisReply *r = command2(c, "SELECT", db);
		gboolean ok = reply_ok(r);
		*why = ok ? NULL : g_strdup(r ? r->str : c->errstr);
		if(r)
			freeReplyObject(r);
		if(!ok) {
			redisFree(c);
			return NULL;
		}
	}
	return c;
}

/* =============================================================================
 * Messages: building (any thread) and applying (the thread)
 * ==========================================================================*/

/* Queue \p msg (reference stolen) and wake the thread. Bounded: the oldest write goes when full. */
static void enqueue(json_t *msg) {
	if(msg == NULL)
		return; /* a listener call without its ids: nothing to tell */
	json_object_set_new(msg, "v", json_integer(MSG_VERSION));
	json_object_set_new(msg, "origin", json_string(instance));
	json_object_set_new(msg, "at_us", json_integer(g_get_real_time()));
	json_t *dropped = NULL;
	sfu_mutex_lock(&queue_lock);
	if(g_queue_get_length(&queue) >= config->max_pending_writes)
		dropped = g_queue_pop_head(&queue);
	g_queue_push_tail(&queue, msg);
	sfu_mutex_unlock(&queue_lock);
	if(dropped != NULL) {
		sfu_stats_add(SFU_STAT_STATE_DROPPED, 1);
		json_decref(dropped);
	}
	if(wake[1] >= 0) {
		ssize_t w = write(wake[1], "x", 1);
		(void)w; /* a full pipe already wakes the thread */
	}
}

static void on_kick(const char *room_id, const char *user_id, const char *reason, const char *by) {
	enqueue(json_pack(
		"{ssssssssss*}", "type", "kick", "room_id", room_id, "user_id", user_id, "reason", reason, "by", by));
}

static void on_ban(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until, const char *by) {
	enqueue(json_pack("{sssssssssssIss*}", "type", "ban", "room_id", room_id, "kind", sfu_ban_kind_name(kind),
		"value", value, "user_id", user_id, "until", (json_int_t)until, "by", by));
}

static void on_unban(const char *room_id, const char *user_id) {
	enqueue(json_pack("{ssssss}", "type", "unban", "room_id", room_id, "user_id", user_id));
}

static void on_revoke(sfu_revoke_kind kind, const char *value, gint64 until, const char *by) {
	enqueue(json_pack("{sssssssIss*}", "type", "revoke", "kind", sfu_revoke_kind_name(kind), "value", value,
		"until", (json_int_t)until, "by", by));
}

static void on_unrevoke(sfu_revoke_kind kind, const char *value) {
	enqueue(json_pack("{ssssss}", "type", "unrevoke", "kind", sfu_revoke_kind_name(kind), "value", value));
}

static void on_mute(const char *room_id, const char *user_id, guint mask, gint64 until, const char *by) {
	enqueue(json_pack("{sssssssisIss*}", "type", "mute", "room_id", room_id, "user_id", user_id, "mask",
		(int)mask, "until", (json_int_t)until, "by", by));
}

static void on_jti(const char *jti, const char *user_id, gint64 exp) {
	enqueue(json_pack("{sssssssI}", "type", "jti", "jti", jti, "user_id", user_id, "exp", (json_int_t)exp));
}

static const sfu_access_listener listener = {
	.kick = on_kick,
	.ban = on_ban,
	.unban = on_unban,
	.revoke = on_revoke,
	.unrevoke = on_unrevoke,
	.mute = on_mute,
	.jti = on_jti,
};

/* A string field of a message: present, a string, 1..max bytes, no NUL. NULL otherwise. */
static const char *field(json_t *msg, const char *name, size_t max) {
	json_t *v = json_object_get(msg, name);
	if(!json_is_string(v))
		return NULL;
	size_t len = json_string_length(v);
	if(len == 0 || len > max || strlen(json_string_value(v)) != len)
		return NULL;
	return json_string_value(v);
}

static gint64 int_field(json_t *msg, const char *name) {
	json_t *v = json_object_get(msg, name);
	return json_is_integer(v) ? (gint64)json_integer_value(v) : -1;
}

/* Apply a message (or a stored entry) of another node through sfu_access. FALSE when it is not valid. */
static gboolean apply(json_t *msg) {
	const char *type = field(msg, "type", 16);
	const char *room = field(msg, "room_id", SFU_MAX_ID_LEN), *user = field(msg, "user_id", SFU_MAX_ID_LEN);
	const char *kind = field(msg, "kind", 16), *value = field(msg, "value", MAX_VALUE_LEN);
	const char *by = field(msg, "by", SFU_MAX_ID_LEN);
	gint64 until = int_field(msg, "until");
	if(type == NULL)
		return FALSE;
	if(!strcmp(type, "kick")) {
		const char *reason = field(msg, "reason", 32);
		if(room == NULL || user == NULL)
			return FALSE;
		sfu_access_eject_remote(room, user, reason && !strcmp(reason, "admin") ? "admin" : "kicked", by);
	} else if(!strcmp(type, "ban")) {
		sfu_ban_kind k;
		if(room == NULL || user == NULL || value == NULL || until < 0 || !sfu_ban_kind_parse(kind, &k))
			return FALSE;
		sfu_access_apply_ban(room, k, value, user, until, by);
	} else if(!strcmp(type, "unban")) {
		if(room == NULL || user == NULL)
			return FALSE;
		sfu_access_unban(room, user, FALSE);
	} else if(!strcmp(type, "revoke") || !strcmp(type, "unrevoke")) {
		sfu_revoke_kind k;
		if(value == NULL || !sfu_revoke_kind_parse(kind, &k))
			return FALSE;
		if(type[0] == 'u')
			sfu_access_unrevoke(k, value, FALSE);
		else if(until > now_s())
			sfu_access_revoke(k, value, until, by, FALSE, NULL);
	} else if(!strcmp(type, "mute")) {
		gint64 mask = int_field(msg, "mask");
		if(room == NULL || user == NULL || mask < 0 || mask > SFU_MUTE_ALL || until < 0)
			return FALSE;
		sfu_access_apply_mute(room, user, (guint)mask, until, by);
	} else if(!strcmp(type, "jti")) {
		const char *jti = field(msg, "jti", MAX_VALUE_LEN);
		gint64 exp = int_field(msg, "exp");
		if(jti == NULL || user == NULL || exp < 0)
			return FALSE;
		sfu_access_apply_jti(jti, user, exp);
	} else {
		return FALSE;
	}
	return TRUE;
}

static void record_latency(json_t *msg) {
	gint64 at = int_field(msg, "at_us");
	if(at <= 0)
		return;
	gint64 lat = g_get_real_time() - at;
	sfu_mutex_lock(&stats_lock);
	latencies[latency_pos] = lat;
	latency_pos = (latency_pos + 1) % LATENCY_SAMPLES;
	n_latencies = MIN(n_latencies + 1, LATENCY_SAMPLES);
	sfu_mutex_unlock(&stats_lock);
}

/* One message from the channel. */
static void received(const char *text, size_t len) {
	sfu_stats_add(SFU_STAT_STATE_RECEIVED, 1);
	json_error_t jerr;
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *origin = msg ? field(msg, "origin", 512) : NULL;
	if(msg == NULL || !json_is_object(msg) || int_field(msg, "v") != MSG_VERSION) {
		sfu_stats_add(SFU_STAT_STATE_INVALID, 1);
	} else if(origin != NULL && !strcmp(origin, instance)) {
		sfu_stats_add(SFU_STAT_STATE_OWN, 1);
	} else if(apply(msg)) {
		sfu_stats_add(SFU_STAT_STATE_APPLIED, 1);
		record_latency(msg);
	} else {
		sfu_stats_add(SFU_STAT_STATE_INVALID, 1);
	}
	json_decref(msg);
}

/* =============================================================================
 * Writing one change (the thread)
 * ==========================================================================*/

/* The key a stored message lives under, or NULL for kinds that are not stored (kick, jti: handled apart). */
static GString *stored_key(json_t *msg) {
	const char *type = field(msg, "type", 16);
	const char *room = field(msg, "room_id", SFU_MAX_ID_LEN), *user = field(msg, "user_id", SFU_MAX_ID_LEN);
	const char *kind = field(msg, "kind", 16), *value = field(msg, "value", MAX_VALUE_LEN);
	if(type == NULL)
		return NULL;
	if(!strcmp(type, "ban") && room && kind && value)
		return ban_key(room, kind, value);
	if((!strcmp(type, "revoke") || !strcmp(type, "unrevoke")) && kind && value)
		return revoke_key(kind, value);
	if(!strcmp(type, "mute") && room && user)
		return mute_key(room, user);
	return NULL;
}

/* SET key <msg without origin> EXAT until [NX]. */
static redisReply *store(GString *key, json_t *msg, gint64 until, gboolean nx) {
	json_t *copy = json_deep_copy(msg);
	json_object_del(copy, "origin");
	json_object_del(copy, "at_us");
	char *text = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	char exat[32];
	g_snprintf(exat, sizeof(exat), "%" G_GINT64_FORMAT, until);
	const char *argv[] = {"SET", key->str, text, "EXAT", exat, "NX"};
	size_t lens[] = {3, key->len, strlen(text), 4, strlen(exat), 2};
	redisReply *r = command(cmd, nx ? 6 : 5, argv, lens);
	free(text);
	return r;
}

/* Remove every ban key of (room, user): unban lifts all the identities that user's kicks recorded. */
static gboolean delete_bans_of(const char *room_id, const char *user_id) {
	GString *prefix = key_new("ban");
	key_add_room(prefix, room_id); /* "<prefix>ban:<len>:<room>:" */
	char *pattern = glob_prefix(prefix->str);
	g_string_free(prefix, TRUE);
	gboolean ok = TRUE;
	char cursor[32] = "0";
	do {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
		size_t lens[] = {4, strlen(cursor), 5, strlen(pattern), 5, strlen(SCAN_COUNT)};
		redisReply *r = command(cmd, 6, argv, lens);
		if(!reply_ok(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			ok = r != NULL;
			if(r)
				freeReplyObject(r);
			break;
		}
		g_strlcpy(cursor, r->element[0]->str ? r->element[0]->str : "0", sizeof(cursor));
		redisReply *keys = r->element[1];
		for(size_t i = 0; ok && i < keys->elements; i++) {
			redisReply *g = command2(cmd, "GET", keys->element[i]->str);
			json_t *v = g && g->type == REDIS_REPLY_STRING ? json_loadb(g->str, g->len, 0, NULL) : NULL;
			const char *owner = v ? field(v, "user_id", SFU_MAX_ID_LEN) : NULL;
			if(owner != NULL && !strcmp(owner, user_id)) {
				redisReply *d = command2(cmd, "DEL", keys->element[i]->str);
				ok = d != NULL;
				if(d)
					freeReplyObject(d);
			}
			ok = ok && g != NULL;
			json_decref(v);
			if(g)
				freeReplyObject(g);
		}
		freeReplyObject(r);
	} while(ok && strcmp(cursor, "0") != 0);
	g_free(pattern);
	return ok;
}

/* A jti claim: the first SET NX wins cluster-wide; a loser's local holder is evicted. FALSE: disconnected. */
static gboolean write_jti(json_t *msg) {
	const char *jti = field(msg, "jti", MAX_VALUE_LEN), *user = field(msg, "user_id", SFU_MAX_ID_LEN);
	gint64 exp = int_field(msg, "exp");
	if(jti == NULL || user == NULL || exp <= now_s())
		return TRUE;
	GString *key = jti_key(jti);
	char exat[32];
	g_snprintf(exat, sizeof(exat), "%" G_GINT64_FORMAT, exp);
	const char *argv[] = {"SET", key->str, user, "EXAT", exat, "NX"};
	size_t lens[] = {3, key->len, strlen(user), 4, strlen(exat), 2};
	redisReply *r = command(cmd, 6, argv, lens);
	gboolean ok = r != NULL, won = r && r->type == REDIS_REPLY_STATUS;
	if(r)
		freeReplyObject(r);
	if(ok && !won) {
		redisReply *g = command2(cmd, "GET", key->str);
		ok = g != NULL;
		if(g && g->type == REDIS_REPLY_STRING && strcmp(g->str, user) != 0) {
			char *owner = g_strndup(g->str, g->len);
			sfu_access_apply_jti(jti, owner, exp); /* another user holds it: ours goes (token_in_use) */
			g_free(owner);
		}
		if(g)
			freeReplyObject(g);
	}
	g_string_free(key, TRUE);
	return ok;
}

static gboolean publish(json_t *msg) {
	char *text = json_dumps(msg, JSON_COMPACT);
	const char *argv[] = {"PUBLISH", channel, text};
	size_t lens[] = {7, strlen(channel), strlen(text)};
	redisReply *r = command(cmd, 3, argv, lens);
	free(text);
	gboolean ok = reply_ok(r);
	if(r)
		freeReplyObject(r);
	if(ok)
		sfu_stats_add(SFU_STAT_STATE_PUBLISHED, 1);
	return r != NULL;
}

/* Write one queued change: its key (with the entry's expiry as TTL), then the message. FALSE: disconnected. */
static gboolean write_change(json_t *msg) {
	const char *type = field(msg, "type", 16);
	if(type == NULL)
		return TRUE;
	gboolean ok = TRUE;
	if(!strcmp(type, "jti"))
		return write_jti(msg) && publish(msg);
	GString *key = stored_key(msg);
	gint64 until = int_field(msg, "until");
	if(!strcmp(type, "unban")) {
		ok = delete_bans_of(field(msg, "room_id", SFU_MAX_ID_LEN), field(msg, "user_id", SFU_MAX_ID_LEN));
	} else if(key != NULL &&
			  (!strcmp(type, "unrevoke") || (!strcmp(type, "mute") && int_field(msg, "mask") == 0) ||
				  until <= now_s())) {
		redisReply *r = command2(cmd, "DEL", key->str);
		ok = r != NULL;
		if(r)
			freeReplyObject(r);
	} else if(key != NULL) {
		redisReply *r = store(key, msg, until, FALSE);
		ok = r != NULL;
		if(r)
			freeReplyObject(r);
	}
	if(key)
		g_string_free(key, TRUE);
	return ok && publish(msg);
}

/* =============================================================================
 * Connection, catching up, the directory (the thread)
 * ==========================================================================*/

static void set_current(gboolean yes) {
	g_atomic_int_set(&current, yes);
	if(config->on_unavailable == SFU_UNAVAILABLE_REFUSE)
		sfu_access_set_state_available(yes);
}

static void disconnect(const char *why) {
	gboolean was = g_atomic_int_get(&connected);
	redis_free(&cmd);
	redis_free(&sub);
	g_atomic_int_set(&connected, 0);
	set_current(FALSE);
	if(was) {
		JANUS_LOG(LOG_ERR, "[sfu] state: lost Redis (%s): %s\n", why ? why : "connection error",
			config->on_unavailable == SFU_UNAVAILABLE_REFUSE
				? "new joins are refused (state_unavailable) until it is back"
				: "WARNING: joins are admitted on the last known bans and revocations until it is back");
		warned_at = g_get_monotonic_time();
	}
}

/* Redis's run_id (INFO server), or NULL. */
static char *redis_run_id(void) {
	redisReply *r = command2(cmd, "INFO", "server");
	char *id = NULL;
	if(r && r->type == REDIS_REPLY_STRING) {
		const char *p = strstr(r->str, "run_id:");
		if(p != NULL) {
			p += strlen("run_id:");
			id = g_strndup(p, strcspn(p, "\r\n"));
		}
	}
	if(r)
		freeReplyObject(r);
	return id;
}

/* Every stored entry of \p kind: GET each key of a SCAN and apply it. FALSE: disconnected. */
static gboolean read_all(const char *kind, guint *applied) {
	char *pattern = scan_pattern(config->key_prefix, kind);
	char cursor[32] = "0";
	gboolean ok = TRUE;
	do {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
		size_t lens[] = {4, strlen(cursor), 5, strlen(pattern), 5, strlen(SCAN_COUNT)};
		redisReply *r = command(cmd, 6, argv, lens);
		if(!reply_ok(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			ok = r != NULL;
			if(r)
				freeReplyObject(r);
			break;
		}
		g_strlcpy(cursor, r->element[0]->str ? r->element[0]->str : "0", sizeof(cursor));
		redisReply *keys = r->element[1];
		/* Pipelined GETs: one round trip per batch. */
		for(size_t i = 0; i < keys->elements; i++) {
			const char *argv2[] = {"GET", keys->element[i]->str};
			size_t lens2[] = {3, keys->element[i]->len};
			redisAppendCommandArgv(cmd, 2, argv2, lens2);
		}
		for(size_t i = 0; ok && i < keys->elements; i++) {
			redisReply *g = NULL;
			if(redisGetReply(cmd, (void **)&g) != REDIS_OK) {
				ok = FALSE;
				break;
			}
			json_t *v = g && g->type == REDIS_REPLY_STRING ? json_loadb(g->str, g->len, 0, NULL) : NULL;
			if(v != NULL && json_is_object(v) && apply(v))
				(*applied)++;
			json_decref(v);
			freeReplyObject(g);
		}
		freeReplyObject(r);
	} while(ok && strcmp(cursor, "0") != 0);
	g_free(pattern);
	return ok;
}

/* Redis restarted without our entries (no persistence, or a new server): write ours back, never overwriting
 * (SET NX), so bans, revocations and mutes outlive a Redis restart as long as one node remembers them. */
static gboolean reseed(void) {
	gint64 now = now_s();
	guint n = 0;
	gboolean ok = TRUE;
	json_t *lists[3] = {
		sfu_bans_list(NULL, now), sfu_bans_list_revocations(now), sfu_bans_list_mutes(NULL, now)};
	const char *types[3] = {"ban", "revoke", "mute"};
	for(int t = 0; t < 3; t++) {
		size_t i;
		json_t *item;
		json_array_foreach(lists[t], i, item) {
			if(!ok)
				break;
			json_t *msg = json_deep_copy(item);
			json_object_set_new(msg, "type", json_string(types[t]));
			if(t == 0) { /* a ban listing names its identity "identity" and its value by kind */
				const char *kind = field(item, "identity", 16);
				json_object_set_new(msg, "kind", json_string(kind ? kind : "user_id"));
				json_t *v = kind && strcmp(kind, "user_id") ? json_object_get(item, kind)
															: json_object_get(item, "user_id");
				json_object_set(msg, "value", v);
				json_object_del(msg, "identity");
			}
			GString *key = stored_key(msg);
			if(key != NULL) {
				redisReply *r = store(key, msg, int_field(msg, "until"), TRUE);
				ok = r != NULL;
				if(r)
					freeReplyObject(r);
				g_string_free(key, TRUE);
				n++;
			}
			json_decref(msg);
		}
		json_decref(lists[t]);
	}
	sfu_stats_add(SFU_STAT_STATE_RESEEDED, n);
	if(n > 0)
		JANUS_LOG(LOG_WARN, "[sfu] state: Redis restarted; wrote back %u entries it had lost\n", n);
	return ok;
}

/* Write what was queued, oldest first; a change leaves the queue only once written. FALSE: disconnected. */
static gboolean flush(void) {
	for(;;) {
		sfu_mutex_lock(&queue_lock);
		json_t *msg = g_queue_peek_head(&queue);
		if(msg != NULL)
			json_incref(msg);
		sfu_mutex_unlock(&queue_lock);
		if(msg == NULL)
			return TRUE;
		gboolean ok = write_change(msg);
		if(ok) {
			sfu_mutex_lock(&queue_lock);
			if(g_queue_peek_head(&queue) == msg) {
				g_queue_pop_head(&queue);
				json_decref(msg); /* the queue's reference */
			}
			sfu_mutex_unlock(&queue_lock);
		}
		json_decref(msg);
		if(!ok)
			return FALSE;
	}
}

/* Connect both contexts, subscribe, catch up. TRUE when connected and current. */
static gboolean connect_and_sync(void) {
	sfu_redis_address a;
	const char *bad = NULL;
	if(!sfu_redis_address_parse(config->redis_url, &a, &bad))
		return FALSE;
	char *why = NULL;
	cmd = open_context(&a, password, config->connect_timeout_ms, config->command_timeout_ms, &why);
	if(cmd != NULL)
		sub = open_context(&a, password, config->connect_timeout_ms, config->command_timeout_ms, &why);
	sfu_redis_address_clear(&a);
	if(cmd == NULL || sub == NULL) {
		gint64 now = g_get_monotonic_time();
		if(warned_at == 0 || now - warned_at > 30 * G_USEC_PER_SEC) {
			JANUS_LOG(LOG_WARN, "[sfu] state: cannot reach Redis: %s (%s)\n", why ? why : "?",
				config->on_unavailable == SFU_UNAVAILABLE_REFUSE
					? "new joins refused"
					: "WARNING: admitting on the last known state");
			warned_at = now;
		}
		g_free(why);
		redis_free(&cmd);
		redis_free(&sub);
		return FALSE;
	}
	/* Subscribe first: nothing published from now on is missed while the stored state is read. */
	redisReply *r = command2(sub, "SUBSCRIBE", channel);
	gboolean ok = r != NULL && r->type == REDIS_REPLY_ARRAY;
	if(r)
		freeReplyObject(r);
	if(!ok) {
		disconnect("SUBSCRIBE failed");
		return FALSE;
	}
	g_atomic_int_set(&connected, 1);
	sfu_stats_add(SFU_STAT_STATE_CONNECTIONS, 1);
	char *id = redis_run_id();
	gboolean restarted = run_id != NULL && id != NULL && strcmp(run_id, id) != 0;
	g_free(run_id);
	run_id = id;
	guint applied = 0;
	ok = (!restarted || reseed()) && flush() && read_all("ban", &applied) && read_all("revoke", &applied) &&
		 read_all("mute", &applied);
	if(!ok) {
		disconnect("catching up failed");
		return FALSE;
	}
	sfu_stats_add(SFU_STAT_STATE_RESYNCS, 1);
	set_current(TRUE);
	JANUS_LOG(LOG_INFO, "[sfu] state: %s Redis as node '%s' (%u entries read%s)\n",
		ever_synced ? "back on" : "on", config->node_id, applied, restarted ? ", Redis had restarted" : "");
	ever_synced = TRUE;
	return TRUE;
}

/* This node's rooms and occupancy, for token endpoints (docs/SCALING.md). FALSE: disconnected. */
static gboolean write_directory(void) {
	json_t *rooms = sfu_registry_list_rooms();
	json_t *by_room = json_object();
	json_int_t users = 0, pubs = 0;
	size_t i;
	json_t *item;
	json_array_foreach(rooms, i, item) {
		json_int_t u = json_integer_value(json_object_get(item, "users"));
		json_int_t p = json_integer_value(json_object_get(item, "publisher_users"));
		users += u;
		pubs += p;
		json_object_set_new(by_room, json_string_value(json_object_get(item, "room_id")),
			json_pack("{sIsI}", "users", u, "publisher_users", p));
	}
	json_decref(rooms);
	json_t *node = json_pack("{sssIsosIsIsisi}", "node_id", config->node_id, "updated_at",
		(json_int_t)now_s(), "rooms", by_room, "users", users, "publisher_users", pubs, "max_room_size",
		(int)config->max_room_size, "max_ccu", (int)config->max_ccu);
	if(config->node_url != NULL)
		json_object_set_new(node, "url", json_string(config->node_url));
	char *text = json_dumps(node, JSON_COMPACT);
	json_decref(node);
	GString *key = node_key(config->node_id);
	char ttl[16];
	g_snprintf(ttl, sizeof(ttl), "%u", MAX(3 * config->directory_interval_s, 5u));
	const char *argv[] = {"SET", key->str, text, "EX", ttl};
	size_t lens[] = {3, key->len, strlen(text), 2, strlen(ttl)};
	redisReply *r = command(cmd, 5, argv, lens);
	free(text);
	g_string_free(key, TRUE);
	gboolean ok = r != NULL;
	if(r)
		freeReplyObject(r);
	return ok;
}

/* Read what arrived on the subscription. FALSE: disconnected. */
static gboolean read_messages(void) {
	if(redisBufferRead(sub) != REDIS_OK)
		return FALSE;
	for(;;) {
		redisReply *r = NULL;
		if(redisGetReplyFromReader(sub, (void **)&r) != REDIS_OK)
			return FALSE;
		if(r == NULL)
			return TRUE;
		if(r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
			!strcmp(r->element[0]->str, "message") && r->element[2]->type == REDIS_REPLY_STRING)
			received(r->element[2]->str, r->element[2]->len);
		freeReplyObject(r);
	}
}

static gint64 ms_until(gint64 at_us) {
	gint64 d = (at_us - g_get_monotonic_time()) / 1000;
	return CLAMP(d, 0, 1000);
}

static gpointer state_thread(gpointer unused) {
	(void)unused;
	gint64 next_try = 0, next_directory = 0;
	guint backoff_ms = 0;
	while(!g_atomic_int_get(&stopping)) {
		gint64 now = g_get_monotonic_time();
		if(!g_atomic_int_get(&connected) && now >= next_try) {
			if(connect_and_sync()) {
				backoff_ms = 0;
				next_directory = 0;
			} else {
				backoff_ms = backoff_ms ? MIN(backoff_ms * 2, 2000) : 200;
				next_try = g_get_monotonic_time() + backoff_ms * 1000;
			}
		}
		if(g_atomic_int_get(&connected) && !flush())
			disconnect("write failed");
		if(g_atomic_int_get(&connected) && g_get_monotonic_time() >= next_directory) {
			if(write_directory())
				next_directory = g_get_monotonic_time() + config->directory_interval_s * G_USEC_PER_SEC;
			else
				disconnect("directory update failed");
		}
		gboolean up = g_atomic_int_get(&connected);
		struct pollfd fds[2] = {
			{.fd = wake[0], .events = POLLIN}, {.fd = up ? sub->fd : -1, .events = POLLIN}};
		int rc = poll(fds, 2, (int)ms_until(up ? next_directory : next_try));
		if(rc < 0 && errno != EINTR)
			g_usleep(10000);
		if(fds[0].revents & POLLIN) {
			char buf[256];
			while(read(wake[0], buf, sizeof(buf)) > 0)
				;
		}
		if(up && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) && !read_messages())
			disconnect("subscription closed");
	}
	if(g_atomic_int_get(&connected)) {
		flush();
		GString *key = node_key(config->node_id);
		redisReply *r = command2(cmd, "DEL", key->str);
		if(r)
			freeReplyObject(r);
		g_string_free(key, TRUE);
	}
	redis_free(&cmd);
	redis_free(&sub);
	g_atomic_int_set(&connected, 0);
	return NULL;
}

/* =============================================================================
 * Public API
 * ==========================================================================*/

static char *read_password_file(const char *path, GError **error) {
	char *text = NULL;
	if(!g_file_get_contents(path, &text, NULL, error))
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

int sfu_state_start(const sfu_config *cfg, GError **error) {
	config = cfg;
	if(cfg->state_backend != SFU_STATE_REDIS) {
		sfu_access_set_listener(NULL);
		return 0;
	}
	sfu_redis_address a;
	const char *bad = NULL;
	if(!sfu_redis_address_parse(cfg->redis_url, &a, &bad)) {
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE, "redis_url: expected %s", bad);
		return -1;
	}
	password = g_strdup(a.password);
	sfu_redis_address_clear(&a);
	if(cfg->redis_password_file != NULL) {
		g_free(password);
		password = read_password_file(cfg->redis_password_file, error);
		if(password == NULL)
			return -1;
	}
	guint32 r = g_random_int();
	instance = g_strdup_printf("%s/%08x", cfg->node_id, r);
	channel = g_strdup_printf("%sevents", cfg->key_prefix);
	if(pipe(wake) < 0) {
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_READ, "state: pipe: %s", g_strerror(errno));
		return -1;
	}
	fcntl(wake[0], F_SETFL, O_NONBLOCK);
	fcntl(wake[1], F_SETFL, O_NONBLOCK);
	g_atomic_int_set(&stopping, 0);
	/* Not current until the first catch-up: with "refuse", no admission before the node knows the state. */
	set_current(FALSE);
	sfu_access_set_listener(&listener);
	thread = g_thread_new("sfu-state", state_thread, NULL);
	return 0;
}

void sfu_state_stop(void) {
	if(thread == NULL)
		return;
	g_atomic_int_set(&stopping, 1);
	ssize_t w = write(wake[1], "x", 1);
	(void)w;
	g_thread_join(thread);
	thread = NULL;
	sfu_access_set_listener(NULL);
	sfu_access_set_state_available(TRUE);
	close(wake[0]);
	close(wake[1]);
	wake[0] = wake[1] = -1;
	sfu_mutex_lock(&queue_lock);
	json_t *msg;
	while((msg = g_queue_pop_head(&queue)) != NULL)
		json_decref(msg);
	sfu_mutex_unlock(&queue_lock);
	if(password != NULL)
		memset(password, 0, strlen(password));
	g_clear_pointer(&password, g_free);
	g_clear_pointer(&instance, g_free);
	g_clear_pointer(&channel, g_free);
	g_clear_pointer(&run_id, g_free);
	ever_synced = FALSE;
}

static gint cmp_gint64(gconstpointer a, gconstpointer b) {
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
	return x < y ? -1 : x > y;
}

json_t *sfu_state_stats(void) {
	if(config == NULL || config->state_backend != SFU_STATE_REDIS)
		return json_pack("{ss}", "backend", "memory");
	gint64 sorted[LATENCY_SAMPLES];
	sfu_mutex_lock(&stats_lock);
	guint n = n_latencies;
	memcpy(sorted, latencies, sizeof(gint64) * n);
	sfu_mutex_unlock(&stats_lock);
	qsort(sorted, n, sizeof(gint64), (int (*)(const void *, const void *))cmp_gint64);
	sfu_mutex_lock(&queue_lock);
	guint pending = g_queue_get_length(&queue);
	sfu_mutex_unlock(&queue_lock);
	json_t *out = json_pack("{sssssbsbsIsIsIsIsIsisIsIsIsIsI}", "backend", "redis", "node_id",
		config->node_id, "connected", g_atomic_int_get(&connected), "current", g_atomic_int_get(&current),
		"published", (json_int_t)sfu_stats_get(SFU_STAT_STATE_PUBLISHED), "received",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_RECEIVED), "applied",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_APPLIED), "own",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_OWN), "invalid",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_INVALID), "pending", (int)pending, "dropped",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_DROPPED), "connections",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_CONNECTIONS), "resyncs",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_RESYNCS), "reseeded",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_RESEEDED), "errors",
		(json_int_t)sfu_stats_get(SFU_STAT_STATE_ERRORS));
	json_object_set_new(out, "propagation_us",
		json_pack("{sisIsIsI}", "samples", (int)n, "p50", (json_int_t)(n ? sorted[n / 2] : 0), "p99",
			(json_int_t)(n ? sorted[MIN(n - 1, (n * 99) / 100)] : 0), "max",
			(json_int_t)(n ? sorted[n - 1] : 0)));
	return out;
}

void *sfu_state_redis_connect(const char *url, const char *password_file, guint timeout_ms, GError **error) {
	sfu_redis_address a;
	const char *bad = NULL;
	if(!sfu_redis_address_parse(url, &a, &bad)) {
		g_set_error(error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_VALUE, "redis URL: expected %s", bad);
		return NULL;
	}
	char *pass = password_file ? read_password_file(password_file, error) : g_strdup(a.password);
	if(password_file != NULL && pass == NULL) {
		sfu_redis_address_clear(&a);
		return NULL;
	}
	char *why = NULL;
	redisContext *c = open_context(&a, pass, timeout_ms, timeout_ms, &why);
	sfu_redis_address_clear(&a);
	if(pass)
		memset(pass, 0, strlen(pass));
	g_free(pass);
	if(c == NULL) {
		g_set_error(
			error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_READ, "cannot reach Redis: %s", why ? why : "?");
		g_free(why);
	}
	return c;
}

void sfu_state_redis_free(void *ctx) {
	if(ctx != NULL)
		redisFree(ctx);
}

json_t *sfu_state_directory(void *ctx, const char *prefix, GError **error) {
	redisContext *c = ctx;
	char *pattern = scan_pattern(prefix, "node");
	json_t *nodes = json_array(), *rooms = json_object();
	json_int_t users = 0, pubs = 0;
	char cursor[32] = "0";
	gboolean ok = TRUE;
	do {
		const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
		size_t lens[] = {4, strlen(cursor), 5, strlen(pattern), 5, strlen(SCAN_COUNT)};
		redisReply *r = redisCommandArgv(c, 6, argv, lens);
		if(!reply_ok(r) || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			ok = FALSE;
			if(r)
				freeReplyObject(r);
			break;
		}
		g_strlcpy(cursor, r->element[0]->str ? r->element[0]->str : "0", sizeof(cursor));
		for(size_t i = 0; i < r->element[1]->elements; i++) {
			const char *argv2[] = {"GET", r->element[1]->element[i]->str};
			size_t lens2[] = {3, r->element[1]->element[i]->len};
			redisReply *g = redisCommandArgv(c, 2, argv2, lens2);
			json_t *node = g && g->type == REDIS_REPLY_STRING ? json_loadb(g->str, g->len, 0, NULL) : NULL;
			if(g)
				freeReplyObject(g);
			if(node == NULL || !json_is_object(node)) {
				json_decref(node);
				continue;
			}
			const char *id = json_string_value(json_object_get(node, "node_id"));
			const char *room_id;
			json_t *occ;
			json_object_foreach(json_object_get(node, "rooms"), room_id, occ) {
				json_t *agg = json_object_get(rooms, room_id);
				if(agg == NULL) {
					agg = json_pack(
						"{s[]sIsI}", "nodes", "users", (json_int_t)0, "publisher_users", (json_int_t)0);
					json_object_set_new(rooms, room_id, agg);
				}
				json_array_append_new(json_object_get(agg, "nodes"), json_string(id ? id : "?"));
				json_int_t u = json_integer_value(json_object_get(occ, "users"));
				json_int_t p = json_integer_value(json_object_get(occ, "publisher_users"));
				json_object_set_new(
					agg, "users", json_integer(json_integer_value(json_object_get(agg, "users")) + u));
				json_object_set_new(agg, "publisher_users",
					json_integer(json_integer_value(json_object_get(agg, "publisher_users")) + p));
				users += u;
				pubs += p;
			}
			json_array_append_new(nodes, node);
		}
		freeReplyObject(r);
	} while(strcmp(cursor, "0") != 0);
	g_free(pattern);
	if(!ok) {
		g_set_error(
			error, SFU_CONFIG_ERROR, SFU_CONFIG_ERROR_READ, "Redis: %s", c->err ? c->errstr : "SCAN failed");
		json_decref(nodes);
		json_decref(rooms);
		return NULL;
	}
	return json_pack("{sosososIsI}", "prefix", json_string(prefix), "nodes", nodes, "rooms", rooms, "users",
		users, "publisher_users", pubs);
}
