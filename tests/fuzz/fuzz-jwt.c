/*! \file    fuzz-jwt.c
 * \brief    libFuzzer target: sfu_jwt parse + verify, claims parsing, base64url, key loaders
 * \details  Every input is run through:
 *   - sfu_jwt_verify() with a fixed 2048-bit RSA public key (default key, and the same key as a JWKS kid),
 *     under two option sets (RS512 only; RS512+PS512 with aud/iss);
 *   - sfu_jwt_parse_claims() directly, so the claim typing is reached without a valid signature;
 *   - a base64url round trip: a string that decodes must re-encode to itself (canonical form only);
 *   - the JWKS loader when the input looks like JSON, the DER/PEM loader when it looks like a key.
 * Invariants that must hold on success are checked with abort(). The key below is a PUBLIC test key
 * generated for this file; its private half was discarded after signing the seed corpus.
 * Build: make fuzz. Replay (no libFuzzer): tests/fuzz/replay-jwt DIR|FILE...
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu_jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* DER PKCS#1 RSAPublicKey, 2048 bits. */
static const unsigned char fuzz_public_key[] = {0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00, 0xde,
	0x9b, 0xe2, 0xbb, 0x73, 0x2e, 0x35, 0x6c, 0x88, 0xfd, 0x75, 0x4c, 0x9f, 0x8d, 0xef, 0xb7, 0xf7, 0x6a,
	0xcc, 0x8b, 0xd1, 0xf3, 0xe7, 0x23, 0x8d, 0x3d, 0xca, 0x8a, 0x1f, 0xc2, 0xc4, 0xde, 0xd0, 0x88, 0xa8,
	0x4e, 0x74, 0x04, 0x02, 0xae, 0x7b, 0x14, 0x47, 0x63, 0xb8, 0x39, 0xf9, 0x5d, 0x35, 0xde, 0x84, 0x1c,
	0x22, 0xb8, 0x30, 0xc0, 0x6c, 0x72, 0x99, 0xf6, 0xa3, 0xb3, 0xd0, 0x34, 0xc6, 0x33, 0xce, 0xc0, 0x8a,
	0x56, 0xea, 0x7e, 0x82, 0x8b, 0xfb, 0x74, 0x23, 0xa5, 0xef, 0xfa, 0x4f, 0xe2, 0xcf, 0x18, 0x01, 0x28,
	0xe9, 0xf3, 0xea, 0x27, 0x82, 0x35, 0x63, 0x32, 0x35, 0xcd, 0x3e, 0xfc, 0x40, 0x61, 0x72, 0xb2, 0x62,
	0x08, 0xcb, 0x13, 0x79, 0x5c, 0xef, 0x1d, 0x85, 0x33, 0x7e, 0x01, 0x36, 0x3c, 0x59, 0xc9, 0x7e, 0xf4,
	0x48, 0x24, 0xf8, 0x08, 0x90, 0xf3, 0xdb, 0xab, 0xb6, 0x12, 0xa2, 0x32, 0x4b, 0x1a, 0x7f, 0xfc, 0x1b,
	0x2d, 0x5f, 0x36, 0x7b, 0xc6, 0xa2, 0x48, 0x13, 0x37, 0xc2, 0x30, 0xd0, 0x4c, 0xcf, 0xe7, 0xf8, 0x57,
	0xda, 0xb6, 0xae, 0xf1, 0x27, 0x0b, 0x4a, 0xc4, 0x91, 0x2b, 0x98, 0x9b, 0x1c, 0xd8, 0x52, 0xc4, 0xcc,
	0x7d, 0xb5, 0xb5, 0x26, 0x30, 0x61, 0x3c, 0xf3, 0x46, 0xdf, 0xba, 0x27, 0x5d, 0x1e, 0x7d, 0xb0, 0x79,
	0xf1, 0xf8, 0xfe, 0x22, 0xcd, 0x2c, 0xc1, 0x63, 0x22, 0x59, 0x15, 0xde, 0xcf, 0x3c, 0x5d, 0x2d, 0x06,
	0x9f, 0x09, 0xc1, 0x25, 0x03, 0x9e, 0x3a, 0x81, 0x9a, 0x95, 0x0e, 0x13, 0x26, 0xa3, 0xea, 0x39, 0x02,
	0xd0, 0x4e, 0xca, 0xc9, 0x75, 0x4e, 0xfd, 0xb2, 0x17, 0x26, 0x94, 0xc2, 0x1b, 0x27, 0x08, 0x2d, 0xcf,
	0x00, 0x68, 0x00, 0x26, 0x92, 0x1f, 0x2f, 0xbb, 0xda, 0x9d, 0x21, 0xa8, 0x68, 0x8f, 0x7c, 0x4b, 0xa1,
	0x02, 0x03, 0x01, 0x00, 0x01};

