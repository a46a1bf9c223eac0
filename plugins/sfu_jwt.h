/*! \file    sfu_jwt.h
 * \brief    janus-sfu: JWS compact (RFC 7515) / JWT (RFC 7519) verification for RSA join tokens
 * \details  The only module that looks inside a token. It needs OpenSSL
 * (libcrypto) and jansson, nothing else (no GLib, no Janus): it is the fuzz
 * target (tests/fuzz/fuzz-jwt.c) and is linked by tools/sfu-token.
 *
 * A key set holds RSA public keys parsed ONCE (single key file: DER PKCS#1,
 * DER SubjectPublicKeyInfo or PEM; or a JWKS). Verification is a chain of guard
 * clauses following RFC 8725 (JWT BCP): bounded size before any decoding,
 * exactly three canonical base64url segments, \c alg pinned to the configured
 * list and to the key type, embedded keys refused, signature length equal to
 * the modulus size, the signature verified BEFORE the payload is parsed, and
 * strictly typed claims. Every failure maps to one static snake_case reason
 * (sfu_jwt_reason()); no function here logs, and no reason string ever holds
 * any part of a token.
 *
 * Threads: a key set is immutable after loading and may be shared by any number
 * of threads verifying at once. Each thread keeps small pre-initialised verify
 * contexts (freed at thread exit, or by sfu_jwt_thread_cleanup()).
 */
#ifndef SFU_JWT_H
#define SFU_JWT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SFU_JWT_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define SFU_JWT_WARN_UNUSED
#endif

/*! \brief Longest token accepted, in bytes (checked before any decoding). */
#define SFU_JWT_MAX_TOKEN_LEN 8192
/*! \brief Deepest JSON nesting accepted in the header or the payload (the top object is depth 1). */
#define SFU_JWT_MAX_DEPTH     16
/*! \brief Longest \c kid accepted (characters from [A-Za-z0-9._-] only). */
#define SFU_JWT_MAX_KID_LEN   64
/*! \brief RSA modulus bounds in bits. */
#define SFU_JWT_MIN_RSA_BITS  2048
#define SFU_JWT_MAX_RSA_BITS  8192
/*! \brief Time claims beyond 9999-12-31T23:59:59Z are clamped to it, so callers can
 * add grace periods and convert to microseconds without overflowing 64 bits. */
#define SFU_JWT_MAX_TIME      INT64_C(253402300799)

/*! \brief Every verification result: enum value and its static snake_case reason. */
#define SFU_JWT_RESULT_MAP(XX)                                                                               \
	XX(SFU_JWT_OK, "ok")                                                                                     \
	XX(SFU_JWT_ERR_MALFORMED, "malformed_token")                                                             \
	XX(SFU_JWT_ERR_TOO_LARGE, "token_too_large")                                                             \
	XX(SFU_JWT_ERR_ALG, "algorithm_not_allowed")                                                             \
	XX(SFU_JWT_ERR_EMBEDDED_KEY, "embedded_key_rejected")                                                    \
	XX(SFU_JWT_ERR_CRIT, "unsupported_critical_header")                                                      \
	XX(SFU_JWT_ERR_BAD_KID, "bad_kid")                                                                       \
	XX(SFU_JWT_ERR_UNKNOWN_KID, "unknown_kid")                                                               \
	XX(SFU_JWT_ERR_BAD_SIGNATURE, "bad_signature")                                                           \
	XX(SFU_JWT_ERR_INVALID_CLAIMS, "invalid_claims")                                                         \
	XX(SFU_JWT_ERR_MISSING_EXP, "missing_exp")                                                               \
	XX(SFU_JWT_ERR_EXPIRED, "token_expired")                                                                 \
	XX(SFU_JWT_ERR_NOT_YET_VALID, "token_not_yet_valid")                                                     \
	XX(SFU_JWT_ERR_ISSUED_IN_FUTURE, "issued_in_future")                                                     \
	XX(SFU_JWT_ERR_AUDIENCE, "audience_mismatch")                                                            \
	XX(SFU_JWT_ERR_ISSUER, "issuer_mismatch")                                                                \
	XX(SFU_JWT_ERR_INTERNAL, "internal_error")

