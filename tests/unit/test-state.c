/*! \file    test-state.c
 * \brief    Unit tests for sfu_state's Redis backend against a real redis-server (Debian's, on a unix socket in a
 *           temporary folder; skipped when it is not installed), with the fake core: local changes become keys
 *           with their TTL, another node's messages are applied, bad messages are ignored, a starting node reads
 *           the stored state, the directory key, Redis killed (state unavailable: joins refused) and started again
 *           empty (the node writes its entries back).
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wswitch-default"
#include <hiredis.h>
#pragma GCC diagnostic pop

#include "sfu_access.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_registry.h"
#include "sfu_state.h"
#include "support/fake-core.h"

#define REDIS_SERVER "/usr/bin/redis-server"

static char *dir = NULL, *sock = NULL;
static GPid redis_pid = 0;

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

static redisContext *client(void) {
	struct timeval tv = {1, 0};
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);
	if(c != NULL && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* A command on a fresh connection; the reply (free it) or NULL. */
static redisReply *run(const char *fmt, ...) {
	redisContext *c = client();
	if(c == NULL)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	redisFree(c);
	return r;
}

static gboolean redis_start(void) {
	const char *argv[] = {REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly",
		"no", "--dir", dir, "--loglevel", "warning", NULL};
	GError *error = NULL;
	if(!g_spawn_async(NULL, (gchar **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
		   NULL, NULL, &redis_pid, &error)) {
		g_test_message("redis-server: %s", error->message);
		g_error_free(error);
		return FALSE;
	}
	for(int i = 0; i < 200; i++) {
		redisReply *r = run("PING");
		gboolean up = r != NULL && r->type == REDIS_REPLY_STATUS;
		if(r)
			freeReplyObject(r);
		if(up)
			return TRUE;
		g_usleep(25000);
	}
	return FALSE;
}

static void redis_kill(void) {
	if(redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		g_spawn_close_pid(redis_pid);
		redis_pid = 0;
	}
	g_unlink(sock);
}

/* Polls \p cond for up to \p ms. */
#define WAIT_FOR(cond, ms)                                                                                   \
	do {                                                                                                     \
		gint64 end_ = g_get_monotonic_time() + (ms)*1000;                                                    \
		while(!(cond) && g_get_monotonic_time() < end_)                                                      \
			g_usleep(10000);                                                                                 \
		g_assert_true(cond);                                                                                 \
	} while(0)

static long long ttl_of(const char *key) {
	redisReply *r = run("TTL %s", key);
	long long t = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -3;
	if(r)
		freeReplyObject(r);
	return t;
}

static gboolean exists(const char *key) {
	return ttl_of(key) >= -1;
}

static void publish(const char *json) {
	redisReply *r = run("PUBLISH t:events %s", json);
	g_assert_nonnull(r);
	freeReplyObject(r);
}

static json_int_t stat_of(const char *name) {
	json_t *s = sfu_state_stats();
	json_int_t v = json_integer_value(json_object_get(s, name));
	json_decref(s);
	return v;
}

static void test_state_redis(void) {
	if(!g_file_test(REDIS_SERVER, G_FILE_TEST_IS_EXECUTABLE)) {
		g_test_skip("redis-server not installed (scripts/install-deps.sh installs it)");
		return;
	}
	dir = g_dir_make_tmp("sfu-test-state-XXXXXX", NULL);
	sock = g_build_filename(dir, "redis.sock", NULL);
	g_assert_true(redis_start());
	fake_core_install();
	sfu_registry_init(1000);
	sfu_config *cfg = sfu_config_new_defaults();
	cfg->state_backend = SFU_STATE_REDIS;
	cfg->redis_url = g_strdup_printf("unix://%s", sock);
	g_free(cfg->key_prefix);
	cfg->key_prefix = g_strdup("t:");
	cfg->node_id = g_strdup("n1");
	cfg->directory_interval_s = 1;
	cfg->connect_timeout_ms = 200;
	cfg->command_timeout_ms = 500;
	g_assert_cmpint(sfu_access_start(cfg), ==, 0);
	GError *error = NULL;
	g_assert_cmpint(sfu_state_start(cfg, &error), ==, 0);
	g_assert_no_error(error);
	WAIT_FOR(sfu_access_state_available(), 5000);
	WAIT_FOR(exists("t:node:n1"), 3000);

	/* A local change: a key with the entry's expiry as TTL. */
	sfu_access_revoke(SFU_REVOKE_JTI, "j1", now_s() + 100, "admin", TRUE, NULL);
	WAIT_FOR(exists("t:revoke:jti:j1"), 2000);
	long long ttl = ttl_of("t:revoke:jti:j1");
	g_assert_cmpint(ttl, >, 90);
	g_assert_cmpint(ttl, <=, 100);
	sfu_access_mute("room", "mia", SFU_MUTE_VIDEO, TRUE, "boss");
	WAIT_FOR(exists("t:mute:4:room:mia"), 2000);
	sfu_access_mute("room", "mia", SFU_MUTE_VIDEO, FALSE, "boss");
	WAIT_FOR(!exists("t:mute:4:room:mia"), 2000);

	/* Another node's message: applied here. */
	char *msg = g_strdup_printf(
		"{\"v\":1,\"type\":\"revoke\",\"kind\":\"sub\",\"value\":\"s9\",\"until\":%" G_GINT64_FORMAT
		",\"origin\":\"other/1\",\"at_us\":%" G_GINT64_FORMAT "}",
		now_s() + 60, g_get_real_time());
	publish(msg);
	g_free(msg);
	WAIT_FOR(sfu_bans_revoked(NULL, "s9", NULL, NULL, now_s()), 2000);
	/* Bad ones are counted and ignored; nothing crashes. */
	json_int_t invalid = stat_of("invalid");
	publish("not json");
	publish("{\"v\":1,\"type\":\"ban\",\"room_id\":\"r\"}");
	publish("{\"v\":1,\"type\":\"mute\",\"room_id\":\"r\",\"user_id\":\"u\",\"mask\":99,\"until\":1}");
	publish("{\"v\":2,\"type\":\"revoke\",\"kind\":\"jti\",\"value\":\"x\",\"until\":99999999999}");
	WAIT_FOR(stat_of("invalid") == invalid + 4, 2000);
	g_assert_false(sfu_bans_revoked("x", NULL, NULL, NULL, now_s()));

	/* A starting node reads the stored state. */
	char *ban = g_strdup_printf(
		"{\"type\":\"ban\",\"room_id\":\"r\",\"kind\":\"user_id\",\"value\":\"zed\",\"user_id\":"
		"\"zed\",\"until\":%" G_GINT64_FORMAT ",\"by\":\"owner\"}",
		now_s() + 300);
	redisReply *r = run("SET t:ban:1:r:user_id:zed %s EX 300", ban);
	g_assert_nonnull(r);
	freeReplyObject(r);
	g_free(ban);
	sfu_state_stop();
	g_assert_false(sfu_bans_check("r", "zed", NULL, NULL, now_s()));
	g_assert_cmpint(sfu_state_start(cfg, &error), ==, 0);
	WAIT_FOR(sfu_access_state_available(), 5000);
	g_assert_true(sfu_bans_check("r", "zed", NULL, NULL, now_s()));

	/* Redis gone: not current, admissions refused; back empty: current again, our entries written back. */
	redis_kill();
	WAIT_FOR(!sfu_access_state_available(), 5000);
	g_assert_true(redis_start());
	g_assert_false(exists("t:revoke:jti:j1"));
	WAIT_FOR(sfu_access_state_available(), 8000);
	WAIT_FOR(exists("t:revoke:jti:j1"), 2000);
	g_assert_true(exists("t:ban:1:r:user_id:zed"));
	json_t *stats = sfu_state_stats();
	g_assert_true(json_is_true(json_object_get(stats, "connected")));
	g_assert_cmpint(json_integer_value(json_object_get(stats, "reseeded")), >=, 2);
	json_decref(stats);

	/* The directory, as sfu-token directory reads it. */
	void *ctx = sfu_state_redis_connect(cfg->redis_url, NULL, 1000, &error);
	g_assert_no_error(error);
	WAIT_FOR(exists("t:node:n1"), 3000);
	json_t *d = sfu_state_directory(ctx, "t:", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(json_array_size(json_object_get(d, "nodes")), ==, 1);
	json_decref(d);
	sfu_state_redis_free(ctx);

	sfu_state_stop();
	g_assert_false(exists("t:node:n1")); /* a node that stops leaves the directory */
	sfu_access_stop();
	sfu_registry_shutdown();
	fake_core_uninstall();
	sfu_config_free(cfg);
	redis_kill();
	g_rmdir(dir);
	g_free(sock);
	g_free(dir);
}

static void test_redis_urls(void) {
	const char *good[] = {"redis://127.0.0.1", "redis://h:6380/2", "redis://:secret@h",
		"redis://user:p%40ss@h:1/0", "unix:///run/redis.sock", "unix:///run/redis.sock?db=3"};
	const char *bad[] = {"rediss://h", "http://h", "redis://", "redis://h:0", "redis://h:70000",
		"redis://h/x", "unix://relative", "unix:///s?db=x", "redis://user@h"};
	for(size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		sfu_redis_address a;
		const char *why = NULL;
		g_assert_true(sfu_redis_address_parse(good[i], &a, &why));
		sfu_redis_address_clear(&a);
	}
	sfu_redis_address a;
	const char *why = NULL;
	g_assert_true(sfu_redis_address_parse("redis://user:p%40ss@h:1/5", &a, &why));
	g_assert_cmpstr(a.user, ==, "user");
	g_assert_cmpstr(a.password, ==, "p@ss");
	g_assert_cmpstr(a.host, ==, "h");
	g_assert_cmpuint(a.port, ==, 1);
	g_assert_cmpuint(a.db, ==, 5);
	sfu_redis_address_clear(&a);
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_false(sfu_redis_address_parse(bad[i], &a, &why));
		g_assert_nonnull(why);
	}
	g_assert_false(sfu_redis_address_parse("rediss://h", &a, &why));
	g_assert_nonnull(strstr(why, "hiredis"));
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/state/redis-urls", test_redis_urls);
	g_test_add_func("/state/redis", test_state_redis);
	return g_test_run();
}
