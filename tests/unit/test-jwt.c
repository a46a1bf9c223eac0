/*! \file    test-jwt.c
 * \brief    Unit tests for sfu_jwt: key loading, every verification guard, claim typing, time checks
 * \details  RSA keys are generated at test time with OpenSSL; tokens are minted by jwt-mint.h with
 * EVP_DigestSign. The clock is fixed (NOW). One regression test per attack, named after it.
 */
#include <string.h>
#include <glib.h>

#include "sfu_jwt.h"
#include "jwt-mint.h"

#define NOW INT64_C(1700000000)

static EVP_PKEY *key_a = NULL, *key_b = NULL, *key_small = NULL;
static guint8 *key_a_pkcs1 = NULL;
static size_t key_a_pkcs1_len = 0;

static sfu_jwt_keyset *keyset_default(EVP_PKEY *pkey) {
	size_t len = 0;
	guint8 *der = mint_public(pkey, "DER", "type-specific", &len);
	sfu_jwt_keyset *ks = sfu_jwt_keyset_new();
	char err[256];
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, der, len, NULL, err, sizeof(err)), ==, 0);
	g_free(der);
	return ks;
}

static sfu_jwt_result verify_with(
	sfu_jwt_keyset *ks, const sfu_jwt_options *opts, const char *token, sfu_jwt_claims *claims) {
	return sfu_jwt_verify(ks, opts, token, strlen(token), NOW, claims);
}

/* Verify \p payload signed RS512 by key_a against key_a with default options. */
static sfu_jwt_result verify_payload(const char *payload, sfu_jwt_claims *claims) {
	sfu_jwt_keyset *ks = keyset_default(key_a);
	char *token = mint_token(key_a, NULL, payload);
	sfu_jwt_result r = verify_with(ks, NULL, token, claims);
	g_free(token);
	sfu_jwt_keyset_free(ks);
	return r;
}

static void assert_result(sfu_jwt_result got, sfu_jwt_result want) {
	if(got != want)
		g_test_message("got %s, want %s", sfu_jwt_reason(got), sfu_jwt_reason(want));
	g_assert_cmpstr(sfu_jwt_reason(got), ==, sfu_jwt_reason(want));
}

/* =============================================================================
 * base64url
 * ==========================================================================*/

static void test_b64url(void) {
	unsigned char out[64];
	char enc[64];
	g_assert_cmpint(sfu_jwt_b64url_decode("", 0, out), ==, 0);
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9vYg", 6, out), ==, 4);
	g_assert_cmpmem(out, 4, "foob", 4);
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9vYmE", 7, out), ==, 5);
	g_assert_cmpint(sfu_jwt_b64url_decode("-_-_", 4, out), ==, 3);
	g_assert_cmpint(out[0], ==, 0xfb);
	/* padding, the standard alphabet, junk and impossible lengths are refused */
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9vYg==", 8, out), ==, -1);
	g_assert_cmpint(sfu_jwt_b64url_decode("+/+/", 4, out), ==, -1);
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9 ", 4, out), ==, -1);
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9vY", 5, out), ==, -1);
	/* non-canonical tails (unused bits set) are refused: one spelling per token */
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9vYh", 6, out), ==, -1);
	g_assert_cmpint(sfu_jwt_b64url_decode("Zm9vYmF", 7, out), ==, -1);
	g_assert_cmpuint(sfu_jwt_b64url_encode((const unsigned char *)"foob", 4, enc), ==, 6);
	g_assert_cmpstr(enc, ==, "Zm9vYg");
	g_assert_cmpuint(sfu_jwt_b64url_encode((const unsigned char *)"\xfb\xff", 2, enc), ==, 3);
	g_assert_cmpstr(enc, ==, "-_8");
}

static void test_reasons(void) {
	g_assert_cmpstr(sfu_jwt_reason(SFU_JWT_OK), ==, "ok");
	g_assert_cmpstr(sfu_jwt_reason(SFU_JWT_ERR_EMBEDDED_KEY), ==, "embedded_key_rejected");
	g_assert_cmpstr(sfu_jwt_reason((sfu_jwt_result)999), ==, "internal_error");
	for(int i = 0; i < SFU_JWT__COUNT; i++) {
		const char *r = sfu_jwt_reason((sfu_jwt_result)i);
		for(const char *p = r; *p; p++)
			g_assert_true(g_ascii_islower(*p) || *p == '_');
	}
}

/* =============================================================================
 * Keys
 * ==========================================================================*/

static void check_key_form(const char *format, const char *structure) {
	size_t len = 0;
	guint8 *data = mint_public(key_a, format, structure, &len);
	sfu_jwt_keyset *ks = sfu_jwt_keyset_new();
	char err[256] = "";
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, data, len, NULL, err, sizeof(err)), ==, 0);
	char *token = mint_token(key_a, NULL, "{\"exp\":1700000100}");
	assert_result(verify_with(ks, NULL, token, NULL), SFU_JWT_OK);
	g_free(token);
	token = mint_token(key_b, NULL, "{\"exp\":1700000100}");
	assert_result(verify_with(ks, NULL, token, NULL), SFU_JWT_ERR_BAD_SIGNATURE);
	g_free(token);
	sfu_jwt_keyset_free(ks);
	g_free(data);
}

static void test_key_der_pkcs1(void) {
	check_key_form("DER", "type-specific");
}
static void test_key_der_spki(void) {
	check_key_form("DER", "SubjectPublicKeyInfo");
}
static void test_key_pem_spki(void) {
	check_key_form("PEM", "SubjectPublicKeyInfo");
}
static void test_key_pem_pkcs1(void) {
	check_key_form("PEM", "type-specific");
}