typedef enum sfu_jwt_result {
#define SFU_JWT_ENUM(name, reason) name,
	SFU_JWT_RESULT_MAP(SFU_JWT_ENUM)
#undef SFU_JWT_ENUM
		SFU_JWT__COUNT
} sfu_jwt_result;

/*! \brief The static snake_case reason of \p result (never NULL). Any thread. */
const char *sfu_jwt_reason(sfu_jwt_result result);

/*! \brief Opaque set of RSA public keys: an optional default key (no \c kid) plus JWKS keys by \c kid. */
typedef struct sfu_jwt_keyset sfu_jwt_keyset;

/*! \brief What the verifier enforces besides the signature. Borrowed by the verifier, never kept. */
typedef struct sfu_jwt_options {
	const char *const *algorithms; /*!< NULL-terminated accepted \c alg values; NULL means {"RS512"} */
	const char *audience;          /*!< when set, \c aud must be (or contain) it */
	const char *issuer;            /*!< when set, \c iss must equal it */
	unsigned int leeway_s;         /*!< clock skew allowed on exp/nbf/iat */
	const char *room_claim;        /*!< when set, the name of a string claim naming the token's one room */
	int ignore_user_id;            /*!< the user_id claim binds nothing: ignored whatever it holds */
} sfu_jwt_options;

/*! \brief The verified content of a token. Strings are malloc'ed; free with sfu_jwt_claims_clear(). */
typedef struct sfu_jwt_claims {
	int64_t exp;      /*!< required; clamped to SFU_JWT_MAX_TIME */
	int64_t nbf, iat; /*!< 0 when absent (see has_nbf/has_iat) */
	int has_nbf, has_iat;
	int join_hub, kick_users;     /*!< default 0 */
	int mute_users;               /*!< default 0: may mute others (Reticulum's claim name) */
	int publish_media, send_data; /*!< default 1 */
	int has_eject_at_exp, eject_at_exp;
	int64_t max_session_s;     /*!< 0 = none */
	int any_room;              /*!< room_ids absent or null */
	char **room_ids;           /*!< NULL-terminated when !any_room (possibly empty) */
	char *user_id, *sub, *jti; /*!< NULL when absent */
	char *room;                /*!< the value of options->room_claim, NULL when absent or not configured */
	char *kid;                 /*!< header kid, NULL when absent */
	char alg[8];               /*!< header alg that was verified */
} sfu_jwt_claims;

/*! \brief A new, empty key set (never NULL unless out of memory). */
sfu_jwt_keyset *sfu_jwt_keyset_new(void);
/*! \brief Free a key set (NULL is fine). No verification may be running on it. */
void sfu_jwt_keyset_free(sfu_jwt_keyset *keys);

/*! \brief Parse one RSA public key (DER PKCS#1 RSAPublicKey, DER SubjectPublicKeyInfo, or PEM of either).
 * @param[in] keys Key set to add to
 * @param[in] data Key bytes
 * @param[in] len Length of \p data
 * @param[in] kid NULL to make it the default key (tokens without \c kid), else its \c kid
 * @param[out] err Filled with a one-line reason on failure (may be NULL)
 * @param[in] errlen Size of \p err
 * @returns 0 on success, -1 when the key is unreadable, not RSA, smaller than 2048 bits, or a duplicate */
int sfu_jwt_keyset_add_key(sfu_jwt_keyset *keys, const unsigned char *data, size_t len, const char *kid,
	char *err, size_t errlen) SFU_JWT_WARN_UNUSED;
/*! \brief sfu_jwt_keyset_add_key() on the contents of file \p path (as the default key). */
int sfu_jwt_keyset_load_key_file(
	sfu_jwt_keyset *keys, const char *path, char *err, size_t errlen) SFU_JWT_WARN_UNUSED;
