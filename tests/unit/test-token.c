/*! \file    test-token.c
 * \brief    Unit tests for sfu_token: open mode, fail-closed loading, policy per purpose, the
 *           verified-token cache, key reload/rotation, logging (never the token), threads
 * \details  Keys are generated at test time and written to a temporary folder that is removed at the end.
 */
#include <glib/gstdio.h>
#include <string.h>

#include "sfu_token.h"
#include "sfu_jwt.h"
#include "support/janus-stubs.h"
#include "jwt-mint.h"

#define NOW INT64_C(1700000000)

static EVP_PKEY *key_a = NULL, *key_b = NULL, *key_small = NULL;
static char *tmpdir = NULL;
static char *path_a = NULL, *path_b = NULL, *path_small = NULL, *path_jwks_a = NULL, *path_jwks_ab = NULL,
			*path_jwks_b = NULL;

static char *write_file(const char *name, const void *data, size_t len) {
	char *path = g_build_filename(tmpdir, name, NULL);
	g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
	return path;
}

static char *write_public_der(const char *name, EVP_PKEY *pkey) {
	size_t len = 0;
	guint8 *der = mint_public(pkey, "DER", "type-specific", &len);
	char *path = write_file(name, der, len);
	g_free(der);
	return path;
}

static char *write_jwks(const char *name, EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2, const char *kid2) {
	char *j1 = mint_jwk(k1, kid1, NULL), *j2 = k2 ? mint_jwk(k2, kid2, NULL) : NULL;
	char *doc = g_strdup_printf("{\"keys\":[%s%s%s]}", j1, j2 ? "," : "", j2 ? j2 : "");
	char *path = write_file(name, doc, strlen(doc));
	g_free(j1);
	g_free(j2);
	g_free(doc);
	return path;
}

/* A config with only the given key files set (others default, but no clock leeway: the tests here put the
 * clock exactly on the edges; the leeway has tests of its own). */
static sfu_config *config_with(const char *auth_key, const char *auth_keys) {
	sfu_config *cfg = sfu_config_new_defaults();
	cfg->clock_leeway_s = 0;
	g_free(cfg->auth_key);
	g_free(cfg->auth_keys);
	cfg->auth_key = g_strdup(auth_key);
	cfg->auth_keys = g_strdup(auth_keys);
	return cfg;
}

static sfu_token_verifier *auth_with(const char *auth_key, const char *auth_keys) {
	sfu_config *cfg = config_with(auth_key, auth_keys);
	GError *error = NULL;
	sfu_token_verifier *auth = sfu_token_new(cfg, &error);
	g_assert_no_error(error);
	g_assert_nonnull(auth);
	sfu_config_free(cfg);
	return auth;
}

typedef struct outcome {
	sfu_token_verdict verdict;
	const char *reason;
	sfu_grant grant;
} outcome;

static outcome check(sfu_token_verifier *auth, const char *token, sfu_token_purpose purpose, const char *room,
	const char *user, gint64 now) {
	outcome o;
	o.reason = NULL;
	o.verdict = sfu_token_check(auth, token, purpose, room, user, now, &o.grant, &o.reason);
	g_assert_nonnull(o.reason);
	return o;
}

static void expect(sfu_token_verifier *auth, const char *token, sfu_token_purpose purpose, const char *room,
	const char *user, gint64 now, sfu_token_verdict verdict, const char *reason) {
	outcome o = check(auth, token, purpose, room, user, now);
	if(o.verdict != verdict || strcmp(o.reason, reason) != 0)
		g_test_message("got %s/%s, want %s/%s", sfu_token_verdict_name(o.verdict), o.reason,
			sfu_token_verdict_name(verdict), reason);
	g_assert_cmpstr(sfu_token_verdict_name(o.verdict), ==, sfu_token_verdict_name(verdict));
	g_assert_cmpstr(o.reason, ==, reason);
	sfu_grant_clear(&o.grant);
}

