/*! \file    sfu-token.c
 * \brief    sfu-token: make RSA keys, mint RS512 join tokens, verify a token as the plugin would
 * \details  keygen writes a key pair in every form the plugin reads; mint signs a token with
 * OpenSSL (the demo and the end-to-end tests use it); verify loads a plugin configuration file and
 * runs sfu_token_check() on a token, printing "verdict=<v> reason=<r>". Run with --help for usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sfu_token.h"
#include "sfu_config.h"
#include "sfu_jwt.h"
#include "sfu_state.h"
#include "sfu-doctor.h"

static const char usage_text[] =
	"Usage: sfu-token COMMAND [OPTIONS]\n"
	"\n"
	"Commands:\n"
	"  keygen --out DIR [--bits 2048] [--kid K]\n"
	"      Create an RSA key pair in DIR: private.pem (keep secret, mode 0600), public.der\n"
	"      (DER PKCS#1, what auth_key expects), public.pem (SubjectPublicKeyInfo) and jwks.json\n"
	"      (for auth_keys; kid K, default: the RFC 7638 thumbprint of the key).\n"
	"\n"
	"  mint --key private.pem [claims...]\n"
	"      Print a signed RS512 token. Claims:\n"
	"        --room R[,R2...]       room_ids (omitted: any room)\n"
	"        --user U               user_id (binds the token to that user)\n"
	"        --join                 join_hub: true  (needed to join or subscribe)\n"
	"        --kick                 kick_users: true\n"
	"        --mute                 mute_users: true (may mute / unmute others)\n"
	"        --ttl S                exp = now + S seconds (default 3600)\n"
	"        --nbf S                nbf = now + S seconds (may be negative)\n"
	"        --no-publish           publish_media: false\n"
	"        --no-data              send_data: false\n"
	"        --aud A  --iss I  --sub S  --jti J\n"
	"        --max-session S        max_session_s\n"
	"        --eject-at-exp true|false\n"
	"        --kid K                header kid (must match a jwks.json entry when auth_keys is used)\n"
	"        --now T                use T (unix seconds) as the current time\n"
	"      Example: sfu-token mint --key keys/private.pem --room lobby --user alice --join --ttl 600\n"
	"\n"
	"  verify --config FILE.jcfg|DIR --room R [--user U] [--purpose join|subscribe|kick|refresh]\n"
	"         [--now T] TOKEN|-\n"
	"      Check TOKEN (or a token read from stdin with '-') exactly as the plugin configured by FILE\n"
	"      (or by the janus.plugin.sfu.jcfg/.cfg in DIR) would, and print\n"
	"      'verdict=<ok|missing|invalid|forbidden> reason=<reason>'. The configuration is loaded by the\n"
	"      plugin's own loader: a mistake in it is reported as the plugin would report it, and a\n"
	"      configuration without keys (authentication off) is an error, never 'ok'.\n"
	"\n"
	"  directory --redis URL [--prefix sfu:] [--password-file F] | --config FILE.jcfg|DIR\n"
	"      Print the room directory the nodes of a cluster publish in Redis (state backend \"redis\",\n"
	"      docs/SCALING.md) as JSON: every node (node_id, url, rooms, users, limits, updated_at) and, per\n"
	"      room, the nodes hosting it and its users. With --config, Redis, its password and the prefix are\n"
	"      those of the plugin's state: { } group.\n"
	"\n"
	"  doctor [--janus-config /etc/janus] [--turn-config FILE]\n"
	"      Check a Janus configs folder and the plugin's config for what is risky or missing in\n"
	"      production (sfu-token doctor --help; docs/DEPLOYMENT.md).\n"
	"\n"
	"Exit status: 0 success (verify: verdict ok), 1 verify refused the token, 2 usage or I/O error.\n";

static void usage(FILE *out) {
	fputs(usage_text, out);
}

static int fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int fail(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	fputs("sfu-token: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static gboolean parse_int64(const char *text, gint64 *out) {
	char *end = NULL;
	errno = 0;
	gint64 v = g_ascii_strtoll(text, &end, 10);
	if(errno != 0 || end == text || *end != '\0')
		return FALSE;
	*out = v;
	return TRUE;
}

static char *b64url(const unsigned char *data, size_t len) {
	char *out = g_malloc(((len + 2) / 3) * 4 + 1);
	sfu_jwt_b64url_encode(data, len, out);
	return out;
}

/* =============================================================================
 * keygen
 * ==========================================================================*/