static sfu_jwt_keyset *default_keys = NULL, *kid_keys = NULL;

static void fuzz_setup(void) {
	if(default_keys != NULL)
		return;
	default_keys = sfu_jwt_keyset_new();
	kid_keys = sfu_jwt_keyset_new();
	if(sfu_jwt_keyset_add_key(default_keys, fuzz_public_key, sizeof(fuzz_public_key), NULL, NULL, 0) != 0 ||
		sfu_jwt_keyset_add_key(kid_keys, fuzz_public_key, sizeof(fuzz_public_key), "fuzz-1", NULL, 0) != 0)
		abort();
}

static void check_claims(const sfu_jwt_claims *c) {
	if(c->exp < 0 || c->exp > SFU_JWT_MAX_TIME || c->nbf < 0 || c->iat < 0 || c->max_session_s < 0)
		abort();
	if(c->any_room != (c->room_ids == NULL))
		abort();
	sfu_jwt_claims copy;
	if(sfu_jwt_claims_copy(&copy, c) != 0)
		abort();
	if(copy.exp != c->exp || (c->user_id && strcmp(copy.user_id, c->user_id)))
		abort();
	for(size_t i = 0; c->room_ids && c->room_ids[i]; i++) {
		if(copy.room_ids[i] == NULL || strcmp(copy.room_ids[i], c->room_ids[i]))
			abort();
	}
	sfu_jwt_claims_clear(&copy);
}

static void fuzz_verify(const char *token, size_t size) {
	static const char *const algs_wide[] = {"RS512", "PS512", NULL};
	const sfu_jwt_options narrow = {.algorithms = NULL};
	const sfu_jwt_options wide = {
		.algorithms = algs_wide, .audience = "sfu", .issuer = "issuer", .leeway_s = 30};
	sfu_jwt_keyset *sets[] = {default_keys, kid_keys};
	const sfu_jwt_options *opts[] = {&narrow, &wide};
	for(int k = 0; k < 2; k++) {
		for(int o = 0; o < 2; o++) {
			sfu_jwt_claims c;
			sfu_jwt_result r = sfu_jwt_verify(sets[k], opts[o], token, size, 1700000000, &c);
			if(sfu_jwt_reason(r) == NULL)
				abort();
			if(r == SFU_JWT_OK)
				check_claims(&c);
			sfu_jwt_claims_clear(&c);
		}
	}
}

static void fuzz_claims(const char *text, size_t size) {
	sfu_jwt_claims c;
	const sfu_jwt_options opts = {.audience = "sfu"};
	if(sfu_jwt_parse_claims(NULL, text, size, &c) == SFU_JWT_OK) {
		check_claims(&c);
		if(sfu_jwt_check_time(&c, 60, 1700000000) == SFU_JWT_OK && c.exp + 60 <= 1700000000)
			abort();
	}
	sfu_jwt_claims_clear(&c);
	if(sfu_jwt_parse_claims(&opts, text, size, &c) == SFU_JWT_OK)
		check_claims(&c);
	sfu_jwt_claims_clear(&c);
}

static void fuzz_b64(const char *text, size_t size) {
	if(size > 4096)
		return;
	unsigned char raw[4096];
	char again[4096 * 2];
	long n = sfu_jwt_b64url_decode(text, size, raw);
	if(n < 0)
		return;
	size_t m = sfu_jwt_b64url_encode(raw, (size_t)n, again);
	if(m != size || memcmp(again, text, size) != 0)
		abort();
}

static void fuzz_loaders(const uint8_t *data, size_t size) {
	if(size == 0 || size > 16384)
		return;
	sfu_jwt_keyset *ks = sfu_jwt_keyset_new();
	char err[256];
	int rc = 0;
	if(data[0] == '{')
		rc = sfu_jwt_keyset_add_jwks(ks, (const char *)data, size, err, sizeof(err));
	else if(data[0] == 0x30 || data[0] == '-')
		rc = sfu_jwt_keyset_add_key(ks, data, size, NULL, err, sizeof(err));
	if(rc < 0 && sfu_jwt_keyset_count(ks) != 0)
		abort();
	sfu_jwt_keyset_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
	fuzz_setup();
	fuzz_verify((const char *)data, size);
	fuzz_claims((const char *)data, size);
	fuzz_b64((const char *)data, size);
	fuzz_loaders(data, size);
	return 0;
}