/* =============================================================================
 * Creation
 * ==========================================================================*/

static void test_open_mode(void) {
	sfu_test_log_clear();
	sfu_token_verifier *auth = auth_with(NULL, NULL);
	g_assert_true(sfu_token_is_open(auth));
	g_assert_true(sfu_test_log_contains("AUTHENTICATION IS OFF"));
	/* tokens are ignored, even garbage */
	outcome o = check(auth, NULL, SFU_TOKEN_FOR_JOIN, "any", "u", NOW);
	g_assert_cmpint(o.verdict, ==, SFU_TOKEN_OK);
	g_assert_cmpstr(o.reason, ==, "ok");
	g_assert_true(o.grant.join_hub && o.grant.any_room && o.grant.publish_media && o.grant.send_data);
	g_assert_false(o.grant.kick_users);
	g_assert_cmpint(o.grant.exp, ==, 0);
	sfu_grant_clear(&o.grant);
	expect(auth, "garbage", SFU_TOKEN_FOR_SUBSCRIBE, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	/* nobody may kick */
	expect(auth, NULL, SFU_TOKEN_FOR_KICK, "r", NULL, NOW, SFU_TOKEN_FORBIDDEN, "auth_disabled");
	/* reload cannot turn authentication on behind the operator's back (needs a restart) */
	sfu_config *cfg = config_with(path_a, NULL);
	GError *error = NULL;
	g_assert_false(sfu_token_reload(auth, cfg, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	sfu_config_free(cfg);
	g_assert_true(sfu_token_is_open(auth));
	sfu_token_free(auth);
	/* empty strings count as "not configured" */
	auth = auth_with("", "");
	g_assert_true(sfu_token_is_open(auth));
	sfu_token_free(auth);
}

static void test_fail_closed(void) {
	char *garbage = write_file("garbage.der", "not a key", 9);
	char *bad_jwks = write_file("bad.json", "{\"keys\":[]}", 11);
	const char *bad_keys[][2] = {
		{"/nonexistent/key.der", NULL}, {garbage, NULL}, {path_small, NULL}, /* 1024-bit */
		{NULL, "/nonexistent/jwks.json"}, {NULL, bad_jwks},
		{path_a, bad_jwks}, /* one good file does not rescue a bad one */
	};
	for(size_t i = 0; i < G_N_ELEMENTS(bad_keys); i++) {
		sfu_config *cfg = config_with(bad_keys[i][0], bad_keys[i][1]);
		GError *error = NULL;
		sfu_token_verifier *auth = sfu_token_new(cfg, &error);
		g_assert_null(auth);
		g_assert_nonnull(error);
		g_test_message("refused as expected: %s", error->message);
		g_clear_error(&error);
		sfu_config_free(cfg);
	}
	GError *error = NULL;
	g_assert_null(sfu_token_new(NULL, &error));
	g_clear_error(&error);
	g_unlink(garbage);
	g_unlink(bad_jwks);
	g_free(garbage);
	g_free(bad_jwks);
}

/* =============================================================================
 * Policy
 * ==========================================================================*/

static void test_missing_and_invalid(void) {
	sfu_token_verifier *auth = auth_with(path_a, NULL);
	g_assert_false(sfu_token_is_open(auth));
	expect(auth, NULL, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_MISSING, "missing_token");
	expect(auth, "", SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "malformed_token");
	expect(auth, "a.b.c", SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "malformed_token");
	char *other = mint_token(key_b, NULL, "{\"exp\":1700000100,\"join_hub\":true}");
	outcome o = check(auth, other, SFU_TOKEN_FOR_JOIN, "r", "u", NOW);
	g_assert_cmpint(o.verdict, ==, SFU_TOKEN_INVALID);
	g_assert_cmpstr(o.reason, ==, "bad_signature");
	g_assert_false(o.grant.join_hub); /* nothing from an unverified token */
	sfu_grant_clear(&o.grant);
	char *expired = mint_token(key_a, NULL, "{\"exp\":1699999999,\"join_hub\":true}");
	expect(auth, expired, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "token_expired");
	/* the verdict is usable without a grant or a reason */
	g_assert_cmpint(
		sfu_token_check(auth, expired, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, NULL, NULL), ==, SFU_TOKEN_INVALID);
	g_assert_cmpint(
		sfu_token_check(NULL, expired, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, NULL, NULL), ==, SFU_TOKEN_INVALID);
	g_free(other);
	g_free(expired);
	sfu_token_free(auth);
}

static void test_join_policy(void) {
	sfu_token_verifier *auth = auth_with(path_a, NULL);
	char *no_hub = mint_token(key_a, NULL, "{\"exp\":1700000100,\"kick_users\":true}");
	char *any = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"room_ids\":null}");
	char *list =
		mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"room_ids\":[\"alpha\",\"b\"]}");
	char *none = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"room_ids\":[]}");
	sfu_token_purpose purposes[] = {SFU_TOKEN_FOR_JOIN, SFU_TOKEN_FOR_SUBSCRIBE, SFU_TOKEN_FOR_REFRESH};
	for(size_t i = 0; i < G_N_ELEMENTS(purposes); i++) {
		sfu_token_purpose p = purposes[i];
		outcome o = check(auth, no_hub, p, "alpha", "u", NOW);
		g_assert_cmpint(o.verdict, ==, SFU_TOKEN_FORBIDDEN);
		g_assert_cmpstr(o.reason, ==, "join_not_allowed");
		g_assert_true(o.grant.kick_users); /* the grant is filled for a valid but insufficient token */
		g_assert_cmpint(o.grant.exp, ==, 1700000100);
		sfu_grant_clear(&o.grant);
		expect(auth, any, p, "alpha", "u", NOW, SFU_TOKEN_OK, "ok");
		expect(auth, list, p, "alpha", "u", NOW, SFU_TOKEN_OK, "ok");
		expect(auth, list, p, "b", "u", NOW, SFU_TOKEN_OK, "ok");
		expect(auth, list, p, "beta", "u", NOW, SFU_TOKEN_FORBIDDEN, "room_not_allowed");
		expect(auth, list, p, "Alpha", "u", NOW, SFU_TOKEN_FORBIDDEN, "room_not_allowed");
		/* No room: the caller checks it once known (a subscribe finds the publisher after the token). */
		expect(auth, list, p, NULL, "u", NOW, SFU_TOKEN_OK, "ok");
		expect(auth, none, p, "alpha", "u", NOW, SFU_TOKEN_FORBIDDEN, "room_not_allowed");
	}
	outcome o = check(auth, list, SFU_TOKEN_FOR_JOIN, "alpha", "u", NOW);
	g_assert_false(o.grant.any_room);
	g_assert_true(sfu_grant_allows_room(&o.grant, "b"));
	g_assert_false(sfu_grant_allows_room(&o.grant, "c"));
	g_assert_true(o.grant.publish_media && o.grant.send_data);
	sfu_grant_clear(&o.grant);
	g_assert_false(sfu_grant_allows_room(NULL, "b"));
	g_free(no_hub);
	g_free(any);
	g_free(list);
	g_free(none);
	sfu_token_free(auth);
}