static char *bn_b64url(EVP_PKEY *pkey, const char *name) {
	BIGNUM *bn = NULL;
	if(!EVP_PKEY_get_bn_param(pkey, name, &bn))
		return NULL;
	int n = BN_num_bytes(bn);
	unsigned char *buf = g_malloc(n > 0 ? n : 1);
	BN_bn2bin(bn, buf);
	char *out = b64url(buf, (size_t)n);
	g_free(buf);
	BN_free(bn);
	return out;
}

static gboolean write_encoded(
	EVP_PKEY *pkey, int selection, const char *format, const char *structure, const char *path, int mode) {
	OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, selection, format, structure, NULL);
	unsigned char *data = NULL;
	size_t len = 0;
	gboolean ok = ctx != NULL && OSSL_ENCODER_to_data(ctx, &data, &len);
	OSSL_ENCODER_CTX_free(ctx);
	if(ok) {
		int fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
		ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
		if(fd >= 0)
			ok = close(fd) == 0 && ok;
	}
	OPENSSL_clear_free(data, len);
	return ok;
}

static int cmd_keygen(int argc, char **argv) {
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
		{"bits", required_argument, NULL, 'b'}, {"kid", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *out = NULL, *kid = NULL;
	gint64 bits = 2048;
	int c;
	while((c = getopt_long(argc, argv, "o:b:k:h", opts, NULL)) != -1) {
		switch(c) {
			case 'o':
				out = optarg;
				break;
			case 'b':
				if(!parse_int64(optarg, &bits) || bits < SFU_JWT_MIN_RSA_BITS || bits > SFU_JWT_MAX_RSA_BITS)
					return fail("--bits must be %d..%d", SFU_JWT_MIN_RSA_BITS, SFU_JWT_MAX_RSA_BITS);
				break;
			case 'k':
				kid = optarg;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if(out == NULL)
		return fail("keygen: --out DIR is required");
	if(g_mkdir_with_parents(out, 0700) != 0)
		return fail("cannot create %s: %s", out, g_strerror(errno));
	EVP_PKEY *pkey = EVP_RSA_gen((unsigned int)bits);
	if(pkey == NULL)
		return fail("RSA key generation failed");
	char *n = bn_b64url(pkey, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64url(pkey, OSSL_PKEY_PARAM_RSA_E);
	/* RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, no whitespace. */
	char *canon = g_strdup_printf("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
	unsigned char digest[32];
	unsigned int dlen = 0;
	EVP_Digest(canon, strlen(canon), digest, &dlen, EVP_sha256(), NULL);
	char *thumb = b64url(digest, dlen);
	if(kid == NULL)
		kid = thumb;
	int rc = 0;
	char *priv = g_build_filename(out, "private.pem", NULL), *der = g_build_filename(out, "public.der", NULL);
	char *pem = g_build_filename(out, "public.pem", NULL), *jwks = g_build_filename(out, "jwks.json", NULL);
	json_t *doc = json_pack("{s:[{ssssssssssss}]}", "keys", "kty", "RSA", "use", "sig", "alg", "RS512", "kid",
		kid, "n", n, "e", e);
	char *jwks_text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	if(!write_encoded(pkey, EVP_PKEY_KEYPAIR, "PEM", "PrivateKeyInfo", priv, 0600) ||
		!write_encoded(pkey, EVP_PKEY_PUBLIC_KEY, "DER", "type-specific", der, 0644) ||
		!write_encoded(pkey, EVP_PKEY_PUBLIC_KEY, "PEM", "SubjectPublicKeyInfo", pem, 0644) ||
		jwks_text == NULL || !g_file_set_contents(jwks, jwks_text, -1, NULL)) {
		rc = fail("cannot write the keys into %s", out);
	} else {
		printf("private key: %s\npublic key (DER PKCS#1, auth_key): %s\npublic key (PEM): %s\n"
			   "JWKS (auth_keys): %s\nkid: %s\n",
			priv, der, pem, jwks, kid);
	}
	free(jwks_text);
	json_decref(doc);
	g_free(priv);
	g_free(der);
	g_free(pem);
	g_free(jwks);
	g_free(canon);
	g_free(thumb);
	g_free(n);
	g_free(e);
	EVP_PKEY_free(pkey);
	return rc;
}

/* =============================================================================
 * mint
 * ==========================================================================*/

typedef struct mint_args {
	const char *key, *rooms, *user, *kid, *aud, *iss, *sub, *jti, *eject;
	gboolean join, kick, mute, no_publish, no_data, has_nbf, has_max;
	gint64 ttl, nbf, max_session, now;
} mint_args;

static json_t *mint_claims(const mint_args *a) {
	json_t *p = json_object();
	json_object_set_new(p, "iat", json_integer(a->now));
	json_object_set_new(p, "exp", json_integer(a->now + a->ttl));
	if(a->has_nbf)
		json_object_set_new(p, "nbf", json_integer(a->now + a->nbf));
	json_object_set_new(p, "join_hub", json_boolean(a->join));
	json_object_set_new(p, "kick_users", json_boolean(a->kick));
	if(a->mute)
		json_object_set_new(p, "mute_users", json_true());
	if(a->no_publish)
		json_object_set_new(p, "publish_media", json_false());
	if(a->no_data)
		json_object_set_new(p, "send_data", json_false());
	if(a->rooms != NULL) {
		json_t *list = json_array();
		char **rooms = g_strsplit(a->rooms, ",", -1);
		for(char **r = rooms; *r != NULL; r++) {
			if(**r != '\0')
				json_array_append_new(list, json_string(*r));
		}
		g_strfreev(rooms);
		json_object_set_new(p, "room_ids", list);
	}
	const char *names[] = {"user_id", "aud", "iss", "sub", "jti"};
	const char *values[] = {a->user, a->aud, a->iss, a->sub, a->jti};
	for(size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if(values[i] != NULL)
			json_object_set_new(p, names[i], json_string(values[i]));
	}
	if(a->has_max)
		json_object_set_new(p, "max_session_s", json_integer(a->max_session));
	if(a->eject != NULL)
		json_object_set_new(p, "eject_at_exp", json_boolean(!strcmp(a->eject, "true")));
	return p;
}

static EVP_PKEY *read_private_key(const char *path) {
	FILE *f = fopen(path, "rb");
	if(f == NULL)
		return NULL;
	EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if(pkey != NULL && !EVP_PKEY_is_a(pkey, "RSA")) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return pkey;
}

static char *sign_rs512(EVP_PKEY *pkey, const char *input) {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 0;
	unsigned char *sig = NULL;
	char *out = NULL;
	if(ctx != NULL && EVP_DigestSignInit_ex(ctx, NULL, "SHA512", NULL, NULL, pkey, NULL) == 1 &&
		EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)input, strlen(input)) == 1) {
		sig = g_malloc(len);
		if(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) == 1)
			out = b64url(sig, len);
	}
	g_free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

static int mint_parse(int argc, char **argv, mint_args *a) {
	static const struct option opts[] = {{"key", required_argument, NULL, 'K'},
		{"room", required_argument, NULL, 'r'}, {"user", required_argument, NULL, 'u'},
		{"join", no_argument, NULL, 'j'}, {"kick", no_argument, NULL, 'x'}, {"mute", no_argument, NULL, 'M'},
		{"ttl", required_argument, NULL, 't'}, {"nbf", required_argument, NULL, 'n'},
		{"kid", required_argument, NULL, 'k'}, {"no-publish", no_argument, NULL, 'P'},
		{"no-data", no_argument, NULL, 'D'}, {"aud", required_argument, NULL, 'a'},
		{"iss", required_argument, NULL, 'i'}, {"sub", required_argument, NULL, 's'},
		{"jti", required_argument, NULL, 'J'}, {"max-session", required_argument, NULL, 'm'},
		{"eject-at-exp", required_argument, NULL, 'e'}, {"now", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
			case 'K':
				a->key = optarg;
				break;
			case 'M':
				a->mute = TRUE;
				break;
			case 'r':
				a->rooms = optarg;
				break;
			case 'u':
				a->user = optarg;
				break;
			case 'j':
				a->join = TRUE;
				break;
			case 'x':
				a->kick = TRUE;
				break;
			case 'k':
				a->kid = optarg;
				break;
			case 'P':
				a->no_publish = TRUE;
				break;
			case 'D':
				a->no_data = TRUE;
				break;
			case 'a':
				a->aud = optarg;
				break;
			case 'i':
				a->iss = optarg;
				break;
			case 's':
				a->sub = optarg;
				break;
			case 'J':
				a->jti = optarg;
				break;
			case 't':
				if(!parse_int64(optarg, &a->ttl) || a->ttl < -SFU_JWT_MAX_TIME || a->ttl > SFU_JWT_MAX_TIME)
					return fail("--ttl wants a number of seconds");
				break;
			case 'n':
				if(!parse_int64(optarg, &a->nbf) || a->nbf < -SFU_JWT_MAX_TIME || a->nbf > SFU_JWT_MAX_TIME)
					return fail("--nbf wants a number of seconds (relative to now, may be negative)");
				a->has_nbf = TRUE;
				break;
			case 'm':
				if(!parse_int64(optarg, &a->max_session) || a->max_session < 0)
					return fail("--max-session wants a non-negative number of seconds");
				a->has_max = TRUE;
				break;
			case 'e':
				if(strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0)
					return fail("--eject-at-exp wants true or false");
				a->eject = optarg;
				break;
			case 'N':
				if(!parse_int64(optarg, &a->now) || a->now < 0 || a->now > SFU_JWT_MAX_TIME)
					return fail("--now wants unix seconds");
				break;
			case 'h':
				usage(stdout);
				return -1;
			default:
				usage(stderr);
				return 2;
		}
	}
	if(optind < argc)
		return fail("mint: unexpected argument '%s' (see --help)", argv[optind]);
	if(a->key == NULL)
		return fail("mint: --key private.pem is required (see sfu-token keygen)");
	if(a->kid != NULL &&
		(strlen(a->kid) == 0 || strlen(a->kid) > SFU_JWT_MAX_KID_LEN ||
			strspn(a->kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
				strlen(a->kid)))
		return fail("mint: --kid must be 1..%d characters of [A-Za-z0-9._-]", SFU_JWT_MAX_KID_LEN);
	return 0;
}

static int cmd_mint(int argc, char **argv) {
	mint_args a = {0};
	a.ttl = 3600;
	a.now = g_get_real_time() / G_USEC_PER_SEC;
	int rc = mint_parse(argc, argv, &a);
	if(rc != 0)
		return rc < 0 ? 0 : rc;
	EVP_PKEY *pkey = read_private_key(a.key);
	if(pkey == NULL)
		return fail("mint: cannot read an RSA private key (PEM) from %s", a.key);
	json_t *header = a.kid ? json_pack("{ssssss}", "alg", "RS512", "typ", "JWT", "kid", a.kid)
						   : json_pack("{ssss}", "alg", "RS512", "typ", "JWT");
	json_t *payload = mint_claims(&a);
	char *h = json_dumps(header, JSON_COMPACT), *p = json_dumps(payload, JSON_COMPACT);
	char *hb = b64url((const unsigned char *)h, strlen(h)), *pb = b64url((const unsigned char *)p, strlen(p));
	char *input = g_strdup_printf("%s.%s", hb, pb);
	char *sig = sign_rs512(pkey, input);
	if(sig == NULL) {
		rc = fail("mint: signing failed");
	} else {
		printf("%s.%s\n", input, sig);
		if(strlen(input) + strlen(sig) + 1 > SFU_JWT_MAX_TOKEN_LEN)
			fprintf(stderr, "sfu-token: warning: token longer than %d bytes, the plugin will refuse it\n",
				SFU_JWT_MAX_TOKEN_LEN);
	}
	g_free(sig);
	g_free(input);
	g_free(hb);
	g_free(pb);
	free(h);
	free(p);
	json_decref(header);
	json_decref(payload);
	EVP_PKEY_free(pkey);
	return rc;
}

/* =============================================================================
 * verify
 * ==========================================================================*/

static char *read_token(const char *arg) {
	if(strcmp(arg, "-") != 0)
		return g_strdup(arg);
	GString *s = g_string_new(NULL);
	char buf[4096];
	size_t n;
	while((n = fread(buf, 1, sizeof(buf), stdin)) > 0 && s->len < (1 << 20))
		g_string_append_len(s, buf, (gssize)n);
	return g_strstrip(g_string_free(s, FALSE));
}

static int cmd_verify(int argc, char **argv) {
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
		{"room", required_argument, NULL, 'r'}, {"user", required_argument, NULL, 'u'},
		{"purpose", required_argument, NULL, 'p'}, {"now", required_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *config_path = NULL, *room = NULL, *user = NULL;
	sfu_token_purpose purpose = SFU_TOKEN_FOR_JOIN;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	int c;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
			case 'c':
				config_path = optarg;
				break;
			case 'r':
				room = optarg;
				break;
			case 'u':
				user = optarg;
				break;
			case 'p':
				if(!strcmp(optarg, "join"))
					purpose = SFU_TOKEN_FOR_JOIN;
				else if(!strcmp(optarg, "subscribe"))
					purpose = SFU_TOKEN_FOR_SUBSCRIBE;
				else if(!strcmp(optarg, "kick"))
					purpose = SFU_TOKEN_FOR_KICK;
				else if(!strcmp(optarg, "refresh"))
					purpose = SFU_TOKEN_FOR_REFRESH;
				else
					return fail("--purpose must be join, subscribe, kick or refresh");
				break;
			case 'N':
				if(!parse_int64(optarg, &now))
					return fail("--now wants unix seconds");
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if(config_path == NULL || room == NULL || optind != argc - 1)
		return fail("verify: --config FILE, --room R and one TOKEN (or -) are required (see --help)");
	/* The plugin's own loader: the same files, the same mistakes refused with the same messages. */
	GError *error = NULL;
	sfu_config *config = sfu_config_load_path(config_path, &error);
	if(config == NULL) {
		int rc = fail("verify: %s", error ? error->message : "invalid configuration");
		g_clear_error(&error);
		return rc;
	}
	sfu_token_verifier *auth = sfu_token_new(config, &error);
	sfu_config_free(config);
	if(auth == NULL) {
		int rc = fail("verify: %s", error ? error->message : "cannot load keys");
		g_clear_error(&error);
		return rc;
	}
	if(sfu_token_is_open(auth)) {
		/* Not "ok": with this configuration the plugin accepts every token, valid or not. */
		sfu_token_free(auth);
		return fail(
			"verify: authentication is OFF in %s (no auth_key/auth_keys): the plugin lets anyone join "
			"any room, whatever the token",
			config_path);
	}
	char *token = read_token(argv[optind]);
	const char *reason = NULL;
	sfu_grant grant;
	sfu_token_verdict v = sfu_token_check(auth, token, purpose, room, user, now, &grant, &reason);
	printf("verdict=%s reason=%s\n", sfu_token_verdict_name(v), reason);
	sfu_grant_clear(&grant);
	g_free(token);
	sfu_token_free(auth);
	sfu_jwt_thread_cleanup();
	return v == SFU_TOKEN_OK ? 0 : 1;
}

/* =============================================================================
 * directory
 * ==========================================================================*/

static int cmd_directory(int argc, char **argv) {
	static const struct option opts[] = {{"redis", required_argument, NULL, 'r'},
		{"prefix", required_argument, NULL, 'p'}, {"password-file", required_argument, NULL, 'w'},
		{"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *url = NULL, *prefix = NULL, *password_file = NULL, *config_path = NULL;
	int c;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
			case 'r':
				url = optarg;
				break;
			case 'p':
				prefix = optarg;
				break;
			case 'w':
				password_file = optarg;
				break;
			case 'c':
				config_path = optarg;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if((url == NULL) == (config_path == NULL) || optind != argc)
		return fail("directory: --redis URL or --config FILE|DIR is required (see --help)");
	GError *error = NULL;
	sfu_config *config = NULL;
	if(config_path != NULL) {
		config = sfu_config_load_path(config_path, &error);
		if(config == NULL) {
			int rc = fail("directory: %s", error ? error->message : "invalid configuration");
			g_clear_error(&error);
			return rc;
		}
		if(config->state_backend != SFU_STATE_REDIS) {
			sfu_config_free(config);
			return fail("directory: %s has no state backend \"redis\"", config_path);
		}
		url = config->redis_url;
		password_file = password_file ? password_file : config->redis_password_file;
		prefix = prefix ? prefix : config->key_prefix;
	}
	void *ctx = sfu_state_redis_connect(url, password_file, 2000, &error);
	json_t *dir = ctx ? sfu_state_directory(ctx, prefix ? prefix : "sfu:", &error) : NULL;
	sfu_state_redis_free(ctx);
	sfu_config_free(config);
	if(dir == NULL) {
		int rc = fail("directory: %s", error ? error->message : "failed");
		g_clear_error(&error);
		return rc;
	}
	char *text = json_dumps(dir, JSON_INDENT(2) | JSON_SORT_KEYS);
	puts(text);
	free(text);
	json_decref(dir);
	return 0;
}

int main(int argc, char **argv) {
	if(argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *cmd = argv[1];
	argv[1] = argv[0];
	if(!strcmp(cmd, "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	if(!strcmp(cmd, "mint"))
		return cmd_mint(argc - 1, argv + 1);
	if(!strcmp(cmd, "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if(!strcmp(cmd, "directory"))
		return cmd_directory(argc - 1, argv + 1);
	if(!strcmp(cmd, "doctor"))
		return sfu_doctor_main(argc - 1, argv + 1);
	fprintf(stderr, "sfu-token: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
