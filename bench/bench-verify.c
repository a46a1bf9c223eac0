/*! \file    bench-verify.c
 * \brief    Token verification throughput: bare OpenSSL vs sfu_jwt/sfu_token (cold and cached) vs libjwt
 * \details  Usage: bench-verify [SECONDS_PER_RUN (default 1)] [ROUNDS (default 3)]
 * One 2048-bit RSA key is generated, one realistic RS512 token minted, and each contender is timed on
 * one thread for SECONDS_PER_RUN, ROUNDS times interleaved; the best round of each is reported
 * (the machines are shared and noisy: compare figures from the same run only).
 *   (a) bare:   EVP_DigestVerifyInit + EVP_DigestVerify (RS512) of the token's signing input, with the
 *               key parsed once and the signature already decoded (the floor for any verifier)
 *   (b) full:   sfu_token_check() with the cache disabled: size/segment checks, base64url, header JSON,
 *               alg pin, RSA verify, claims JSON, exp/nbf/iat, room and user policy
 *   (b') jwt:   sfu_jwt_verify() alone (no policy layer)
 *   (c) cached: sfu_token_check() on the same token again (SHA-256 + cache hit + time/room/user checks)
 *   (d) libjwt: jwt_decode() with the PEM key (what libjwt 1.10 offers: it re-parses the key per call)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jwt.h>
#include <openssl/encoder.h>
#include <openssl/rsa.h>
#include <openssl/evp.h>

#include "sfu_token.h"
#include "sfu_jwt.h"

typedef struct bench_ctx {
	EVP_PKEY *pkey;
	char *token;
	const char *input;
	size_t input_len;
	unsigned char sig[1024];
	size_t sig_len;
	sfu_jwt_keyset *keys;
	sfu_token_verifier *cold, *cached;
	unsigned char *pem;
	size_t pem_len;
	gint64 now;
	volatile int sink;
} bench_ctx;

typedef int (*bench_fn)(bench_ctx *b);

static int run_bare(bench_ctx *b) {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha512(), NULL, b->pkey) == 1 &&
			 EVP_DigestVerify(ctx, b->sig, b->sig_len, (const unsigned char *)b->input, b->input_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int run_auth(sfu_token_verifier *auth, bench_ctx *b) {
	sfu_grant grant;
	const char *reason = NULL;
	sfu_token_verdict v =
		sfu_token_check(auth, b->token, SFU_TOKEN_FOR_JOIN, "lobby", "alice", b->now, &grant, &reason);
	sfu_grant_clear(&grant);
	return v == SFU_TOKEN_OK;
}

static int run_full(bench_ctx *b) {
	return run_auth(b->cold, b);
}

static int run_cached(bench_ctx *b) {
	return run_auth(b->cached, b);
}

static int run_jwt(bench_ctx *b) {
	sfu_jwt_claims claims;
	sfu_jwt_result r = sfu_jwt_verify(b->keys, NULL, b->token, strlen(b->token), b->now, &claims);
	sfu_jwt_claims_clear(&claims);
	return r == SFU_JWT_OK;
}

static int run_libjwt(bench_ctx *b) {
	jwt_t *jwt = NULL;
	int ok = jwt_decode(&jwt, b->token, b->pem, (int)b->pem_len) == 0 && jwt_get_alg(jwt) == JWT_ALG_RS512;
	jwt_free(jwt);
	return ok;
}

/* Operations per second of \p fn over about \p seconds. Aborts if an operation fails. */
static double measure(bench_fn fn, bench_ctx *b, double seconds) {
	gint64 start = g_get_monotonic_time(), end = start + (gint64)(seconds * G_USEC_PER_SEC), now = start;
	guint64 ops = 0;
	while(now < end) {
		for(int i = 0; i < 16; i++) {
			if(!fn(b)) {
				fprintf(stderr, "bench-verify: a verification failed\n");
				exit(1);
			}
		}
		ops += 16;
		now = g_get_monotonic_time();
	}
	return (double)ops * G_USEC_PER_SEC / (double)(now - start);
}

static char *b64url(const void *data, size_t len) {
	char *out = g_malloc(((len + 2) / 3) * 4 + 1);
	sfu_jwt_b64url_encode(data, len, out);
	return out;
}