static void test_kick_policy(void) {
	sfu_token_verifier *auth = auth_with(path_a, NULL);
	char *joiner = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true}");
	char *kicker = mint_token(key_a, NULL, "{\"exp\":1700000100,\"kick_users\":true}");
	char *scoped =
		mint_token(key_a, NULL, "{\"exp\":1700000100,\"kick_users\":true,\"room_ids\":[\"alpha\"]}");
	expect(auth, joiner, SFU_TOKEN_FOR_KICK, "alpha", NULL, NOW, SFU_TOKEN_FORBIDDEN, "kick_not_allowed");
	expect(auth, kicker, SFU_TOKEN_FOR_KICK, "alpha", NULL, NOW, SFU_TOKEN_OK, "ok");
	expect(auth, kicker, SFU_TOKEN_FOR_KICK, "beta", NULL, NOW, SFU_TOKEN_OK, "ok");
	expect(auth, scoped, SFU_TOKEN_FOR_KICK, "alpha", NULL, NOW, SFU_TOKEN_OK, "ok");
	expect(auth, scoped, SFU_TOKEN_FOR_KICK, "beta", NULL, NOW, SFU_TOKEN_FORBIDDEN, "room_not_allowed");
	expect(auth, NULL, SFU_TOKEN_FOR_KICK, "alpha", NULL, NOW, SFU_TOKEN_MISSING, "missing_token");
	g_free(joiner);
	g_free(kicker);
	g_free(scoped);
	sfu_token_free(auth);
}

