/*! \file    sfu_jwt.c
 * \brief    janus-sfu: JWS compact / JWT verification for RSA join tokens (see sfu_jwt.h)
 * \details  Written as guard clauses: each check states what is known from
 * there on. References: RFC 7515 (JWS), RFC 7518 (JWA), RFC 7519 (JWT),
 * RFC 8725 (JWT BCP), RFC 4648 §5 (base64url), RFC 7517 (JWK).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "sfu_jwt.h"

/* =============================================================================
 * Results, algorithms
 * ==========================================================================*/

static const char *const result_reasons[] = {
#define SFU_JWT_REASON(name, reason) reason,
	SFU_JWT_RESULT_MAP(SFU_JWT_REASON)
#undef SFU_JWT_REASON
};

const char *sfu_jwt_reason(sfu_jwt_result result) {
	if((int)result < 0 || result >= SFU_JWT__COUNT)
		return "internal_error";
	return result_reasons[result];
}

/* Every algorithm this module can verify is RSA (RFC 7518 §3.3 and §3.5): the key type check is
 * therefore "the key is RSA", which every loader enforces. */
typedef struct alg_spec {
	const char *name;
	const char *md;
	int pss;
} alg_spec;

static const alg_spec algs[] = {
	{"RS256", "SHA256", 0},
	{"RS384", "SHA384", 0},
	{"RS512", "SHA512", 0},
	{"PS256", "SHA256", 1},
	{"PS384", "SHA384", 1},
	{"PS512", "SHA512", 1},
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

static const char *const default_algorithms[] = {"RS512", NULL};

static EVP_MD *fetched_md[N_ALGS];
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_mds(void) {
	for(size_t i = 0; i < N_ALGS; i++)
		fetched_md[i] = EVP_MD_fetch(NULL, algs[i].md, NULL);
}

static int alg_index(const char *name) {
	for(size_t i = 0; i < N_ALGS; i++) {
		if(!strcmp(algs[i].name, name))
			return (int)i;
	}
	return -1;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
	if(err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* =============================================================================
 * base64url (RFC 4648 §5), strict
 * ==========================================================================*/

static const char b64url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 for alphabet characters, 0xff for everything else ('=' included). */
/* clang-format off */
static const unsigned char b64url_value[256] = {
#define X 0xff
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, 62,  X,  X,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61,  X,  X,  X,  X,  X,  X,
	 X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,  X,  X,  X,  X, 63,
	 X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
	 X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
#undef X
};
/* clang-format on */

/* Decoded size of a canonical unpadded base64url string of \p len characters, or -1 (len % 4 == 1). */
static long b64url_decoded_len(size_t len) {
	if(len % 4 == 1)
		return -1;
	return (long)(len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0));
}

long sfu_jwt_b64url_decode(const char *in, size_t len, unsigned char *out) {
	if(b64url_decoded_len(len) < 0)
		return -1;
	size_t o = 0, i = 0;
	for(; i + 4 <= len; i += 4) {
		unsigned a = b64url_value[(unsigned char)in[i]], b = b64url_value[(unsigned char)in[i + 1]];
		unsigned c = b64url_value[(unsigned char)in[i + 2]], d = b64url_value[(unsigned char)in[i + 3]];
		if((a | b | c | d) & 0xc0)
			return -1;
		unsigned v = a << 18 | b << 12 | c << 6 | d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	size_t rest = len - i;
	if(rest == 0)
		return (long)o;
	unsigned a = b64url_value[(unsigned char)in[i]], b = b64url_value[(unsigned char)in[i + 1]];
	unsigned c = rest == 3 ? b64url_value[(unsigned char)in[i + 2]] : 0;
	if((a | b | c) & 0xc0)
		return -1;
	/* Canonical form only: the unused low bits of the last character must be zero, so a token has
	 * exactly one spelling (no malleable copies that hash differently in the verified-token cache). */
	if(rest == 2 && (b & 0x0f))
		return -1;
	if(rest == 3 && (c & 0x03))
		return -1;
	out[o++] = (unsigned char)(a << 2 | b >> 4);
	if(rest == 3)
		out[o++] = (unsigned char)((b & 0x0f) << 4 | c >> 2);
	return (long)o;
}

size_t sfu_jwt_b64url_encode(const unsigned char *in, size_t len, char *out) {
	size_t o = 0, i = 0;
	for(; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_chars[v >> 18];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if(len - i == 1) {
		out[o++] = b64url_chars[in[i] >> 2];
		out[o++] = b64url_chars[(in[i] & 3) << 4];
	} else if(len - i == 2) {
		unsigned v = (unsigned)in[i] << 8 | in[i + 1];
		out[o++] = b64url_chars[v >> 10];
		out[o++] = b64url_chars[(v >> 4) & 63];
		out[o++] = b64url_chars[(v & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

static int all_b64url(const char *s, size_t len) {
	for(size_t i = 0; i < len; i++) {
		if(b64url_value[(unsigned char)s[i]] == 0xff)
			return 0;
	}
	return 1;
}

/* =============================================================================
 * Key sets
 * ==========================================================================*/

typedef struct jwt_key {
	EVP_PKEY *pkey;
	char *kid;          /* NULL for the default key */
	char alg[8];        /* JWKS "alg" pin, or "" */
	size_t modulus_len; /* bytes: every signature made with this key has exactly this length */
	uint64_t uid;       /* unique for the process lifetime: names the key in per-thread caches */
} jwt_key;

struct sfu_jwt_keyset {
	jwt_key *def;
	jwt_key **kids;
	size_t n_kids;
};

static uint64_t next_key_uid = 1;

static void key_free(jwt_key *k) {
	if(k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k->kid);
	free(k);
}

sfu_jwt_keyset *sfu_jwt_keyset_new(void) {
	return calloc(1, sizeof(sfu_jwt_keyset));
}

void sfu_jwt_keyset_free(sfu_jwt_keyset *keys) {
	if(keys == NULL)
		return;
	key_free(keys->def);
	for(size_t i = 0; i < keys->n_kids; i++)
		key_free(keys->kids[i]);
	free(keys->kids);
	free(keys);
}

size_t sfu_jwt_keyset_count(const sfu_jwt_keyset *keys) {
	return keys ? keys->n_kids + (keys->def ? 1 : 0) : 0;
}

static int kid_valid(const char *kid, size_t len) {
	if(len == 0 || len > SFU_JWT_MAX_KID_LEN)
		return 0;
	for(size_t i = 0; i < len; i++) {
		char c = kid[i];
		if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
			   c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* RSA, 2048..8192 bits, odd public exponent >= 3 (e = 1 would make every "signature" valid). */
static int check_rsa_key(EVP_PKEY *pkey, char *err, size_t errlen) {
	if(!EVP_PKEY_is_a(pkey, "RSA")) {
		set_err(err, errlen, "not an RSA key");
		return -1;
	}
	int bits = EVP_PKEY_get_bits(pkey);
	if(bits < SFU_JWT_MIN_RSA_BITS || bits > SFU_JWT_MAX_RSA_BITS) {
		set_err(err, errlen, "RSA key of %d bits refused (must be %d..%d)", bits, SFU_JWT_MIN_RSA_BITS,
			SFU_JWT_MAX_RSA_BITS);
		return -1;
	}
	BIGNUM *e = NULL;
	int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) && BN_is_odd(e) && BN_num_bits(e) >= 2;
	BN_free(e);
	if(!ok) {
		set_err(err, errlen, "RSA key with an invalid public exponent refused");
		return -1;
	}
	return 0;
}

static int keyset_insert(
	sfu_jwt_keyset *keys, EVP_PKEY *pkey, const char *kid, const char *alg, char *err, size_t errlen) {
	if(kid == NULL && keys->def != NULL) {
		set_err(err, errlen, "a default key is already loaded");
		return -1;
	}
	for(size_t i = 0; kid != NULL && i < keys->n_kids; i++) {
		if(!strcmp(keys->kids[i]->kid, kid)) {
			set_err(err, errlen, "duplicate kid '%s'", kid);
			return -1;
		}
	}
	jwt_key *k = calloc(1, sizeof(*k));
	jwt_key **grown = kid ? realloc(keys->kids, (keys->n_kids + 1) * sizeof(*grown)) : NULL;
	if(k == NULL || (kid != NULL && grown == NULL) || (kid != NULL && (k->kid = strdup(kid)) == NULL)) {
		free(k);
		set_err(err, errlen, "out of memory");
		return -1;
	}
	k->pkey = pkey;
	k->modulus_len = (size_t)EVP_PKEY_get_size(pkey);
	k->uid = __atomic_fetch_add(&next_key_uid, 1, __ATOMIC_RELAXED);
	if(alg != NULL)
		snprintf(k->alg, sizeof(k->alg), "%s", alg);
	if(kid == NULL) {
		keys->def = k;
	} else {
		keys->kids = grown;
		keys->kids[keys->n_kids++] = k;
	}
	return 0;
}

static int has_pem_armor(const unsigned char *data, size_t len) {
	static const char armor[] = "-----BEGIN ";
	for(size_t i = 0; i + sizeof(armor) - 1 <= len; i++) {
		if(!memcmp(data + i, armor, sizeof(armor) - 1))
			return 1;
	}
	return 0;
}

int sfu_jwt_keyset_add_key(
	sfu_jwt_keyset *keys, const unsigned char *data, size_t len, const char *kid, char *err, size_t errlen) {
	if(keys == NULL || data == NULL || len == 0) {
		set_err(err, errlen, "empty key");
		return -1;
	}
	if(kid != NULL && !kid_valid(kid, strlen(kid))) {
		set_err(err, errlen, "invalid kid");
		return -1;
	}
	/* The decoder tries SubjectPublicKeyInfo and PKCS#1 RSAPublicKey ("type-specific") alike. */
	EVP_PKEY *pkey = NULL;
	OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, has_pem_armor(data, len) ? "PEM" : "DER",
		NULL, "RSA", OSSL_KEYMGMT_SELECT_PUBLIC_KEY, NULL, NULL);
	const unsigned char *p = data;
	size_t left = len;
	int decoded = dctx != NULL && OSSL_DECODER_from_data(dctx, &p, &left) && pkey != NULL;
	OSSL_DECODER_CTX_free(dctx);
	if(!decoded) {
		EVP_PKEY_free(pkey);
		set_err(err, errlen, "not an RSA public key in DER (PKCS#1 or SubjectPublicKeyInfo) or PEM form");
		return -1;
	}
	if(check_rsa_key(pkey, err, errlen) < 0 || keyset_insert(keys, pkey, kid, NULL, err, errlen) < 0) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	return 0;
}

/* Read a whole (small) file. Returns a malloc'ed, NUL-terminated buffer, or NULL with \p err filled. */
static unsigned char *read_small_file(const char *path, size_t *len, char *err, size_t errlen) {
	FILE *f = path ? fopen(path, "rb") : NULL;
	if(f == NULL) {
		set_err(err, errlen, "cannot open %s: %s", path ? path : "(null)", strerror(errno));
		return NULL;
	}
	size_t cap = 1 << 20, n = 0;
	unsigned char *buf = malloc(cap + 1);
	if(buf != NULL)
		n = fread(buf, 1, cap + 1, f);
	int failed = buf == NULL || ferror(f);
	fclose(f);
	if(failed || n > cap || n == 0) {
		free(buf);
		set_err(err, errlen, "cannot read %s: %s", path,
			failed ? "read error" : (n ? "larger than 1 MiB" : "empty"));
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int sfu_jwt_keyset_load_key_file(sfu_jwt_keyset *keys, const char *path, char *err, size_t errlen) {
	size_t len = 0;
	unsigned char *data = read_small_file(path, &len, err, errlen);
	if(data == NULL)
		return -1;
	char why[200] = "";
	int rc = sfu_jwt_keyset_add_key(keys, data, len, NULL, why, sizeof(why));
	OPENSSL_cleanse(data, len);
	free(data);
	if(rc < 0)
		set_err(err, errlen, "%s: %s", path, why);
	return rc;
}

/* A BIGNUM from a base64url JWK member (RFC 7518 §6.3.1), or NULL. */
static BIGNUM *jwk_bignum(json_t *jwk, const char *name) {
	const char *text = json_string_value(json_object_get(jwk, name));
	size_t len = text ? strlen(text) : 0;
	if(len == 0 || len > 4096)
		return NULL;
	unsigned char buf[3072];
	long n = sfu_jwt_b64url_decode(text, len, buf);
	return n > 0 ? BN_bin2bn(buf, (int)n, NULL) : NULL;
}

static EVP_PKEY *jwk_to_pkey(json_t *jwk) {
	BIGNUM *n = jwk_bignum(jwk, "n"), *e = jwk_bignum(jwk, "e");
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	if(n == NULL || e == NULL || bld == NULL)
		goto out_free;
	if(!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out_free;
	params = OSSL_PARAM_BLD_to_param(bld);
	pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if(params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
		EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out_free:
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* Add one JWK. Returns 1 when added, 0 when skipped (not an RSA signing key), -1 on error. */
static int jwks_add_one(sfu_jwt_keyset *keys, json_t *jwk, size_t index, char *err, size_t errlen) {
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	if(!json_is_object(jwk) || kty == NULL) {
		set_err(err, errlen, "keys[%zu]: not a JWK (no kty)", index);
		return -1;
	}
	if(strcmp(kty, "RSA") != 0 || (use != NULL && strcmp(use, "sig") != 0))
		return 0;
	/* Known from here: an RSA key meant for signatures. */
	const char *kid = json_string_value(json_object_get(jwk, "kid"));
	if(kid == NULL || !kid_valid(kid, strlen(kid))) {
		set_err(
			err, errlen, "keys[%zu]: kid missing or not [A-Za-z0-9._-]{1,%d}", index, SFU_JWT_MAX_KID_LEN);
		return -1;
	}
	json_t *alg_json = json_object_get(jwk, "alg");
	const char *alg = json_string_value(alg_json);
	if(alg_json != NULL && (alg == NULL || alg_index(alg) < 0)) {
		set_err(err, errlen, "keys[%zu] (kid %s): unsupported alg", index, kid);
		return -1;
	}
	EVP_PKEY *pkey = jwk_to_pkey(jwk);
	if(pkey == NULL) {
		set_err(err, errlen, "keys[%zu] (kid %s): invalid n/e", index, kid);
		return -1;
	}
	char why[160] = "";
	if(check_rsa_key(pkey, why, sizeof(why)) < 0 ||
		keyset_insert(keys, pkey, kid, alg, why, sizeof(why)) < 0) {
		EVP_PKEY_free(pkey);
		set_err(err, errlen, "keys[%zu] (kid %s): %s", index, kid, why);
		return -1;
	}
	return 1;
}

int sfu_jwt_keyset_add_jwks(sfu_jwt_keyset *keys, const char *json, size_t len, char *err, size_t errlen) {
	if(keys == NULL || json == NULL) {
		set_err(err, errlen, "empty JWKS");
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *list = json_object_get(root, "keys");
	if(!json_is_array(list)) {
		set_err(err, errlen, "not a JWKS document (want {\"keys\":[...]})");
		json_decref(root);
		return -1;
	}
	/* Fail closed and leave \p keys as it was: build into a scratch set first. */
	sfu_jwt_keyset scratch = {0};
	int added = 0;
	for(size_t i = 0; i < json_array_size(list); i++) {
		int rc = jwks_add_one(&scratch, json_array_get(list, i), i, err, errlen);
		if(rc < 0) {
			added = -1;
			break;
		}
		added += rc;
	}
	json_decref(root);
	if(added == 0)
		set_err(err, errlen, "JWKS holds no RSA signing key");
	for(size_t i = 0; added > 0 && i < scratch.n_kids; i++) {
		for(size_t j = 0; j < keys->n_kids; j++) {
			if(!strcmp(keys->kids[j]->kid, scratch.kids[i]->kid)) {
				set_err(err, errlen, "duplicate kid '%s'", scratch.kids[i]->kid);
				added = -1;
			}
		}
	}
	jwt_key **grown =
		added > 0 ? realloc(keys->kids, (keys->n_kids + scratch.n_kids) * sizeof(*grown)) : NULL;
	if(grown == NULL) {
		for(size_t i = 0; i < scratch.n_kids; i++)
			key_free(scratch.kids[i]);
		free(scratch.kids);
		return -1;
	}
	memcpy(grown + keys->n_kids, scratch.kids, scratch.n_kids * sizeof(*grown));
	keys->kids = grown;
	keys->n_kids += scratch.n_kids;
	free(scratch.kids);
	return added;
}

int sfu_jwt_keyset_load_jwks_file(sfu_jwt_keyset *keys, const char *path, char *err, size_t errlen) {
	size_t len = 0;
	unsigned char *data = read_small_file(path, &len, err, errlen);
	if(data == NULL)
		return -1;
	char why[200] = "";
	int rc = sfu_jwt_keyset_add_jwks(keys, (const char *)data, len, why, sizeof(why));
	free(data);
	if(rc < 0)
		set_err(err, errlen, "%s: %s", path, why);
	return rc;
}

/* =============================================================================
 * Signature check with per-thread pre-initialised contexts
 * ==========================================================================*/

/* Each thread keeps, per (key, alg), an EVP_PKEY_CTX already set up for verification, and one
 * digest context. A verification is then: digest the signing input, one RSA public operation.
 * Keys are named by uid, never by address, so a freed and reallocated key cannot hit a stale slot;
 * a slot holds its own reference to the EVP_PKEY, so it stays valid after the key set is freed. */
#define TLS_SLOTS 4

typedef struct verify_slot {
	uint64_t uid;
	int alg;
	EVP_PKEY_CTX *pctx;
} verify_slot;

typedef struct thread_ctx {
	verify_slot slots[TLS_SLOTS];
	unsigned int next;
	EVP_MD_CTX *md;
} thread_ctx;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread thread_ctx *tls_ctx = NULL;

static void thread_ctx_free(void *data) {
	thread_ctx *tc = data;
	if(tc == NULL)
		return;
	for(int i = 0; i < TLS_SLOTS; i++)
		EVP_PKEY_CTX_free(tc->slots[i].pctx);
	EVP_MD_CTX_free(tc->md);
	free(tc);
}

static void tls_init(void) {
	(void)pthread_key_create(&tls_key, thread_ctx_free);
}

void sfu_jwt_thread_cleanup(void) {
	if(tls_ctx == NULL)
		return;
	(void)pthread_once(&tls_once, tls_init);
	(void)pthread_setspecific(tls_key, NULL);
	thread_ctx_free(tls_ctx);
	tls_ctx = NULL;
}

static thread_ctx *thread_ctx_get(void) {
	if(tls_ctx != NULL)
		return tls_ctx;
	(void)pthread_once(&tls_once, tls_init);
	thread_ctx *tc = calloc(1, sizeof(*tc));
	if(tc == NULL || (tc->md = EVP_MD_CTX_new()) == NULL) {
		free(tc);
		return NULL;
	}
	(void)pthread_setspecific(tls_key, tc);
	tls_ctx = tc;
	return tc;
}

static EVP_PKEY_CTX *verify_ctx_new(const jwt_key *key, int alg) {
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if(pctx == NULL)
		return NULL;
	int ok = EVP_PKEY_verify_init(pctx) > 0 && EVP_PKEY_CTX_set_signature_md(pctx, fetched_md[alg]) > 0;
	if(ok && algs[alg].pss) {
		/* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output. */
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
			 EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, fetched_md[alg]) > 0 &&
			 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
	} else if(ok) {
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	}
	if(!ok) {
		EVP_PKEY_CTX_free(pctx);
		return NULL;
	}
	return pctx;
}

static EVP_PKEY_CTX *thread_verify_ctx(thread_ctx *tc, const jwt_key *key, int alg) {
	for(int i = 0; i < TLS_SLOTS; i++) {
		if(tc->slots[i].pctx != NULL && tc->slots[i].uid == key->uid && tc->slots[i].alg == alg)
			return tc->slots[i].pctx;
	}
	EVP_PKEY_CTX *pctx = verify_ctx_new(key, alg);
	if(pctx == NULL)
		return NULL;
	verify_slot *slot = &tc->slots[tc->next++ % TLS_SLOTS];
	EVP_PKEY_CTX_free(slot->pctx);
	slot->uid = key->uid;
	slot->alg = alg;
	slot->pctx = pctx;
	return pctx;
}

/* 1 = valid, 0 = invalid, -1 = internal failure. */
static int verify_signature(const jwt_key *key, int alg, const char *input, size_t input_len,
	const unsigned char *sig, size_t sig_len) {
	(void)pthread_once(&md_once, fetch_mds);
	if(fetched_md[alg] == NULL)
		return -1;
	thread_ctx *tc = thread_ctx_get();
	if(tc == NULL)
		return -1;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	if(!EVP_DigestInit_ex(tc->md, fetched_md[alg], NULL) || !EVP_DigestUpdate(tc->md, input, input_len) ||
		!EVP_DigestFinal_ex(tc->md, digest, &digest_len))
		return -1;
	EVP_PKEY_CTX *pctx = thread_verify_ctx(tc, key, alg);
	if(pctx == NULL)
		return -1;
	return EVP_PKEY_verify(pctx, sig, sig_len, digest, digest_len) == 1 ? 1 : 0;
}

/* =============================================================================
 * JSON helpers
 * ==========================================================================*/

/* TRUE when \p v nests no deeper than SFU_JWT_MAX_DEPTH (a scalar at top level is depth 1). */
static int depth_ok(json_t *v, int depth) {
	if(depth > SFU_JWT_MAX_DEPTH)
		return 0;
	if(json_is_object(v)) {
		const char *name;
		json_t *child;
		json_object_foreach(v, name, child) {
			if(!depth_ok(child, depth + 1))
				return 0;
		}
	} else if(json_is_array(v)) {
		size_t i;
		json_t *child;
		json_array_foreach(v, i, child) {
			if(!depth_ok(child, depth + 1))
				return 0;
		}
	}
	return 1;
}

/* An object parsed strictly: duplicate names rejected (RFC 8725 §3.4 / RFC 7515 §5.2 step 4), no trailing
 * bytes, no NUL in strings (jansson default), depth bounded. NULL otherwise. */
static json_t *load_object(const char *text, size_t len) {
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if(root == NULL)
		return NULL;
	if(!json_is_object(root) || !depth_ok(root, 1)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* =============================================================================
 * Header (RFC 7515 §4.1, RFC 8725 §3.1)
 * ==========================================================================*/

static const char *const embedded_key_params[] = {"jwk", "jku", "x5u", "x5c"};

static sfu_jwt_result parse_header(const sfu_jwt_keyset *keys, const sfu_jwt_options *options,
	const char *text, size_t len, const jwt_key **key_out, int *alg_out, char **kid_out) {
	json_t *header = load_object(text, len);
	if(header == NULL)
		return SFU_JWT_ERR_MALFORMED;
	/* Known from here: the header is a JSON object without duplicate members. */
	sfu_jwt_result res = SFU_JWT_ERR_MALFORMED;
	const char *alg = json_string_value(json_object_get(header, "alg"));
	if(alg == NULL)
		goto out_decref;
	const char *const *allowed = options && options->algorithms ? options->algorithms : default_algorithms;
	int permitted = 0;
	for(; *allowed != NULL && !permitted; allowed++)
		permitted = !strcmp(*allowed, alg);
	int idx = alg_index(alg);
	res = SFU_JWT_ERR_ALG;
	if(!permitted || idx < 0)
		goto out_decref;
	/* Known from here: alg is one of the configured RSA algorithms ("none" and HS* never are). */
	res = SFU_JWT_ERR_EMBEDDED_KEY;
	for(size_t i = 0; i < sizeof(embedded_key_params) / sizeof(embedded_key_params[0]); i++) {
		if(json_object_get(header, embedded_key_params[i]) != NULL)
			goto out_decref;
	}
	/* RFC 7515 §4.1.11: we understand no extension, so any "crit" must be refused. */
	res = SFU_JWT_ERR_CRIT;
	if(json_object_get(header, "crit") != NULL)
		goto out_decref;
	json_t *kid_json = json_object_get(header, "kid");
	const char *kid = json_string_value(kid_json);
	if(keys->n_kids == 0) {
		/* No JWKS: the kid selects nothing and is ignored whatever it holds, as the old plugin did (an issuer may
		 * put a key-vault URL there); only a well-formed one is kept, to name the token in logs. */
		if(kid != NULL && !kid_valid(kid, json_string_length(kid_json)))
			kid = NULL;
	} else {
		res = SFU_JWT_ERR_BAD_KID;
		if(kid_json != NULL && (kid == NULL || !kid_valid(kid, json_string_length(kid_json))))
			goto out_decref;
	}
	/* Known from here: kid is absent or a short [A-Za-z0-9._-] string. */
	const jwt_key *key = NULL;
	if(kid != NULL && keys->n_kids > 0) {
		for(size_t i = 0; i < keys->n_kids && key == NULL; i++) {
			if(!strcmp(keys->kids[i]->kid, kid))
				key = keys->kids[i];
		}
	} else {
		/* No kid, or no JWKS configured (legacy issuers may send a kid the old plugin ignored). */
		key = keys->def;
	}
	res = SFU_JWT_ERR_UNKNOWN_KID;
	if(key == NULL)
		goto out_decref;
	/* RFC 8725 §3.1: a JWK that names its alg accepts that one only. */
	res = SFU_JWT_ERR_ALG;
	if(key->alg[0] != '\0' && strcmp(key->alg, alg) != 0)
		goto out_decref;
	res = SFU_JWT_ERR_INTERNAL;
	if(kid != NULL && kid_out != NULL && (*kid_out = strdup(kid)) == NULL)
		goto out_decref;
	*key_out = key;
	*alg_out = idx;
	res = SFU_JWT_OK;
out_decref:
	json_decref(header);
	return res;
}

/* =============================================================================
 * Claims (RFC 7519 §4, private claims of janus-plugin-sfu)
 * ==========================================================================*/

/* Optional members: absent and JSON null both mean "not given" (as the Rust plugin's Option<T> did). */
static json_t *member(json_t *obj, const char *name) {
	json_t *v = json_object_get(obj, name);
	return json_is_null(v) ? NULL : v;
}

/* A NumericDate: a non-negative JSON integer (no string). Clamped to SFU_JWT_MAX_TIME. With \p real_ok, a
 * non-integer number too (RFC 7519 allows them; issuers stamping time.time() make them for iat/nbf), rounded
 * up: never earlier than the issuer said. */
static int get_time(json_t *obj, const char *name, int64_t *out, int *present, int real_ok) {
	json_t *v = member(obj, name);
	*present = v != NULL;
	if(v == NULL)
		return 0;
	if(real_ok && json_is_real(v)) {
		double d = json_real_value(v);
		if(!(d >= 0)) /* also NaN */
			return -1;
		int64_t whole = d >= (double)SFU_JWT_MAX_TIME ? SFU_JWT_MAX_TIME : (int64_t)d;
		*out = whole < SFU_JWT_MAX_TIME && (double)whole < d ? whole + 1 : whole;
		return 0;
	}
	if(!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	json_int_t t = json_integer_value(v);
	*out = t > SFU_JWT_MAX_TIME ? SFU_JWT_MAX_TIME : (int64_t)t;
	return 0;
}

static int get_bool(json_t *obj, const char *name, int *out, int *present) {
	json_t *v = member(obj, name);
	if(present != NULL)
		*present = v != NULL;
	if(v == NULL)
		return 0;
	if(!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

static int get_string(json_t *obj, const char *name, char **out) {
	json_t *v = member(obj, name);
	if(v == NULL)
		return 0;
	if(!json_is_string(v))
		return -1;
	*out = strdup(json_string_value(v));
	return *out ? 0 : -1;
}

/* Like get_string, but a value of another type counts as absent. */
static int get_name(json_t *obj, const char *name, char **out) {
	json_t *v = member(obj, name);
	if(!json_is_string(v))
		return 0;
	*out = strdup(json_string_value(v));
	return *out ? 0 : -1;
}

static int get_rooms(json_t *obj, sfu_jwt_claims *c) {
	json_t *v = member(obj, "room_ids");
	c->any_room = v == NULL;
	if(v == NULL)
		return 0;
	if(!json_is_array(v))
		return -1;
	size_t n = json_array_size(v);
	c->room_ids = calloc(n + 1, sizeof(char *));
	if(c->room_ids == NULL)
		return -1;
	for(size_t i = 0; i < n; i++) {
		const char *room = json_string_value(json_array_get(v, i));
		if(room == NULL || (c->room_ids[i] = strdup(room)) == NULL)
			return -1;
	}
	return 0;
}

/* aud: a string or an array of strings (RFC 7519 §4.1.3). Returns -1 on a type error, else whether \p want
 * is among them (want NULL: 1). */
static int check_audience(json_t *obj, const char *want) {
	json_t *aud = member(obj, "aud");
	if(want == NULL)
		return 1; /* not configured: ignored whatever it holds, as the old plugin did */
	if(aud == NULL)
		return 0;
	if(json_is_string(aud))
		return want == NULL || !strcmp(json_string_value(aud), want);
	if(!json_is_array(aud))
		return -1;
	int found = 0;
	size_t i;
	json_t *item;
	json_array_foreach(aud, i, item) {
		if(!json_is_string(item))
			return -1;
		found = found || !strcmp(json_string_value(item), want);
	}
	return found;
}

static sfu_jwt_result claims_from(json_t *payload, const sfu_jwt_options *options, sfu_jwt_claims *c) {
	int has_exp = 0;
	/* exp stays an integer (as the old plugin required); nbf and iat, which it never read, may be any number. */
	if(get_time(payload, "exp", &c->exp, &has_exp, 0) < 0 ||
		get_time(payload, "nbf", &c->nbf, &c->has_nbf, 1) < 0 ||
		get_time(payload, "iat", &c->iat, &c->has_iat, 1) < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	if(!has_exp)
		return SFU_JWT_ERR_MISSING_EXP;
	/* Known from here: exp, and nbf/iat when present, are integers in [0, SFU_JWT_MAX_TIME]. */
	c->publish_media = 1;
	c->send_data = 1;
	if(get_bool(payload, "join_hub", &c->join_hub, NULL) < 0 ||
		get_bool(payload, "kick_users", &c->kick_users, NULL) < 0 ||
		get_bool(payload, "mute_users", &c->mute_users, NULL) < 0 ||
		get_bool(payload, "publish_media", &c->publish_media, NULL) < 0 ||
		get_bool(payload, "send_data", &c->send_data, NULL) < 0 ||
		get_bool(payload, "eject_at_exp", &c->eject_at_exp, &c->has_eject_at_exp) < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	json_t *max_session = member(payload, "max_session_s");
	if(max_session != NULL && (!json_is_integer(max_session) || json_integer_value(max_session) < 0))
		return SFU_JWT_ERR_INVALID_CLAIMS;
	c->max_session_s = max_session ? (int64_t)json_integer_value(max_session) : 0;
	if(c->max_session_s > SFU_JWT_MAX_TIME)
		c->max_session_s = SFU_JWT_MAX_TIME;
	if(get_rooms(payload, c) < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	/* user_id binds the token to a user only when the operator uses it so (bind_user_id); otherwise it is ignored
	 * whatever it holds, as the old plugin did (naf-janus-adapter's JWT guide puts the app's numeric id there). */
	if((options == NULL || !options->ignore_user_id) && get_string(payload, "user_id", &c->user_id) < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	/* sub and jti only name the token for logs, bans and one_user_per_jti; the old plugin ignored them, so a
	 * token whose issuer gives them another type still verifies, without them. */
	if(get_name(payload, "sub", &c->sub) < 0 || get_name(payload, "jti", &c->jti) < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	/* The operator's room claim (e.g. Reticulum's hub_id): a string, or the token names no room. */
	if(options != NULL && options->room_claim != NULL &&
		get_string(payload, options->room_claim, &c->room) < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	/* Known from here: every claim we use has its type. Now the configured audience and issuer. */
	const char *want_aud = options ? options->audience : NULL;
	int aud = check_audience(payload, want_aud);
	if(aud < 0)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	if(aud == 0)
		return SFU_JWT_ERR_AUDIENCE;
	json_t *iss = member(payload, "iss");
	const char *want_iss = options ? options->issuer : NULL;
	if(want_iss != NULL && (!json_is_string(iss) || strcmp(json_string_value(iss), want_iss) != 0))
		return SFU_JWT_ERR_ISSUER;
	return SFU_JWT_OK;
}

sfu_jwt_result sfu_jwt_parse_claims(
	const sfu_jwt_options *options, const char *json, size_t len, sfu_jwt_claims *claims) {
	sfu_jwt_claims local;
	sfu_jwt_claims *c = claims ? claims : &local;
	memset(c, 0, sizeof(*c));
	json_t *payload = json ? load_object(json, len) : NULL;
	if(payload == NULL)
		return SFU_JWT_ERR_INVALID_CLAIMS;
	sfu_jwt_result res = claims_from(payload, options, c);
	json_decref(payload);
	if(res != SFU_JWT_OK || claims == NULL)
		sfu_jwt_claims_clear(c);
	return res;
}

void sfu_jwt_claims_clear(sfu_jwt_claims *claims) {
	if(claims == NULL)
		return;
	for(size_t i = 0; claims->room_ids != NULL && claims->room_ids[i] != NULL; i++)
		free(claims->room_ids[i]);
	free(claims->room_ids);
	free(claims->user_id);
	free(claims->sub);
	free(claims->jti);
	free(claims->room);
	free(claims->kid);
	memset(claims, 0, sizeof(*claims));
}

static int dup_or_null(char **dst, const char *src) {
	*dst = src ? strdup(src) : NULL;
	return src == NULL || *dst != NULL ? 0 : -1;
}

int sfu_jwt_claims_copy(sfu_jwt_claims *dst, const sfu_jwt_claims *src) {
	*dst = *src;
	dst->room_ids = NULL;
	dst->user_id = dst->sub = dst->jti = dst->kid = NULL;
	int rc = dup_or_null(&dst->user_id, src->user_id) | dup_or_null(&dst->sub, src->sub) |
			 dup_or_null(&dst->jti, src->jti) | dup_or_null(&dst->kid, src->kid);
	if(rc == 0 && src->room_ids != NULL) {
		size_t n = 0;
		while(src->room_ids[n] != NULL)
			n++;
		dst->room_ids = calloc(n + 1, sizeof(char *));
		for(size_t i = 0; dst->room_ids != NULL && i < n && rc == 0; i++)
			rc = dup_or_null(&dst->room_ids[i], src->room_ids[i]);
		if(dst->room_ids == NULL)
			rc = -1;
	}
	if(rc != 0) {
		sfu_jwt_claims_clear(dst);
		return -1;
	}
	return 0;
}

/* =============================================================================
 * Verification
 * ==========================================================================*/

sfu_jwt_result sfu_jwt_decode_verify(const sfu_jwt_keyset *keys, const sfu_jwt_options *options,
	const char *token, size_t len, sfu_jwt_claims *claims) {
	if(claims != NULL)
		memset(claims, 0, sizeof(*claims));
	if(keys == NULL)
		return SFU_JWT_ERR_INTERNAL;
	if(token == NULL || len == 0)
		return SFU_JWT_ERR_MALFORMED;
	/* nginx-style: bound the input before decoding anything. */
	if(len > SFU_JWT_MAX_TOKEN_LEN)
		return SFU_JWT_ERR_TOO_LARGE;
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(token + len - dot1 - 1)) : NULL;
	if(dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(token + len - dot2 - 1)) != NULL)
		return SFU_JWT_ERR_MALFORMED;
	size_t h_len = (size_t)(dot1 - token), p_len = (size_t)(dot2 - dot1 - 1),
		   s_len = (size_t)(token + len - dot2 - 1);
	if(h_len == 0 || p_len == 0 || s_len == 0)
		return SFU_JWT_ERR_MALFORMED;
	if(!all_b64url(token, h_len) || !all_b64url(dot1 + 1, p_len) || !all_b64url(dot2 + 1, s_len))
		return SFU_JWT_ERR_MALFORMED;
	/* Known from here: exactly three non-empty segments of base64url characters (no '=', RFC 7515 §2),
	 * at most SFU_JWT_MAX_TOKEN_LEN bytes, so every decoded part fits in one stack buffer. */
	unsigned char buf[SFU_JWT_MAX_TOKEN_LEN];
	long n = sfu_jwt_b64url_decode(token, h_len, buf);
	if(n <= 0)
		return SFU_JWT_ERR_MALFORMED;
	const jwt_key *key = NULL;
	int alg = -1;
	char *kid = NULL;
	sfu_jwt_result res = parse_header(keys, options, (const char *)buf, (size_t)n, &key, &alg, &kid);
	if(res != SFU_JWT_OK)
		return res;
	/* Known from here: alg is pinned and matches the RSA key it selected. */
	res = SFU_JWT_ERR_BAD_SIGNATURE;
	if(b64url_decoded_len(s_len) != (long)key->modulus_len)
		goto out_free_kid;
	n = sfu_jwt_b64url_decode(dot2 + 1, s_len, buf);
	if(n != (long)key->modulus_len) {
		res = SFU_JWT_ERR_MALFORMED;
		goto out_free_kid;
	}
	/* Known from here: the signature is exactly as long as the modulus (RFC 8017 §8.2.2 step 1). */
	int valid = verify_signature(key, alg, token, (size_t)(dot2 - token), buf, (size_t)n);
	if(valid <= 0) {
		res = valid < 0 ? SFU_JWT_ERR_INTERNAL : SFU_JWT_ERR_BAD_SIGNATURE;
		goto out_free_kid;
	}
	/* Known from here: the issuer signed this header and payload. Only now is the payload parsed. */
	n = sfu_jwt_b64url_decode(dot1 + 1, p_len, buf);
	if(n <= 0) {
		res = SFU_JWT_ERR_MALFORMED;
		goto out_free_kid;
	}
	sfu_jwt_claims local;
	sfu_jwt_claims *c = claims ? claims : &local;
	res = sfu_jwt_parse_claims(options, (const char *)buf, (size_t)n, c);
	if(res == SFU_JWT_OK) {
		snprintf(c->alg, sizeof(c->alg), "%s", algs[alg].name);
		c->kid = kid;
		kid = NULL;
		if(claims == NULL)
			sfu_jwt_claims_clear(c);
	}
out_free_kid:
	free(kid);
	return res;
}

sfu_jwt_result sfu_jwt_check_time(const sfu_jwt_claims *claims, unsigned int leeway_s, int64_t now) {
	if(claims == NULL)
		return SFU_JWT_ERR_INTERNAL;
	/* Keep the arithmetic far from overflow: claims are within [0, SFU_JWT_MAX_TIME]. */
	if(now < -SFU_JWT_MAX_TIME)
		now = -SFU_JWT_MAX_TIME;
	if(now > 2 * SFU_JWT_MAX_TIME)
		now = 2 * SFU_JWT_MAX_TIME;
	int64_t leeway = (int64_t)leeway_s;
	/* RFC 7519 §4.1.4: the current time must be before exp (plus leeway). */
	if(now >= claims->exp + leeway)
		return SFU_JWT_ERR_EXPIRED;
	/* §4.1.5: not before nbf (minus leeway). */
	if(claims->has_nbf && now + leeway < claims->nbf)
		return SFU_JWT_ERR_NOT_YET_VALID;
	/* §4.1.6 says nothing normative; an iat in the future beyond the leeway means a broken issuer clock. */
	if(claims->has_iat && claims->iat > now + leeway)
		return SFU_JWT_ERR_ISSUED_IN_FUTURE;
	return SFU_JWT_OK;
}

sfu_jwt_result sfu_jwt_verify(const sfu_jwt_keyset *keys, const sfu_jwt_options *options, const char *token,
	size_t len, int64_t now, sfu_jwt_claims *claims) {
	sfu_jwt_claims local;
	sfu_jwt_claims *c = claims ? claims : &local;
	sfu_jwt_result res = sfu_jwt_decode_verify(keys, options, token, len, c);
	if(res == SFU_JWT_OK)
		res = sfu_jwt_check_time(c, options ? options->leeway_s : 0, now);
	if(res != SFU_JWT_OK || claims == NULL)
		sfu_jwt_claims_clear(c);
	return res;
}