static void setup(bench_ctx *b, char **dir, char **der_path) {
	b->pkey = EVP_RSA_gen(2048);
	b->now = g_get_real_time() / G_USEC_PER_SEC;
	const char *header = "{\"alg\":\"RS512\",\"typ\":\"JWT\"}";
	char *payload =
		g_strdup_printf("{\"aud\":\"ret\",\"exp\":%" G_GINT64_FORMAT ",\"iat\":%" G_GINT64_FORMAT
						",\"iss\":\"ret\",\"jti\":\"6f3d2c1e-5b4a-4c3d-9e8f-7a6b5c4d3e2f\","
						"\"join_hub\":true,\"kick_users\":false,\"nbf\":%" G_GINT64_FORMAT
						",\"room_ids\":[\"lobby\",\"stage\"],\"sub\":\"123456789\",\"typ\":\"access\","
						"\"user_id\":\"alice\"}",
			b->now + 3600, b->now - 5, b->now - 5);
	char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
	char *input = g_strdup_printf("%s.%s", h, p);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	b->sig_len = sizeof(b->sig);
	if(EVP_DigestSignInit(ctx, NULL, EVP_sha512(), NULL, b->pkey) != 1 ||
		EVP_DigestSign(ctx, b->sig, &b->sig_len, (unsigned char *)input, strlen(input)) != 1)
		exit(1);
	EVP_MD_CTX_free(ctx);
	char *s = b64url(b->sig, b->sig_len);
	b->token = g_strdup_printf("%s.%s", input, s);
	b->input = b->token;
	b->input_len = strlen(input);
	g_free(s);
	g_free(input);
	g_free(h);
	g_free(p);
	g_free(payload);
	/* key files: DER PKCS#1 for the plugin, PEM for libjwt */
	*dir = g_dir_make_tmp("bench-verify-XXXXXX", NULL);
	unsigned char *der = NULL, *pem = NULL;
	size_t der_len = 0;
	OSSL_ENCODER_CTX *e1 =
		OSSL_ENCODER_CTX_new_for_pkey(b->pkey, EVP_PKEY_PUBLIC_KEY, "DER", "type-specific", NULL);
	OSSL_ENCODER_CTX *e2 =
		OSSL_ENCODER_CTX_new_for_pkey(b->pkey, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", NULL);
	if(!OSSL_ENCODER_to_data(e1, &der, &der_len) || !OSSL_ENCODER_to_data(e2, &pem, &b->pem_len))
		exit(1);
	OSSL_ENCODER_CTX_free(e1);
	OSSL_ENCODER_CTX_free(e2);
	b->pem = pem;
	*der_path = g_build_filename(*dir, "public.der", NULL);
	g_file_set_contents(*der_path, (const char *)der, (gssize)der_len, NULL);
	b->keys = sfu_jwt_keyset_new();
	if(sfu_jwt_keyset_add_key(b->keys, der, der_len, NULL, NULL, 0) != 0)
		exit(1);
	OPENSSL_free(der);
	sfu_config *cfg = sfu_config_new_defaults();
	g_free(cfg->auth_key);
	cfg->auth_key = g_strdup(*der_path);
	b->cold = sfu_token_new(cfg, NULL);
	b->cached = sfu_token_new(cfg, NULL);
	sfu_config_free(cfg);
	if(b->cold == NULL || b->cached == NULL)
		exit(1);
	sfu_token_set_cache_enabled(b->cold, FALSE);
}

int main(int argc, char **argv) {
	double seconds = argc > 1 ? g_ascii_strtod(argv[1], NULL) : 1.0;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	if(seconds <= 0 || rounds <= 0) {
		fprintf(stderr, "usage: bench-verify [SECONDS_PER_RUN] [ROUNDS]\n");
		return 2;
	}
	bench_ctx b;
	memset(&b, 0, sizeof(b));
	char *dir = NULL, *der_path = NULL;
	setup(&b, &dir, &der_path);
	struct {
		const char *name;
		bench_fn fn;
		double best;
	} runs[] = {
		{"(a)  bare EVP_DigestVerify RS512, key parsed once", run_bare, 0},
		{"(b)  sfu_token_check, cache disabled (full check)", run_full, 0},
		{"(b') sfu_jwt_verify alone", run_jwt, 0},
		{"(c)  sfu_token_check, cached (repeated token)", run_cached, 0},
		{"(d)  libjwt jwt_decode (PEM key)", run_libjwt, 0},
	};
	printf("token: %zu bytes, RSA-2048, RS512; %.2f s per run, best of %d rounds, one thread\n",
		strlen(b.token), seconds, rounds);
	for(int r = 0; r < rounds; r++) {
		for(size_t i = 0; i < G_N_ELEMENTS(runs); i++) {
			double v = measure(runs[i].fn, &b, seconds);
			if(v > runs[i].best)
				runs[i].best = v;
		}
	}
	for(size_t i = 0; i < G_N_ELEMENTS(runs); i++)
		printf("%-52s %12.0f verifications/s  %8.2f us\n", runs[i].name, runs[i].best, 1e6 / runs[i].best);
	double a = runs[0].best;
	printf("ratio b/a  = %.2f  (target >= 0.85)\n", runs[1].best / a);
	printf("ratio b'/a = %.2f\n", runs[2].best / a);
	printf("ratio c/a  = %.1f  (target >= 10)\n", runs[3].best / a);
	printf("ratio d/a  = %.3f\n", runs[4].best / a);
	printf("cache hits: %" G_GUINT64_FORMAT "\n", sfu_token_cache_hits(b.cached));
	sfu_token_free(b.cold);
	sfu_token_free(b.cached);
	sfu_jwt_keyset_free(b.keys);
	sfu_jwt_thread_cleanup();
	OPENSSL_free(b.pem);
	EVP_PKEY_free(b.pkey);
	g_free(b.token);
	g_unlink(der_path);
	g_rmdir(dir);
	g_free(der_path);
	g_free(dir);
	int ok = runs[1].best / a >= 0.85 && runs[3].best / a >= 10;
	printf("%s\n", ok ? "targets met" : "TARGETS NOT MET");
	return ok ? 0 : 1;
}
