/*! \file    jwt-mint.h
 * \brief    Test-only helpers: RSA keys generated at test time, key encodings, token minting
 * \details  Header-only (static functions) so test-jwt and test-token can share it. Signing uses
 * OpenSSL's EVP_DigestSign directly, independently of the verifier under test (which uses
 * EVP_PKEY_verify on a precomputed digest). Everything returned is g_malloc'ed.
 */
#ifndef SFU_TEST_JWT_MINT_H
#define SFU_TEST_JWT_MINT_H

#include <string.h>
#include <glib.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

static char *mint_b64url(const void *data, size_t len) {
	char *std = g_base64_encode(data, len);
	GString *s = g_string_new(NULL);
	for(char *p = std; *p; p++) {
		if(*p == '+')
			g_string_append_c(s, '-');
		else if(*p == '/')
			g_string_append_c(s, '_');
		else if(*p != '=')
			g_string_append_c(s, *p);
	}
	g_free(std);
	return g_string_free(s, FALSE);
}

static EVP_PKEY *mint_keygen(unsigned int bits) {
	EVP_PKEY *pkey = EVP_RSA_gen(bits);
	g_assert_nonnull(pkey);
	return pkey;
}

/* Public key encodings: "DER"/"PEM" x "type-specific" (PKCS#1) / "SubjectPublicKeyInfo". */
static guint8 *mint_public(EVP_PKEY *pkey, const char *format, const char *structure, size_t *len) {
	OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, format, structure, NULL);
	g_assert_nonnull(ctx);
	unsigned char *data = NULL;
	size_t n = 0;
	g_assert_true(OSSL_ENCODER_to_data(ctx, &data, &n));
	OSSL_ENCODER_CTX_free(ctx);
	guint8 *copy = g_memdup2(data, n);
	OPENSSL_free(data);
	*len = n;
	return copy;
}

static char *mint_bn_b64(EVP_PKEY *pkey, const char *name) {
	BIGNUM *bn = NULL;
	g_assert_true(EVP_PKEY_get_bn_param(pkey, name, &bn));
	int n = BN_num_bytes(bn);
	unsigned char *buf = g_malloc(n);
	BN_bn2bin(bn, buf);
	char *out = mint_b64url(buf, n);
	g_free(buf);
	BN_free(bn);
	return out;
}

/* One JWK object (JSON text) for \p pkey with \p kid and optional \p alg. */
static char *mint_jwk(EVP_PKEY *pkey, const char *kid, const char *alg) {
	char *n = mint_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_N), *e = mint_bn_b64(pkey, OSSL_PKEY_PARAM_RSA_E);
	char *jwk =
		g_strdup_printf("{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",%s%s%s\"n\":\"%s\",\"e\":\"%s\"}",
			kid, alg ? "\"alg\":\"" : "", alg ? alg : "", alg ? "\"," : "", n, e);
	g_free(n);
	g_free(e);
	return jwk;
}

static guint8 *mint_sign(EVP_PKEY *priv, const char *alg, const char *input, size_t *sig_len) {
	const char *md = g_str_has_suffix(alg, "256")   ? "SHA256"
					 : g_str_has_suffix(alg, "384") ? "SHA384"
													: "SHA512";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	g_assert_true(EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, priv, NULL) == 1);
	if(alg[0] == 'P') {
		g_assert_true(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
		g_assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
	}
	size_t n = 0;
	g_assert_true(EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)input, strlen(input)) == 1);
	guint8 *sig = g_malloc(n);
	g_assert_true(EVP_DigestSign(ctx, sig, &n, (const unsigned char *)input, strlen(input)) == 1);
	EVP_MD_CTX_free(ctx);
	*sig_len = n;
	return sig;
}

/* A compact JWS of the given header and payload JSON texts. \p how: "RS256".."PS512" sign with \p priv;
 * "HS512" HMACs with \p secret (e.g. public key bytes); "none" leaves the signature empty. */
static char *mint_token_ex(EVP_PKEY *priv, const char *how, const guint8 *secret, size_t secret_len,
	const char *header, const char *payload) {
	char *h = mint_b64url(header, strlen(header)), *p = mint_b64url(payload, strlen(payload));
	char *input = g_strdup_printf("%s.%s", h, p);
	char *sig = NULL;
	if(!strcmp(how, "none")) {
		sig = g_strdup("");
	} else if(!strcmp(how, "HS512")) {
		unsigned char mac[64];
		unsigned int mac_len = 0;
		HMAC(EVP_sha512(), secret, (int)secret_len, (const unsigned char *)input, strlen(input), mac,
			&mac_len);
		sig = mint_b64url(mac, mac_len);
	} else {
		size_t n = 0;
		guint8 *raw = mint_sign(priv, how, input, &n);
		sig = mint_b64url(raw, n);
		g_free(raw);
	}
	char *token = g_strdup_printf("%s.%s", input, sig);
	g_free(h);
	g_free(p);
	g_free(input);
	g_free(sig);
	return token;
}

/* RS512 with header {"alg":"RS512","typ":"JWT"} (+ kid when given). */
static char *mint_token(EVP_PKEY *priv, const char *kid, const char *payload) {
	char *header = kid ? g_strdup_printf("{\"alg\":\"RS512\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid)
					   : g_strdup("{\"alg\":\"RS512\",\"typ\":\"JWT\"}");
	char *token = mint_token_ex(priv, "RS512", NULL, 0, header, payload);
	g_free(header);
	return token;
}

#endif