static void test_key_rejected(void) {
	sfu_jwt_keyset *ks = sfu_jwt_keyset_new();
	char err[256] = "";
	size_t len = 0;
	/* 1024-bit RSA */
	guint8 *der = mint_public(key_small, "DER", "type-specific", &len);
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, der, len, NULL, err, sizeof(err)), ==, -1);
	g_assert_nonnull(strstr(err, "1024"));
	g_free(der);
	/* not RSA */
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	der = mint_public(ec, "DER", "SubjectPublicKeyInfo", &len);
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, der, len, NULL, err, sizeof(err)), ==, -1);
	g_free(der);
	EVP_PKEY_free(ec);
	/* garbage, truncated DER, empty */
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, (const guint8 *)"hello", 5, NULL, err, sizeof(err)), ==, -1);
	g_assert_cmpint(
		sfu_jwt_keyset_add_key(ks, key_a_pkcs1, key_a_pkcs1_len - 3, NULL, err, sizeof(err)), ==, -1);
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, key_a_pkcs1, 0, NULL, err, sizeof(err)), ==, -1);
	/* a second default key, a bad kid */
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, key_a_pkcs1, key_a_pkcs1_len, NULL, err, sizeof(err)), ==, 0);
	g_assert_cmpint(sfu_jwt_keyset_add_key(ks, key_a_pkcs1, key_a_pkcs1_len, NULL, err, sizeof(err)), ==, -1);
	g_assert_cmpint(
		sfu_jwt_keyset_add_key(ks, key_a_pkcs1, key_a_pkcs1_len, "../x", err, sizeof(err)), ==, -1);
	g_assert_cmpuint(sfu_jwt_keyset_count(ks), ==, 1);
	/* missing file */
	g_assert_cmpint(sfu_jwt_keyset_load_key_file(ks, "/nonexistent/key.der", err, sizeof(err)), ==, -1);
	g_assert_nonnull(strstr(err, "/nonexistent/key.der"));
	sfu_jwt_keyset_free(ks);
}

static void test_jwks(void) {
	char *ja = mint_jwk(key_a, "key-a", NULL), *jb = mint_jwk(key_b, "key-b", "RS512");
	char *doc = g_strdup_printf("{\"keys\":[%s,{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"},"
								"{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},%s]}",
		ja, jb);
	sfu_jwt_keyset *ks = sfu_jwt_keyset_new();
	char err[256] = "";
	g_assert_cmpint(sfu_jwt_keyset_add_jwks(ks, doc, strlen(doc), err, sizeof(err)), ==, 2);
	char *ta = mint_token(key_a, "key-a", "{\"exp\":1700000100}");
	char *tb = mint_token(key_b, "key-b", "{\"exp\":1700000100}");
	char *cross = mint_token(key_a, "key-b", "{\"exp\":1700000100}");
	char *unknown = mint_token(key_a, "key-c", "{\"exp\":1700000100}");
	char *nokid = mint_token(key_a, NULL, "{\"exp\":1700000100}");
	sfu_jwt_claims c;
	assert_result(verify_with(ks, NULL, ta, &c), SFU_JWT_OK);
	g_assert_cmpstr(c.kid, ==, "key-a");
	sfu_jwt_claims_clear(&c);
	assert_result(verify_with(ks, NULL, tb, NULL), SFU_JWT_OK);
	assert_result(verify_with(ks, NULL, cross, NULL), SFU_JWT_ERR_BAD_SIGNATURE);
	assert_result(verify_with(ks, NULL, unknown, NULL), SFU_JWT_ERR_UNKNOWN_KID);
	/* a token without kid is tried against the default key only, and there is none */
	assert_result(verify_with(ks, NULL, nokid, NULL), SFU_JWT_ERR_UNKNOWN_KID);
	/* key-b pins RS512: a PS512 token under key-b is refused even when PS512 is allowed */
	static const char *const both[] = {"RS512", "PS512", NULL};
	sfu_jwt_options opts = {.algorithms = both};
	char *ps = mint_token_ex(
		key_b, "PS512", NULL, 0, "{\"alg\":\"PS512\",\"kid\":\"key-b\"}", "{\"exp\":1700000100}");
	assert_result(verify_with(ks, &opts, ps, NULL), SFU_JWT_ERR_ALG);
	g_free(ps);
	ps = mint_token_ex(
		key_a, "PS512", NULL, 0, "{\"alg\":\"PS512\",\"kid\":\"key-a\"}", "{\"exp\":1700000100}");
	assert_result(verify_with(ks, &opts, ps, NULL), SFU_JWT_OK);
	assert_result(verify_with(ks, NULL, ps, NULL), SFU_JWT_ERR_ALG);
	g_free(ps);
	/* adding the same document again: duplicate kids, nothing added */
	g_assert_cmpint(sfu_jwt_keyset_add_jwks(ks, doc, strlen(doc), err, sizeof(err)), ==, -1);
	g_assert_cmpuint(sfu_jwt_keyset_count(ks), ==, 2);
	g_free(ta);
	g_free(tb);
	g_free(cross);
	g_free(unknown);
	g_free(nokid);
	g_free(doc);
	g_free(ja);
	g_free(jb);
	sfu_jwt_keyset_free(ks);
}