static void test_user_binding(void) {
	sfu_config *cfg = config_with(path_a, NULL);
	sfu_token_verifier *auth = sfu_token_new(cfg, NULL);
	char *bound = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"user_id\":\"alice\"}");
	char *unbound = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"kick_users\":true}");
	expect(auth, bound, SFU_TOKEN_FOR_JOIN, "r", "alice", NOW, SFU_TOKEN_OK, "ok");
	expect(auth, bound, SFU_TOKEN_FOR_JOIN, "r", "bob", NOW, SFU_TOKEN_FORBIDDEN, "user_mismatch");
	expect(auth, bound, SFU_TOKEN_FOR_JOIN, "r", "alicE", NOW, SFU_TOKEN_FORBIDDEN, "user_mismatch");
	expect(auth, bound, SFU_TOKEN_FOR_SUBSCRIBE, "r", "bob", NOW, SFU_TOKEN_FORBIDDEN, "user_mismatch");
	expect(auth, unbound, SFU_TOKEN_FOR_JOIN, "r", "anyone", NOW, SFU_TOKEN_OK, "ok");
	/* kick: no requesting user to compare */
	expect(auth, unbound, SFU_TOKEN_FOR_KICK, "r", NULL, NOW, SFU_TOKEN_OK, "ok");
	sfu_token_free(auth);
	cfg->require_user_binding = TRUE;
	auth = sfu_token_new(cfg, NULL);
	expect(auth, bound, SFU_TOKEN_FOR_JOIN, "r", "alice", NOW, SFU_TOKEN_OK, "ok");
	expect(
		auth, unbound, SFU_TOKEN_FOR_JOIN, "r", "anyone", NOW, SFU_TOKEN_FORBIDDEN, "user_binding_required");
	expect(auth, unbound, SFU_TOKEN_FOR_KICK, "r", NULL, NOW, SFU_TOKEN_FORBIDDEN, "user_binding_required");
	sfu_token_free(auth);
	sfu_config_free(cfg);
	g_free(bound);
	g_free(unbound);
}