/*! \brief Add every RSA signing key of a JWKS document ({"keys":[{"kty":"RSA","kid","n","e"}...]}).
 * Keys whose \c kty is not RSA or whose \c use is not "sig" are skipped; an RSA key that is malformed,
 * too small, lacks a valid \c kid or repeats one fails the whole document (fail closed). A key's optional
 * \c alg pins the algorithm tokens signed with it must use.
 * @returns the number of keys added (>= 1), or -1 with \p err filled */
int sfu_jwt_keyset_add_jwks(
	sfu_jwt_keyset *keys, const char *json, size_t len, char *err, size_t errlen) SFU_JWT_WARN_UNUSED;
/*! \brief sfu_jwt_keyset_add_jwks() on the contents of file \p path. */
int sfu_jwt_keyset_load_jwks_file(
	sfu_jwt_keyset *keys, const char *path, char *err, size_t errlen) SFU_JWT_WARN_UNUSED;
/*! \brief Number of keys in the set (default key included). */
size_t sfu_jwt_keyset_count(const sfu_jwt_keyset *keys);

/*! \brief Verify signature and claims of \p token, WITHOUT the time checks (see sfu_jwt_check_time()).
 * Safe on any bytes (the fuzz target). On SFU_JWT_OK, \p claims is filled and owns its strings; on failure
 * \p claims is left zeroed (nothing to free).
 * @param[in] keys Key set (never modified)
 * @param[in] options Policy (NULL = RS512 only, no aud/iss, no leeway)
 * @param[in] token Token bytes (need not be NUL-terminated)
 * @param[in] len Length of \p token
 * @param[out] claims Result (may be NULL: then only the verdict is returned)
 * @returns SFU_JWT_OK or the first failure found */
sfu_jwt_result sfu_jwt_decode_verify(const sfu_jwt_keyset *keys, const sfu_jwt_options *options,
	const char *token, size_t len, sfu_jwt_claims *claims) SFU_JWT_WARN_UNUSED;
/*! \brief The time checks of RFC 7519 §4.1.4-4.1.6 against \p now (unix seconds), with \p leeway_s. */
sfu_jwt_result sfu_jwt_check_time(
	const sfu_jwt_claims *claims, unsigned int leeway_s, int64_t now) SFU_JWT_WARN_UNUSED;
/*! \brief sfu_jwt_decode_verify() then sfu_jwt_check_time(); \p claims is zeroed again on a time failure. */
sfu_jwt_result sfu_jwt_verify(const sfu_jwt_keyset *keys, const sfu_jwt_options *options, const char *token,
	size_t len, int64_t now, sfu_jwt_claims *claims) SFU_JWT_WARN_UNUSED;
/*! \brief Parse and type-check a payload (JSON text) as the verifier does after the signature.
 * Exposed for the fuzzer and tests; \p claims as in sfu_jwt_decode_verify(). */
sfu_jwt_result sfu_jwt_parse_claims(
	const sfu_jwt_options *options, const char *json, size_t len, sfu_jwt_claims *claims) SFU_JWT_WARN_UNUSED;
/*! \brief Deep-copy \p src into \p dst (dst is overwritten). @returns 0, or -1 when out of memory */
int sfu_jwt_claims_copy(sfu_jwt_claims *dst, const sfu_jwt_claims *src) SFU_JWT_WARN_UNUSED;
/*! \brief Free the strings of \p claims and zero it (NULL is fine). */
void sfu_jwt_claims_clear(sfu_jwt_claims *claims);

/*! \brief Free the calling thread's cached verify contexts (also done automatically at thread exit). */
void sfu_jwt_thread_cleanup(void);

/*! \brief Strict base64url (RFC 4648 §5) without padding; the encoding must be canonical.
 * @param[out] out Buffer of at least (len / 4) * 3 + 2 bytes
 * @returns decoded length, or -1 on any invalid character, padding or non-canonical tail */
long sfu_jwt_b64url_decode(const char *in, size_t len, unsigned char *out) SFU_JWT_WARN_UNUSED;
/*! \brief base64url without padding. \p out holds at least ((len + 2) / 3) * 4 + 1 bytes; NUL-terminated.
 * @returns the encoded length */
size_t sfu_jwt_b64url_encode(const unsigned char *in, size_t len, char *out);

#endif