static void test_jwks_rejected(void) {
	char *small = mint_jwk(key_small, "small", NULL), *good = mint_jwk(key_a, "good", NULL);
	char *nokid = mint_jwk(key_a, "", NULL), *badkid = mint_jwk(key_a, "a/b", NULL);
	char *e1 = mint_jwk(key_a, "e1", NULL);
	/* replace the exponent with 1: every "signature" would verify */
	char *e_at = strstr(e1, "\"e\":\"");
	g_assert_nonnull(e_at);
	strcpy(e_at, "\"e\":\"AQ\"}");
	const char *docs[] = {"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]}", "{\"keys\":[{\"kty\":\"EC\"}]}",
		"{\"keys\":[1]}", "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"!!\",\"e\":\"AQAB\"}]}", NULL};
	sfu_jwt_keyset *ks = sfu_jwt_keyset_new();
	char err[256];
	for(int i = 0; docs[i]; i++)
		g_assert_cmpint(sfu_jwt_keyset_add_jwks(ks, docs[i], strlen(docs[i]), err, sizeof(err)), ==, -1);
	const char *bad[] = {small, nokid, badkid, e1};
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		/* one bad key fails the whole document, good keys included (fail closed) */
		char *doc = g_strdup_printf("{\"keys\":[%s,%s]}", good, bad[i]);
		g_assert_cmpint(sfu_jwt_keyset_add_jwks(ks, doc, strlen(doc), err, sizeof(err)), ==, -1);
		g_free(doc);
	}
	char *dup = g_strdup_printf("{\"keys\":[%s,%s]}", good, good);
	g_assert_cmpint(sfu_jwt_keyset_add_jwks(ks, dup, strlen(dup), err, sizeof(err)), ==, -1);
	g_assert_cmpuint(sfu_jwt_keyset_count(ks), ==, 0);
	g_free(dup);
	g_free(small);
	g_free(good);
	g_free(nokid);
	g_free(badkid);
	g_free(e1);
	sfu_jwt_keyset_free(ks);
}

/* =============================================================================
 * Structure and header guards
 * ==========================================================================*/

static void test_valid_claims(void) {
	sfu_jwt_claims c;
	assert_result(
		verify_payload("{\"exp\":1700000100,\"nbf\":1699999000,\"iat\":1699999000,\"join_hub\":true,"
					   "\"kick_users\":true,\"publish_media\":false,\"send_data\":false,"
					   "\"eject_at_exp\":false,\"max_session_s\":600,\"room_ids\":[\"a\",\"b\"],"
					   "\"user_id\":\"u\",\"sub\":\"s\",\"jti\":\"j\",\"unknown\":{\"x\":[1,2]}}",
			&c),
		SFU_JWT_OK);
	g_assert_cmpint(c.exp, ==, 1700000100);
	g_assert_cmpint(c.nbf, ==, 1699999000);
	g_assert_true(c.has_nbf && c.has_iat && c.join_hub && c.kick_users);
	g_assert_false(c.publish_media || c.send_data || c.eject_at_exp || c.any_room);
	g_assert_true(c.has_eject_at_exp);
	g_assert_cmpint(c.max_session_s, ==, 600);
	g_assert_cmpstr(c.room_ids[0], ==, "a");
	g_assert_cmpstr(c.room_ids[1], ==, "b");
	g_assert_null(c.room_ids[2]);
	g_assert_cmpstr(c.user_id, ==, "u");
	g_assert_cmpstr(c.sub, ==, "s");
	g_assert_cmpstr(c.jti, ==, "j");
	g_assert_cmpstr(c.alg, ==, "RS512");
	g_assert_null(c.kid);
	sfu_jwt_claims copy;
	g_assert_cmpint(sfu_jwt_claims_copy(&copy, &c), ==, 0);
	g_assert_cmpstr(copy.room_ids[1], ==, "b");
	g_assert_true(copy.room_ids[1] != c.room_ids[1]);
	sfu_jwt_claims_clear(&copy);
	sfu_jwt_claims_clear(&c);
	/* defaults */
	assert_result(verify_payload("{\"exp\":1700000100}", &c), SFU_JWT_OK);
	g_assert_false(c.join_hub || c.kick_users || c.has_nbf || c.has_iat || c.has_eject_at_exp);
	g_assert_true(c.publish_media && c.send_data && c.any_room);
	g_assert_null(c.room_ids);
	g_assert_null(c.user_id);
	sfu_jwt_claims_clear(&c);
	/* null means absent; [] means no room */
	assert_result(
		verify_payload("{\"exp\":1700000100,\"room_ids\":null,\"join_hub\":null,\"user_id\":null}", &c),
		SFU_JWT_OK);
	g_assert_true(c.any_room);
	g_assert_false(c.join_hub);
	sfu_jwt_claims_clear(&c);
	assert_result(verify_payload("{\"exp\":1700000100,\"room_ids\":[]}", &c), SFU_JWT_OK);
	g_assert_false(c.any_room);
	g_assert_null(c.room_ids[0]);
	sfu_jwt_claims_clear(&c);
}

typedef struct token_case {
	const char *name;
	const char *how; /* signing: RS512, RS256, PS512, HS512 (public key bytes), none */
	const char *header;
	sfu_jwt_result want;
} token_case;