static void test_config_options(void) {
	sfu_config *cfg = config_with(path_a, NULL);
	cfg->audience = g_strdup("sfu");
	cfg->issuer = g_strdup("https://issuer");
	cfg->clock_leeway_s = 30;
	g_strfreev(cfg->algorithms);
	cfg->algorithms = g_strsplit("RS512,PS512", ",", -1);
	sfu_token_verifier *auth = sfu_token_new(cfg, NULL);
	g_assert_nonnull(auth);
	char *good = mint_token(
		key_a, NULL, "{\"exp\":1699999980,\"join_hub\":true,\"aud\":[\"sfu\"],\"iss\":\"https://issuer\"}");
	char *aud = mint_token(
		key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"aud\":\"x\",\"iss\":\"https://issuer\"}");
	char *iss = mint_token(
		key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true,\"aud\":\"sfu\",\"iss\":\"https://x\"}");
	char *ps = mint_token_ex(key_a, "PS512", NULL, 0, "{\"alg\":\"PS512\"}",
		"{\"exp\":1700000100,\"join_hub\":true,\"aud\":\"sfu\",\"iss\":\"https://issuer\"}");
	char *rs256 = mint_token_ex(key_a, "RS256", NULL, 0, "{\"alg\":\"RS256\"}",
		"{\"exp\":1700000100,\"join_hub\":true,\"aud\":\"sfu\",\"iss\":\"https://issuer\"}");
	expect(auth, good, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok"); /* 20 s past exp, leeway 30 */
	expect(auth, good, SFU_TOKEN_FOR_JOIN, "r", "u", NOW + 10, SFU_TOKEN_INVALID, "token_expired");
	expect(auth, aud, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "audience_mismatch");
	expect(auth, iss, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "issuer_mismatch");
	expect(auth, ps, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	expect(auth, rs256, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "algorithm_not_allowed");
	sfu_token_free(auth);
	sfu_config_free(cfg);
	g_free(good);
	g_free(aud);
	g_free(iss);
	g_free(ps);
	g_free(rs256);
}

static void test_grant_fields(void) {
	sfu_token_verifier *auth = auth_with(path_a, path_jwks_ab);
	char *token = mint_token(key_b, "kb",
		"{\"exp\":1700000100,\"nbf\":1699990000,\"iat\":1699990001,\"join_hub\":true,\"publish_media\":false,"
		"\"send_data\":false,\"eject_at_exp\":false,\"max_session_s\":900,\"room_ids\":[\"r\"],\"user_id\":"
		"\"u\","
		"\"sub\":\"S\",\"jti\":\"J\"}");
	/* twice: the second answer comes from the cache and must be identical */
	for(int round = 0; round < 2; round++) {
		outcome o = check(auth, token, SFU_TOKEN_FOR_JOIN, "r", "u", NOW);
		g_assert_cmpint(o.verdict, ==, SFU_TOKEN_OK);
		sfu_grant *g = &o.grant;
		g_assert_cmpint(g->exp, ==, 1700000100);
		g_assert_cmpint(g->nbf, ==, 1699990000);
		g_assert_cmpint(g->iat, ==, 1699990001);
		g_assert_true(g->join_hub && !g->kick_users && !g->publish_media && !g->send_data);
		g_assert_true(g->has_eject_at_exp && !g->eject_at_exp);
		g_assert_cmpint(g->max_session_s, ==, 900);
		g_assert_false(g->any_room);
		g_assert_cmpstr(g->room_ids[0], ==, "r");
		g_assert_null(g->room_ids[1]);
		g_assert_cmpstr(g->user_id, ==, "u");
		g_assert_cmpstr(g->sub, ==, "S");
		g_assert_cmpstr(g->jti, ==, "J");
		g_assert_cmpstr(g->kid, ==, "kb");
		sfu_grant_clear(g);
		g_assert_null(g->room_ids);
	}
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, 1);
	sfu_grant_clear(NULL);
	g_free(token);
	sfu_token_free(auth);
}

/* =============================================================================
 * Cache
 * ==========================================================================*/

static void test_cache(void) {
	sfu_token_verifier *auth = auth_with(path_a, NULL);
	char *token = mint_token(
		key_a, NULL, "{\"exp\":1700000100,\"nbf\":1699999990,\"join_hub\":true,\"room_ids\":[\"r\"]}");
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, 0);
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, 1);
	/* a hit still checks the room, the time claims and the user against this call */
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "other", "u", NOW, SFU_TOKEN_FORBIDDEN, "room_not_allowed");
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "r", "u", 1700000100, SFU_TOKEN_INVALID, "token_expired");
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "r", "u", 1699999989, SFU_TOKEN_INVALID, "token_not_yet_valid");
	expect(auth, token, SFU_TOKEN_FOR_KICK, "r", NULL, NOW, SFU_TOKEN_FORBIDDEN, "kick_not_allowed");
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, 5);
	/* a one-character change is another token: verified from scratch, and refused */
	char *tampered = g_strdup(token);
	size_t len = strlen(tampered);
	tampered[len - 3] = tampered[len - 3] == 'A' ? 'B' : 'A';
	expect(auth, tampered, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "bad_signature");
	expect(auth, tampered, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "bad_signature");
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, 5);
	/* an expired token is not cached as "bad": it verifies again when checked with an earlier clock */
	char *soon = mint_token(key_a, NULL, "{\"exp\":1700000001,\"join_hub\":true}");
	expect(auth, soon, SFU_TOKEN_FOR_JOIN, "r", "u", NOW + 5, SFU_TOKEN_INVALID, "token_expired");
	expect(auth, soon, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	/* disabled: no hits */
	sfu_token_set_cache_enabled(auth, FALSE);
	guint64 hits = sfu_token_cache_hits(auth);
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, hits);
	sfu_token_set_cache_enabled(auth, TRUE);
	/* many distinct tokens: bounded, and every one still verifies correctly */
	for(int i = 0; i < 300; i++) {
		char *payload = g_strdup_printf("{\"exp\":1700000100,\"join_hub\":true,\"jti\":\"%d\"}", i);
		char *t = mint_token(key_a, NULL, payload);
		expect(auth, t, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
		g_free(t);
		g_free(payload);
	}
	g_free(token);
	g_free(tampered);
	g_free(soon);
	sfu_token_free(auth);
}