static const token_case header_cases[] = {
	{"alg-none-unsigned", "none", "{\"alg\":\"none\"}", SFU_JWT_ERR_MALFORMED}, /* empty third segment */
	{"alg-none-signed", "RS512", "{\"alg\":\"none\"}", SFU_JWT_ERR_ALG},
	{"alg-None-case", "RS512", "{\"alg\":\"rs512\"}", SFU_JWT_ERR_ALG},
	{"hs512-with-rsa-pubkey", "HS512", "{\"alg\":\"HS512\"}", SFU_JWT_ERR_ALG},
	{"hs256-with-rsa-pubkey", "HS512", "{\"alg\":\"HS256\"}", SFU_JWT_ERR_ALG},
	{"rs256-downgrade", "RS256", "{\"alg\":\"RS256\"}", SFU_JWT_ERR_ALG},
	{"rs256-signed-rs512-header", "RS256", "{\"alg\":\"RS512\"}", SFU_JWT_ERR_BAD_SIGNATURE},
	{"ps512-signed-rs512-header", "PS512", "{\"alg\":\"RS512\"}", SFU_JWT_ERR_BAD_SIGNATURE},
	{"hs512-signed-rs512-header", "HS512", "{\"alg\":\"RS512\"}", SFU_JWT_ERR_BAD_SIGNATURE},
	{"es256", "RS512", "{\"alg\":\"ES256\"}", SFU_JWT_ERR_ALG},
	{"alg-missing", "RS512", "{\"typ\":\"JWT\"}", SFU_JWT_ERR_MALFORMED},
	{"alg-not-string", "RS512", "{\"alg\":[\"RS512\"]}", SFU_JWT_ERR_MALFORMED},
	{"header-not-object", "RS512", "[\"RS512\"]", SFU_JWT_ERR_MALFORMED},
	{"header-not-json", "RS512", "RS512", SFU_JWT_ERR_MALFORMED},
	{"header-duplicate-alg", "RS512", "{\"alg\":\"HS512\",\"alg\":\"RS512\"}", SFU_JWT_ERR_MALFORMED},
	{"header-trailing", "RS512", "{\"alg\":\"RS512\"} x", SFU_JWT_ERR_MALFORMED},
	{"embedded-jwk", "RS512", "{\"alg\":\"RS512\",\"jwk\":{\"kty\":\"RSA\"}}", SFU_JWT_ERR_EMBEDDED_KEY},
	{"embedded-jku", "RS512", "{\"alg\":\"RS512\",\"jku\":\"https://evil/jwks\"}", SFU_JWT_ERR_EMBEDDED_KEY},
	{"embedded-x5u", "RS512", "{\"alg\":\"RS512\",\"x5u\":\"https://evil/cert\"}", SFU_JWT_ERR_EMBEDDED_KEY},
	{"embedded-x5c", "RS512", "{\"alg\":\"RS512\",\"x5c\":[\"MII\"]}", SFU_JWT_ERR_EMBEDDED_KEY},
	{"crit", "RS512", "{\"alg\":\"RS512\",\"crit\":[\"exp\"],\"exp\":1}", SFU_JWT_ERR_CRIT},
	{"kid-path", "RS512", "{\"alg\":\"RS512\",\"kid\":\"../../etc/passwd\"}", SFU_JWT_ERR_BAD_KID},
	{"kid-empty", "RS512", "{\"alg\":\"RS512\",\"kid\":\"\"}", SFU_JWT_ERR_BAD_KID},
	{"kid-number", "RS512", "{\"alg\":\"RS512\",\"kid\":7}", SFU_JWT_ERR_BAD_KID},
	{"kid-nul", "RS512", "{\"alg\":\"RS512\",\"kid\":\"a\\u0000b\"}", SFU_JWT_ERR_MALFORMED},
	{"kid-space", "RS512", "{\"alg\":\"RS512\",\"kid\":\"a b\"}", SFU_JWT_ERR_BAD_KID},
	{"kid-long", "RS512",
		"{\"alg\":\"RS512\",\"kid\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		SFU_JWT_ERR_BAD_KID},
	/* no JWKS configured: a well-formed kid is ignored and the default key used (legacy issuers) */
	{"kid-without-jwks", "RS512", "{\"alg\":\"RS512\",\"kid\":\"any-1\"}", SFU_JWT_OK},
	{"typ-and-extra", "RS512", "{\"alg\":\"RS512\",\"typ\":\"JWT\",\"cty\":\"x\",\"x5t\":\"abc\"}",
		SFU_JWT_OK},
};

static void test_header_case(gconstpointer data) {
	const token_case *tc = data;
	size_t pub_len = 0;
	guint8 *pub = mint_public(key_a, "PEM", "SubjectPublicKeyInfo", &pub_len);
	char *token =
		mint_token_ex(key_a, tc->how, pub, pub_len, tc->header, "{\"exp\":1700000100,\"join_hub\":true}");
	sfu_jwt_keyset *ks = keyset_default(key_a);
	if(tc->want == SFU_JWT_ERR_BAD_KID) {
		/* kid is only checked when a JWKS is configured (then it selects the key): without one it is ignored
		 * whatever it holds, as the old plugin did. */
		assert_result(verify_with(ks, NULL, token, NULL), SFU_JWT_OK);
		char *jwk = mint_jwk(key_b, "key-b", NULL);
		char *doc = g_strdup_printf("{\"keys\":[%s]}", jwk);
		char err[256] = "";
		g_assert_cmpint(sfu_jwt_keyset_add_jwks(ks, doc, strlen(doc), err, sizeof(err)), ==, 1);
		g_free(doc);
		g_free(jwk);
	}
	assert_result(verify_with(ks, NULL, token, NULL), tc->want);
	/* also with every algorithm this module knows allowed, except the ones named above */
	static const char *const all_rsa[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", NULL};
	sfu_jwt_options wide = {.algorithms = all_rsa};
	sfu_jwt_result r = verify_with(ks, &wide, token, NULL);
	if(!strcmp(tc->how, "HS512") || !strcmp(tc->how, "none") || !strcmp(tc->name, "es256"))
		g_assert_true(r != SFU_JWT_OK);
	g_free(token);
	g_free(pub);
	sfu_jwt_keyset_free(ks);
}

static void test_allowed_rs256(void) {
	static const char *const rs256[] = {"RS256", NULL};
	sfu_jwt_options opts = {.algorithms = rs256};
	sfu_jwt_keyset *ks = keyset_default(key_a);
	char *token = mint_token_ex(key_a, "RS256", NULL, 0, "{\"alg\":\"RS256\"}", "{\"exp\":1700000100}");
	assert_result(verify_with(ks, &opts, token, NULL), SFU_JWT_OK);
	assert_result(verify_with(ks, NULL, token, NULL), SFU_JWT_ERR_ALG);
	g_free(token);
	token = mint_token(key_a, NULL, "{\"exp\":1700000100}");
	assert_result(verify_with(ks, &opts, token, NULL), SFU_JWT_ERR_ALG);
	g_free(token);
	sfu_jwt_keyset_free(ks);
}

/* Replace segment \p seg (0..2) of \p token by \p text. */
static char *with_segment(const char *token, int seg, const char *text) {
	char **parts = g_strsplit(token, ".", -1);
	g_free(parts[seg]);
	parts[seg] = g_strdup(text);
	char *out = g_strjoinv(".", parts);
	g_strfreev(parts);
	return out;
}

static void test_structure(void) {
	sfu_jwt_keyset *ks = keyset_default(key_a);
	char *good = mint_token(key_a, NULL, "{\"exp\":1700000100}");
	char **parts = g_strsplit(good, ".", -1);
	assert_result(verify_with(ks, NULL, good, NULL), SFU_JWT_OK);
	struct {
		char *token;
		sfu_jwt_result want;
	} cases[] = {
		{g_strdup(""), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s", parts[0], parts[1]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s.%s.%s", parts[0], parts[1], parts[2], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s.", parts[0], parts[1]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf(".%s.%s", parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s..%s", parts[0], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s.%s=", parts[0], parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s=.%s.%s", parts[0], parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s+.%s", parts[0], parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s.%s ", parts[0], parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf(" %s.%s.%s", parts[0], parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("%s.%s.%s\n", parts[0], parts[1], parts[2]), SFU_JWT_ERR_MALFORMED},
		{g_strdup_printf("Bearer %s", good), SFU_JWT_ERR_MALFORMED},
		/* signature one character short / long: wrong length before any RSA work */
		{g_strndup(good, strlen(good) - 1), SFU_JWT_ERR_BAD_SIGNATURE},
		{g_strdup_printf("%sAAAA", good), SFU_JWT_ERR_BAD_SIGNATURE},
		{with_segment(good, 2, "AAAA"), SFU_JWT_ERR_BAD_SIGNATURE},
	};
	for(size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("structure case %zu", i);
		assert_result(verify_with(ks, NULL, cases[i].token, NULL), cases[i].want);
		g_free(cases[i].token);
	}
	/* embedded NUL: length is authoritative */
	char *nul = g_strdup(good);
	size_t len = strlen(nul);
	nul[len / 2] = '\0';
	assert_result(sfu_jwt_verify(ks, NULL, nul, len, NOW, NULL), SFU_JWT_ERR_MALFORMED);
	g_free(nul);
	assert_result(sfu_jwt_verify(ks, NULL, NULL, 0, NOW, NULL), SFU_JWT_ERR_MALFORMED);
	g_strfreev(parts);
	g_free(good);
	sfu_jwt_keyset_free(ks);
}

static void test_tampered(void) {
	sfu_jwt_keyset *ks = keyset_default(key_a);
	char *good = mint_token(key_a, NULL, "{\"exp\":1700000100,\"join_hub\":false}");
	char **parts = g_strsplit(good, ".", -1);
	char *forged_payload = mint_b64url("{\"exp\":1700000100,\"join_hub\":true}", 35);
	char *forged_header = mint_b64url("{\"alg\":\"RS512\",\"typ\":\"jwt\"}", 27);
	char *t1 = with_segment(good, 1, forged_payload), *t2 = with_segment(good, 0, forged_header);
	char *t3 = g_strdup(good);
	size_t len = strlen(t3);
	t3[len - 5] = t3[len - 5] == 'A' ? 'B' : 'A';
	assert_result(verify_with(ks, NULL, t1, NULL), SFU_JWT_ERR_BAD_SIGNATURE);
	assert_result(verify_with(ks, NULL, t2, NULL), SFU_JWT_ERR_BAD_SIGNATURE);
	assert_result(verify_with(ks, NULL, t3, NULL), SFU_JWT_ERR_BAD_SIGNATURE);
	/* a key of the same size but another modulus */
	sfu_jwt_keyset *other = keyset_default(key_b);
	assert_result(verify_with(other, NULL, good, NULL), SFU_JWT_ERR_BAD_SIGNATURE);
	sfu_jwt_keyset_free(other);
	g_free(t1);
	g_free(t2);
	g_free(t3);
	g_free(forged_payload);
	g_free(forged_header);
	g_strfreev(parts);
	g_free(good);
	sfu_jwt_keyset_free(ks);
}

static void test_size_cap(void) {
	sfu_jwt_keyset *ks = keyset_default(key_a);
	/* a valid token padded with an unknown claim to exactly the cap, then one byte more */
	GString *big = g_string_new("{\"exp\":1700000100,\"pad\":\"");
	for(int i = 0; i < 5500; i++)
		g_string_append_c(big, 'x');
	g_string_append(big, "\"}");
	char *token = mint_token(key_a, NULL, big->str);
	size_t len = strlen(token);
	g_assert_cmpuint(len, <, SFU_JWT_MAX_TOKEN_LEN);
	assert_result(verify_with(ks, NULL, token, NULL), SFU_JWT_OK);
	char *huge = g_strnfill(SFU_JWT_MAX_TOKEN_LEN + 1, 'A');
	assert_result(verify_with(ks, NULL, huge, NULL), SFU_JWT_ERR_TOO_LARGE);
	huge[100] = huge[200] = '.';
	assert_result(verify_with(ks, NULL, huge, NULL), SFU_JWT_ERR_TOO_LARGE);
	huge[SFU_JWT_MAX_TOKEN_LEN] = '\0';
	g_assert_true(verify_with(ks, NULL, huge, NULL) != SFU_JWT_ERR_TOO_LARGE);
	g_free(huge);
	g_free(token);
	g_string_free(big, TRUE);
	sfu_jwt_keyset_free(ks);
}

/* =============================================================================
 * Claims
 * ==========================================================================*/

typedef struct claims_case {
	const char *name;
	const char *payload;
	sfu_jwt_result want;
} claims_case;

static const claims_case claims_cases[] = {
	{"missing-exp", "{\"join_hub\":true}", SFU_JWT_ERR_MISSING_EXP},
	{"exp-null", "{\"exp\":null}", SFU_JWT_ERR_MISSING_EXP},
	{"exp-string", "{\"exp\":\"1700000100\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"exp-float", "{\"exp\":1700000100.0}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"exp-exponent", "{\"exp\":17e8}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"exp-negative", "{\"exp\":-1}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"exp-bool", "{\"exp\":true}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"exp-beyond-int64", "{\"exp\":9223372036854775808}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"exp-int64-max", "{\"exp\":9223372036854775807}", SFU_JWT_OK},
	{"nbf-string", "{\"exp\":1700000100,\"nbf\":\"0\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	/* nbf and iat may be non-integer NumericDates (RFC 7519 §2; the old plugin never read them), exp not. */
	{"iat-float", "{\"exp\":1700000100,\"iat\":1.5}", SFU_JWT_OK},
	{"nbf-float-negative", "{\"exp\":1700000100,\"nbf\":-1.5}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"join-hub-string", "{\"exp\":1700000100,\"join_hub\":\"true\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"join-hub-number", "{\"exp\":1700000100,\"join_hub\":1}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"kick-users-string", "{\"exp\":1700000100,\"kick_users\":\"yes\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"publish-media-string", "{\"exp\":1700000100,\"publish_media\":\"no\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"send-data-number", "{\"exp\":1700000100,\"send_data\":0}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"eject-at-exp-string", "{\"exp\":1700000100,\"eject_at_exp\":\"false\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"room-ids-string", "{\"exp\":1700000100,\"room_ids\":\"lobby\"}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"room-ids-number-item", "{\"exp\":1700000100,\"room_ids\":[\"a\",1]}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"room-ids-null-item", "{\"exp\":1700000100,\"room_ids\":[null]}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"room-ids-object", "{\"exp\":1700000100,\"room_ids\":{\"a\":1}}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"user-id-number", "{\"exp\":1700000100,\"user_id\":42}", SFU_JWT_ERR_INVALID_CLAIMS},
	/* sub and jti only name a token: of another type they are absent, as the old plugin never read them. */
	{"sub-object", "{\"exp\":1700000100,\"sub\":{}}", SFU_JWT_OK},
	{"jti-array", "{\"exp\":1700000100,\"jti\":[]}", SFU_JWT_OK},
	{"max-session-negative", "{\"exp\":1700000100,\"max_session_s\":-5}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"max-session-float", "{\"exp\":1700000100,\"max_session_s\":5.5}", SFU_JWT_ERR_INVALID_CLAIMS},
	/* aud and iss are ignored unless configured (then see test_audience_issuer). */
	{"aud-number", "{\"exp\":1700000100,\"aud\":5}", SFU_JWT_OK},
	{"aud-array-number", "{\"exp\":1700000100,\"aud\":[\"a\",5]}", SFU_JWT_OK},
	{"iss-number", "{\"exp\":1700000100,\"iss\":5}", SFU_JWT_OK},
	{"duplicate-exp", "{\"exp\":1,\"exp\":1700000100}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"duplicate-join-hub", "{\"exp\":1700000100,\"join_hub\":false,\"join_hub\":true}",
		SFU_JWT_ERR_INVALID_CLAIMS},
	{"payload-array", "[{\"exp\":1700000100}]", SFU_JWT_ERR_INVALID_CLAIMS},
	{"payload-not-json", "exp=1700000100", SFU_JWT_ERR_INVALID_CLAIMS},
	{"payload-trailing", "{\"exp\":1700000100}{}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"depth-16", "{\"exp\":1700000100,\"x\":[[[[[[[[[[[[[[1]]]]]]]]]]]]]]}", SFU_JWT_OK},
	{"depth-17", "{\"exp\":1700000100,\"x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}", SFU_JWT_ERR_INVALID_CLAIMS},
	{"unknown-claims-ignored", "{\"exp\":1700000100,\"typ\":5,\"hub_id\":[1],\"nested\":{\"a\":null}}",
		SFU_JWT_OK},
};

static void test_claims_case(gconstpointer data) {
	const claims_case *cc = data;
	sfu_jwt_claims c;
	assert_result(verify_payload(cc->payload, &c), cc->want);
	if(cc->want != SFU_JWT_OK)
		g_assert_null(c.user_id);
	sfu_jwt_claims_clear(&c);
	/* the same verdict from the payload parser alone (what the fuzzer drives) */
	sfu_jwt_result r = sfu_jwt_parse_claims(NULL, cc->payload, strlen(cc->payload), &c);
	assert_result(r, cc->want);
	sfu_jwt_claims_clear(&c);
}

static void test_huge_exp_clamped(void) {
	sfu_jwt_claims c;
	assert_result(verify_payload("{\"exp\":9223372036854775807,\"max_session_s\":9223372036854775807}", &c),
		SFU_JWT_OK);
	g_assert_cmpint(c.exp, ==, SFU_JWT_MAX_TIME);
	g_assert_cmpint(c.max_session_s, ==, SFU_JWT_MAX_TIME);
	/* callers may add grace and convert to microseconds without overflow */
	g_assert_cmpint((c.exp + 86400) * G_USEC_PER_SEC, >, 0);
	sfu_jwt_claims_clear(&c);
}

static void test_time(void) {
	struct {
		const char *payload;
		unsigned leeway;
		sfu_jwt_result want;
	} cases[] = {
		{"{\"exp\":1700000001}", 0, SFU_JWT_OK},
		{"{\"exp\":1700000000}", 0, SFU_JWT_ERR_EXPIRED}, /* RFC 7519 §4.1.4: now must be before exp */
		{"{\"exp\":1699999999}", 0, SFU_JWT_ERR_EXPIRED}, /* expired by one second */
		{"{\"exp\":1699999999}", 2, SFU_JWT_OK},
		{"{\"exp\":1699999998}", 2, SFU_JWT_ERR_EXPIRED},
		{"{\"exp\":0}", 0, SFU_JWT_ERR_EXPIRED},
		{"{\"exp\":1700000100,\"nbf\":1700000000}", 0, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"nbf\":1700000001}", 0, SFU_JWT_ERR_NOT_YET_VALID},
		{"{\"exp\":1700000100,\"nbf\":1700000060}", 60, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"nbf\":1700000061}", 60, SFU_JWT_ERR_NOT_YET_VALID},
		{"{\"exp\":1700000100,\"iat\":1700000000}", 0, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"iat\":1700000001}", 0, SFU_JWT_ERR_ISSUED_IN_FUTURE},
		{"{\"exp\":1700000100,\"iat\":1700000030}", 30, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"iat\":1700000031}", 30, SFU_JWT_ERR_ISSUED_IN_FUTURE},
	};
	sfu_jwt_keyset *ks = keyset_default(key_a);
	for(size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("time case %zu: %s leeway %u", i, cases[i].payload, cases[i].leeway);
		sfu_jwt_options opts = {.leeway_s = cases[i].leeway};
		char *token = mint_token(key_a, NULL, cases[i].payload);
		sfu_jwt_claims c;
		assert_result(verify_with(ks, &opts, token, &c), cases[i].want);
		if(cases[i].want != SFU_JWT_OK)
			g_assert_cmpint(c.exp, ==, 0);
		sfu_jwt_claims_clear(&c);
		/* decode_verify alone never looks at the clock */
		assert_result(sfu_jwt_decode_verify(ks, &opts, token, strlen(token), NULL), SFU_JWT_OK);
		g_free(token);
	}
	/* extreme clocks do not overflow */
	sfu_jwt_claims c = {0};
	c.exp = SFU_JWT_MAX_TIME;
	assert_result(sfu_jwt_check_time(&c, 600, INT64_MAX), SFU_JWT_ERR_EXPIRED);
	assert_result(sfu_jwt_check_time(&c, 600, INT64_MIN), SFU_JWT_OK);
	sfu_jwt_keyset_free(ks);
}

static void test_audience_issuer(void) {
	struct {
		const char *payload;
		const char *aud, *iss;
		sfu_jwt_result want;
	} cases[] = {
		{"{\"exp\":1700000100,\"aud\":\"sfu\"}", "sfu", NULL, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"aud\":[\"x\",\"sfu\"]}", "sfu", NULL, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"aud\":\"other\"}", "sfu", NULL, SFU_JWT_ERR_AUDIENCE},
		{"{\"exp\":1700000100,\"aud\":[\"other\"]}", "sfu", NULL, SFU_JWT_ERR_AUDIENCE},
		{"{\"exp\":1700000100,\"aud\":[]}", "sfu", NULL, SFU_JWT_ERR_AUDIENCE},
		{"{\"exp\":1700000100}", "sfu", NULL, SFU_JWT_ERR_AUDIENCE},
		{"{\"exp\":1700000100,\"aud\":\"SFU\"}", "sfu", NULL, SFU_JWT_ERR_AUDIENCE},
		{"{\"exp\":1700000100,\"aud\":\"anything\"}", NULL, NULL, SFU_JWT_OK},
		{"{\"exp\":1700000100,\"iss\":\"https://a\"}", NULL, "https://a", SFU_JWT_OK},
		{"{\"exp\":1700000100,\"iss\":\"https://b\"}", NULL, "https://a", SFU_JWT_ERR_ISSUER},
		{"{\"exp\":1700000100}", NULL, "https://a", SFU_JWT_ERR_ISSUER},
		{"{\"exp\":1700000100,\"iss\":\"https://a\",\"aud\":\"x\"}", "sfu", "https://a",
			SFU_JWT_ERR_AUDIENCE},
		/* Configured: a value of the wrong type is refused (wrong aud type: a malformed token). */
		{"{\"exp\":1700000100,\"aud\":5}", "sfu", NULL, SFU_JWT_ERR_INVALID_CLAIMS},
		{"{\"exp\":1700000100,\"aud\":[\"sfu\",5]}", "sfu", NULL, SFU_JWT_ERR_INVALID_CLAIMS},
		{"{\"exp\":1700000100,\"iss\":5}", NULL, "https://a", SFU_JWT_ERR_ISSUER},
		/* Not configured: ignored whatever it holds (as the old plugin did). */
		{"{\"exp\":1700000100,\"aud\":{\"x\":1},\"iss\":[1]}", NULL, NULL, SFU_JWT_OK},
	};
	sfu_jwt_keyset *ks = keyset_default(key_a);
	for(size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		sfu_jwt_options opts = {.audience = cases[i].aud, .issuer = cases[i].iss};
		char *token = mint_token(key_a, NULL, cases[i].payload);
		assert_result(verify_with(ks, &opts, token, NULL), cases[i].want);
		g_free(token);
	}
	sfu_jwt_keyset_free(ks);
}

/* =============================================================================
 * Threads: a shared key set, per-thread contexts
 * ==========================================================================*/

typedef struct thread_job {
	sfu_jwt_keyset *ks;
	const char *good, *bad;
	int failures;
} thread_job;

static gpointer verify_thread(gpointer data) {
	thread_job *job = data;
	for(int i = 0; i < 100; i++) {
		if(verify_with(job->ks, NULL, job->good, NULL) != SFU_JWT_OK)
			job->failures++;
		if(verify_with(job->ks, NULL, job->bad, NULL) != SFU_JWT_ERR_BAD_SIGNATURE)
			job->failures++;
	}
	sfu_jwt_thread_cleanup();
	return NULL;
}

static void test_threads(void) {
	sfu_jwt_keyset *ks = keyset_default(key_a);
	char *good = mint_token(key_a, NULL, "{\"exp\":1700000100}");
	char *bad = mint_token(key_b, NULL, "{\"exp\":1700000100}");
	thread_job jobs[4];
	GThread *threads[4];
	for(int i = 0; i < 4; i++) {
		jobs[i] = (thread_job){ks, good, bad, 0};
		threads[i] = g_thread_new("verify", verify_thread, &jobs[i]);
	}
	for(int i = 0; i < 4; i++) {
		g_thread_join(threads[i]);
		g_assert_cmpint(jobs[i].failures, ==, 0);
	}
	/* a key set freed and another allocated: cached contexts are keyed by uid, not address */
	for(int i = 0; i < 3; i++) {
		sfu_jwt_keyset_free(ks);
		ks = keyset_default(i % 2 ? key_a : key_b);
		assert_result(verify_with(ks, NULL, good, NULL), i % 2 ? SFU_JWT_OK : SFU_JWT_ERR_BAD_SIGNATURE);
		assert_result(verify_with(ks, NULL, bad, NULL), i % 2 ? SFU_JWT_ERR_BAD_SIGNATURE : SFU_JWT_OK);
	}
	g_free(good);
	g_free(bad);
	sfu_jwt_keyset_free(ks);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	key_a = mint_keygen(2048);
	key_b = mint_keygen(2048);
	key_small = mint_keygen(1024);
	key_a_pkcs1 = mint_public(key_a, "DER", "type-specific", &key_a_pkcs1_len);
	g_test_add_func("/jwt/b64url", test_b64url);
	g_test_add_func("/jwt/reasons", test_reasons);
	g_test_add_func("/jwt/key/der-pkcs1", test_key_der_pkcs1);
	g_test_add_func("/jwt/key/der-spki", test_key_der_spki);
	g_test_add_func("/jwt/key/pem-spki", test_key_pem_spki);
	g_test_add_func("/jwt/key/pem-pkcs1", test_key_pem_pkcs1);
	g_test_add_func("/jwt/key/rejected", test_key_rejected);
	g_test_add_func("/jwt/jwks/rotation", test_jwks);
	g_test_add_func("/jwt/jwks/rejected", test_jwks_rejected);
	g_test_add_func("/jwt/valid-claims", test_valid_claims);
	for(size_t i = 0; i < G_N_ELEMENTS(header_cases); i++) {
		char *path = g_strdup_printf("/jwt/header/%s", header_cases[i].name);
		g_test_add_data_func(path, &header_cases[i], test_header_case);
		g_free(path);
	}
	g_test_add_func("/jwt/header/rs256-when-allowed", test_allowed_rs256);
	g_test_add_func("/jwt/structure", test_structure);
	g_test_add_func("/jwt/tampered", test_tampered);
	g_test_add_func("/jwt/size-cap", test_size_cap);
	for(size_t i = 0; i < G_N_ELEMENTS(claims_cases); i++) {
		char *path = g_strdup_printf("/jwt/claims/%s", claims_cases[i].name);
		g_test_add_data_func(path, &claims_cases[i], test_claims_case);
		g_free(path);
	}
	g_test_add_func("/jwt/claims/huge-exp-clamped", test_huge_exp_clamped);
	g_test_add_func("/jwt/time", test_time);
	g_test_add_func("/jwt/audience-issuer", test_audience_issuer);
	g_test_add_func("/jwt/threads", test_threads);
	int rc = g_test_run();
	g_free(key_a_pkcs1);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	EVP_PKEY_free(key_small);
	sfu_jwt_thread_cleanup();
	return rc;
}