/* =============================================================================
 * Reload and rotation
 * ==========================================================================*/

static void test_reload(void) {
	sfu_token_verifier *auth = auth_with(NULL, path_jwks_a);
	char *old_a = mint_token(key_a, "ka", "{\"exp\":1700000100,\"join_hub\":true}");
	char *new_b = mint_token(key_b, "kb", "{\"exp\":1700000100,\"join_hub\":true}");
	char *b_as_a = mint_token(key_b, "ka", "{\"exp\":1700000100,\"join_hub\":true}");
	char *nokid = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":true}");
	expect(auth, old_a, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	expect(auth, old_a, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok"); /* now cached */
	expect(auth, new_b, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "unknown_kid");
	expect(auth, nokid, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "unknown_kid");
	/* rotation step 1: publish both keys */
	sfu_config *cfg = config_with(NULL, path_jwks_ab);
	GError *error = NULL;
	g_assert_true(sfu_token_reload(auth, cfg, &error));
	g_assert_no_error(error);
	sfu_config_free(cfg);
	expect(auth, old_a, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	expect(auth, new_b, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	/* step 2: retire the old key; the cached verdict for old_a must be gone with it */
	guint64 hits = sfu_token_cache_hits(auth);
	cfg = config_with(NULL, path_jwks_b);
	g_assert_true(sfu_token_reload(auth, cfg, NULL));
	sfu_config_free(cfg);
	expect(auth, old_a, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "unknown_kid");
	expect(auth, new_b, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	g_assert_cmpuint(sfu_token_cache_hits(auth), ==, hits);
	/* a failed reload keeps the keys in force */
	cfg = config_with(NULL, "/nonexistent/jwks.json");
	g_assert_false(sfu_token_reload(auth, cfg, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	sfu_config_free(cfg);
	cfg = config_with(path_small, NULL);
	g_assert_false(sfu_token_reload(auth, cfg, NULL));
	sfu_config_free(cfg);
	expect(auth, new_b, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	expect(auth, b_as_a, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "unknown_kid");
	/* reloading into "no key" would switch authentication off: refused */
	cfg = config_with(NULL, NULL);
	g_assert_false(sfu_token_reload(auth, cfg, &error));
	g_clear_error(&error);
	sfu_config_free(cfg);
	g_assert_false(sfu_token_is_open(auth));
	expect(auth, NULL, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_MISSING, "missing_token");
	/* a same-path reload picks up a replaced file (key replaced in place) */
	cfg = config_with(path_a, NULL);
	sfu_token_verifier *single = sfu_token_new(cfg, NULL);
	expect(single, nokid, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_OK, "ok");
	char *replaced = write_public_der("replaced.der", key_b);
	g_free(cfg->auth_key);
	cfg->auth_key = g_strdup(replaced);
	g_assert_true(sfu_token_reload(single, cfg, NULL));
	expect(single, nokid, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "bad_signature");
	g_unlink(replaced);
	g_free(replaced);
	sfu_token_free(single);
	sfu_config_free(cfg);
	g_free(old_a);
	g_free(new_b);
	g_free(b_as_a);
	g_free(nokid);
	sfu_token_free(auth);
}

/* =============================================================================
 * Logging
 * ==========================================================================*/

/* A flood of bad tokens cannot flood the log: lines are rate limited, and the next one says how many were not. */
static void test_logging_rate_limited(void) {
	sfu_token_verifier *auth = auth_with(path_a, NULL);
	sfu_test_log_clear();
	for(int i = 0; i < 500; i++)
		expect(auth, "garbage", SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "malformed_token");
	guint logged = sfu_test_log_count("join rejected (invalid)");
	g_test_message("%u of 500 rejections logged", logged);
	g_assert_cmpuint(logged, >=, 20);
	g_assert_cmpuint(logged, <=, 80);
	g_usleep(200000); /* some budget comes back */
	expect(auth, "garbage", SFU_TOKEN_FOR_JOIN, "r", "u", NOW, SFU_TOKEN_INVALID, "malformed_token");
	g_assert_true(sfu_test_log_contains("more rejections were not logged (rate limit)"));
	sfu_token_free(auth);
}

static void test_logging(void) {
	sfu_token_verifier *auth = auth_with(path_a, NULL);
	char *token = mint_token(key_a, "kid-1",
		"{\"exp\":1700000100,\"join_hub\":true,\"room_ids\":[\"alpha\"],\"jti\":\"jti-42\",\"sub\":\"sub-"
		"7\"}");
	char *signature = strrchr(token, '.') + 1;
	char *payload_part = g_strndup(strchr(token, '.') + 1, 20);
	sfu_test_log_clear();
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "beta", "bob", NOW, SFU_TOKEN_FORBIDDEN, "room_not_allowed");
	g_assert_true(
		sfu_test_log_contains("join rejected (forbidden): reason=room_not_allowed room=beta user=bob "
							  "kid=kid-1 jti=jti-42 sub=sub-7"));
	g_assert_false(sfu_test_log_contains(token));
	g_assert_false(sfu_test_log_contains(signature));
	g_assert_false(sfu_test_log_contains(payload_part));
	/* invalid tokens: the reason, never the token */
	sfu_test_log_clear();
	char *tampered = g_strdup_printf("%sx", token);
	expect(auth, tampered, SFU_TOKEN_FOR_SUBSCRIBE, "alpha", "bob", NOW, SFU_TOKEN_INVALID, "bad_signature");
	g_assert_true(sfu_test_log_contains(
		"subscribe rejected (invalid): reason=bad_signature room=alpha user=bob kid=- jti=- sub=-"));
	g_assert_false(sfu_test_log_contains(payload_part));
	/* hostile identifiers stay on one line */
	sfu_test_log_clear();
	expect(auth, NULL, SFU_TOKEN_FOR_JOIN, "a\nb", "c\rd", NOW, SFU_TOKEN_MISSING, "missing_token");
	g_assert_true(sfu_test_log_contains("room=a?b user=c?d kid=- jti=- sub=-"));
	/* success logs no warning */
	sfu_test_log_clear();
	expect(auth, token, SFU_TOKEN_FOR_JOIN, "alpha", "bob", NOW, SFU_TOKEN_OK, "ok");
	g_assert_false(sfu_test_log_contains("rejected"));
	g_free(tampered);
	g_free(payload_part);
	g_free(token);
	sfu_token_free(auth);
}

/* =============================================================================
 * Threads: checks racing with reloads
 * ==========================================================================*/

typedef struct race {
	sfu_token_verifier *auth;
	const char *token;
	gint stop;
	gint failures;
	gint checks;
} race;

static gpointer checker(gpointer data) {
	race *r = data;
	while(!g_atomic_int_get(&r->stop)) {
		const char *reason = NULL;
		sfu_grant g;
		sfu_token_verdict v =
			sfu_token_check(r->auth, r->token, SFU_TOKEN_FOR_JOIN, "r", "u", NOW, &g, &reason);
		if(v != SFU_TOKEN_OK || strcmp(reason, "ok") != 0 || g.exp != 1700000100)
			g_atomic_int_inc(&r->failures);
		sfu_grant_clear(&g);
		g_atomic_int_inc(&r->checks);
	}
	sfu_jwt_thread_cleanup();
	return NULL;
}

static void test_reload_race(void) {
	sfu_token_verifier *auth = auth_with(path_a, path_jwks_ab);
	char *token = mint_token(key_b, "kb", "{\"exp\":1700000100,\"join_hub\":true}");
	race r = {auth, token, 0, 0, 0};
	GThread *threads[3];
	for(int i = 0; i < 3; i++)
		threads[i] = g_thread_new("check", checker, &r);
	sfu_config *cfg = config_with(path_a, path_jwks_ab);
	for(int i = 0; i < 20; i++) {
		g_assert_true(sfu_token_reload(auth, cfg, NULL));
		g_usleep(2000);
	}
	g_atomic_int_set(&r.stop, 1);
	for(int i = 0; i < 3; i++)
		g_thread_join(threads[i]);
	g_assert_cmpint(r.failures, ==, 0);
	g_assert_cmpint(r.checks, >, 0);
	sfu_config_free(cfg);
	g_free(token);
	sfu_token_free(auth);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	key_a = mint_keygen(2048);
	key_b = mint_keygen(2048);
	key_small = mint_keygen(1024);
	tmpdir = g_dir_make_tmp("sfu-test-token-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	path_a = write_public_der("a.der", key_a);
	path_b = write_public_der("b.der", key_b);
	path_small = write_public_der("small.der", key_small);
	path_jwks_a = write_jwks("a.json", key_a, "ka", NULL, NULL);
	path_jwks_ab = write_jwks("ab.json", key_a, "ka", key_b, "kb");
	path_jwks_b = write_jwks("b.json", key_b, "kb", NULL, NULL);
	g_test_add_func("/token/open-mode", test_open_mode);
	g_test_add_func("/token/fail-closed", test_fail_closed);
	g_test_add_func("/token/missing-and-invalid", test_missing_and_invalid);
	g_test_add_func("/token/policy/join-subscribe-refresh", test_join_policy);
	g_test_add_func("/token/policy/kick", test_kick_policy);
	g_test_add_func("/token/policy/user-binding", test_user_binding);
	g_test_add_func("/token/config-options", test_config_options);
	g_test_add_func("/token/grant-fields", test_grant_fields);
	g_test_add_func("/token/cache", test_cache);
	g_test_add_func("/token/reload", test_reload);
	g_test_add_func("/token/logging", test_logging);
	g_test_add_func("/token/logging-rate-limited", test_logging_rate_limited);
	g_test_add_func("/token/reload-race", test_reload_race);
	int rc = g_test_run();
	const char *paths[] = {path_a, path_b, path_small, path_jwks_a, path_jwks_ab, path_jwks_b};
	for(size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
		g_unlink(paths[i]);
		g_free((char *)paths[i]);
	}
	g_rmdir(tmpdir);
	g_free(tmpdir);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_small);
	sfu_jwt_thread_cleanup();
	return rc;
}
