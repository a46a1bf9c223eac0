/*! \file    sfu_token.c
 * \brief    janus-sfu: token policy and verified-token cache (see sfu_token.h)
 * \details  Keys, options and the cache live together in one immutable,
 * refcounted \c auth_state. A check takes a reference to the current state
 * under \c auth->lock and works on it without that lock; a reload builds a
 * complete new state and swaps the pointer, so a check never sees half of a
 * key rotation and the cache can never hold an entry verified with other keys.
 *
 * Locks (leaf locks, in this order): auth->lock (state pointer) -> one cache
 * stripe lock. They are pthread mutexes, like every lock of the plugin (ThreadSanitizer
 * understands them, unlike GLib's futex-based GMutex). Neither is held while
 * calling the logger or OpenSSL's RSA.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <debug.h>

#include "sfu_token.h"
#include "sfu_jwt.h"
#include "sfu_log.h"

G_DEFINE_QUARK(sfu - token - error - quark, sfu_token_error)

/* =============================================================================
 * State: keys, options and cache, swapped as one
 * ==========================================================================*/

#define CACHE_ENTRIES 4096 /* power of two */
#define CACHE_STRIPES 16

typedef struct cache_entry {
	guint8 digest[32];
	gboolean used;
	sfu_jwt_claims claims; /* verified signature and claim types; time NOT checked */
} cache_entry;

typedef struct auth_state {
	gint ref;
	sfu_jwt_keyset *keys;
	char **algorithms;
	char *audience, *issuer, *room_claim;
	sfu_jwt_options options; /* points into the fields above */
	gboolean require_user_binding;
	pthread_mutex_t stripes[CACHE_STRIPES];
	cache_entry *cache;
} auth_state;

struct sfu_token_verifier {
	pthread_mutex_t lock; /* guards state */
	auth_state *state;    /* NULL when open */
	gboolean open;        /* fixed at creation */
	gint cache_enabled;   /* atomic */
	guint64 hits;         /* atomic */
};

static void state_unref(auth_state *st) {
	if(st == NULL || !g_atomic_int_dec_and_test(&st->ref))
		return;
	for(guint i = 0; i < CACHE_ENTRIES; i++)
		sfu_jwt_claims_clear(&st->cache[i].claims);
	g_free(st->cache);
	for(guint i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_destroy(&st->stripes[i]);
	sfu_jwt_keyset_free(st->keys);
	g_strfreev(st->algorithms);
	g_free(st->audience);
	g_free(st->issuer);
	g_free(st->room_claim);
	g_free(st);
}

static gboolean has_keys(const sfu_config *config) {
	return (config->auth_key != NULL && *config->auth_key != '\0') ||
		   (config->auth_keys != NULL && *config->auth_keys != '\0');
}

/* Parse every configured key once. NULL with \p error set on any failure (fail closed). */
static auth_state *state_new(const sfu_config *config, GError **error) {
	char err[512] = "";
	sfu_jwt_keyset *keys = sfu_jwt_keyset_new();
	if(keys == NULL) {
		g_set_error(error, SFU_TOKEN_ERROR, 1, "out of memory");
		return NULL;
	}
	if(config->auth_key != NULL && *config->auth_key != '\0' &&
		sfu_jwt_keyset_load_key_file(keys, config->auth_key, err, sizeof(err)) < 0) {
		g_set_error(error, SFU_TOKEN_ERROR, 2, "auth_key: %s", err);
		sfu_jwt_keyset_free(keys);
		return NULL;
	}
	if(config->auth_keys != NULL && *config->auth_keys != '\0' &&
		sfu_jwt_keyset_load_jwks_file(keys, config->auth_keys, err, sizeof(err)) < 0) {
		g_set_error(error, SFU_TOKEN_ERROR, 3, "auth_keys: %s", err);
		sfu_jwt_keyset_free(keys);
		return NULL;
	}
	/* Known from here: at least one valid RSA key of >= 2048 bits. */
	auth_state *st = g_new0(auth_state, 1);
	g_atomic_int_set(&st->ref, 1);
	st->keys = keys;
	static const char *const default_algs[] = {"RS512", NULL};
	st->algorithms =
		g_strdupv(config->algorithms && config->algorithms[0] ? config->algorithms : (char **)default_algs);
	st->audience = g_strdup(config->audience);
	st->issuer = g_strdup(config->issuer);
	st->options.algorithms = (const char *const *)st->algorithms;
	st->options.audience = st->audience;
	st->options.issuer = st->issuer;
	st->options.leeway_s = config->clock_leeway_s;
	st->room_claim = g_strdup(config->room_claim);
	st->options.room_claim = st->room_claim;
	st->options.ignore_user_id = !config->bind_user_id;
	st->require_user_binding = config->require_user_binding;
	for(guint i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&st->stripes[i], NULL);
	st->cache = g_new0(cache_entry, CACHE_ENTRIES);
	return st;
}

static auth_state *state_get(sfu_token_verifier *auth) {
	pthread_mutex_lock(&auth->lock);
	auth_state *st = auth->state;
	if(st != NULL)
		g_atomic_int_inc(&st->ref);
	pthread_mutex_unlock(&auth->lock);
	return st;
}

sfu_token_verifier *sfu_token_new(const sfu_config *config, GError **error) {
	if(config == NULL) {
		g_set_error(error, SFU_TOKEN_ERROR, 1, "no configuration");
		return NULL;
	}
	sfu_token_verifier *auth = g_new0(sfu_token_verifier, 1);
	pthread_mutex_init(&auth->lock, NULL);
	g_atomic_int_set(&auth->cache_enabled, 1);
	if(!has_keys(config)) {
		auth->open = TRUE;
		JANUS_LOG(LOG_WARN, "[sfu] ****************************************************************\n");
		JANUS_LOG(LOG_WARN, "[sfu] AUTHENTICATION IS OFF: neither auth_key nor auth_keys is set.\n");
		JANUS_LOG(LOG_WARN, "[sfu] Anyone may join any room; tokens are ignored; nobody may kick.\n");
		JANUS_LOG(LOG_WARN, "[sfu] ****************************************************************\n");
		return auth;
	}
	auth->state = state_new(config, error);
	if(auth->state == NULL) {
		pthread_mutex_destroy(&auth->lock);
		g_free(auth);
		return NULL;
	}
	JANUS_LOG(LOG_INFO, "[sfu] token verification on: %zu key(s), algorithms %s\n",
		sfu_jwt_keyset_count(auth->state->keys), auth->state->algorithms[0]);
	return auth;
}

void sfu_token_free(sfu_token_verifier *auth) {
	if(auth == NULL)
		return;
	state_unref(auth->state);
	pthread_mutex_destroy(&auth->lock);
	g_free(auth);
}

gboolean sfu_token_is_open(const sfu_token_verifier *auth) {
	return auth != NULL && auth->open;
}

gboolean sfu_token_reload(sfu_token_verifier *auth, const sfu_config *config, GError **error) {
	if(auth == NULL || config == NULL) {
		g_set_error(error, SFU_TOKEN_ERROR, 1, "no auth or configuration");
		return FALSE;
	}
	if(auth->open) {
		g_set_error(
			error, SFU_TOKEN_ERROR, 4, "authentication is off (no key at start): restart to turn it on");
		return FALSE;
	}
	if(!has_keys(config)) {
		g_set_error(error, SFU_TOKEN_ERROR, 5,
			"neither auth_key nor auth_keys set: refusing to turn authentication off");
		return FALSE;
	}
	auth_state *fresh = state_new(config, error);
	if(fresh == NULL)
		return FALSE;
	pthread_mutex_lock(&auth->lock);
	auth_state *old = auth->state;
	auth->state = fresh;
	pthread_mutex_unlock(&auth->lock);
	/* Checks still holding the old state finish with it; the last one frees it and its cache. */
	state_unref(old);
	JANUS_LOG(LOG_INFO, "[sfu] token keys reloaded: %zu key(s); verified-token cache emptied\n",
		sfu_jwt_keyset_count(fresh->keys));
	return TRUE;
}

void sfu_token_set_cache_enabled(sfu_token_verifier *auth, gboolean enabled) {
	if(auth != NULL)
		g_atomic_int_set(&auth->cache_enabled, enabled ? 1 : 0);
}

guint64 sfu_token_cache_hits(const sfu_token_verifier *auth) {
	return auth ? __atomic_load_n(&auth->hits, __ATOMIC_RELAXED) : 0;
}

/* =============================================================================
 * Grants
 * ==========================================================================*/

void sfu_grant_clear(sfu_grant *grant) {
	if(grant == NULL)
		return;
	g_strfreev(grant->room_ids);
	g_free(grant->user_id);
	g_free(grant->sub);
	g_free(grant->jti);
	g_free(grant->kid);
	g_free(grant->room);
	memset(grant, 0, sizeof(*grant));
}

gboolean sfu_grant_allows_room(const sfu_grant *grant, const char *room_id) {
	if(grant == NULL)
		return FALSE;
	if(grant->room != NULL && (room_id == NULL || strcmp(grant->room, room_id) != 0))
		return FALSE;
	if(grant->any_room)
		return TRUE;
	if(room_id == NULL || grant->room_ids == NULL)
		return FALSE;
	return g_strv_contains((const char *const *)grant->room_ids, room_id);
}

static void grant_from_claims(sfu_grant *g, const sfu_jwt_claims *c) {
	g->exp = c->exp;
	g->nbf = c->nbf;
	g->iat = c->iat;
	g->join_hub = c->join_hub != 0;
	g->kick_users = c->kick_users != 0;
	g->mute_users = c->mute_users != 0;
	g->publish_media = c->publish_media != 0;
	g->send_data = c->send_data != 0;
	g->has_eject_at_exp = c->has_eject_at_exp != 0;
	g->eject_at_exp = c->eject_at_exp != 0;
	g->max_session_s = c->max_session_s;
	g->any_room = c->any_room != 0;
	g->room_ids = c->any_room ? NULL : g_strdupv(c->room_ids);
	g->user_id = g_strdup(c->user_id);
	g->sub = g_strdup(c->sub);
	g->jti = g_strdup(c->jti);
	g->kid = g_strdup(c->kid);
	g->room = g_strdup(c->room);
}

static void grant_open(sfu_grant *g) {
	memset(g, 0, sizeof(*g));
	g->join_hub = TRUE;
	g->any_room = TRUE;
	g->publish_media = TRUE;
	g->send_data = TRUE;
}

/* =============================================================================
 * Verified-token cache (SHA-256 of the whole token -> claims)
 * ==========================================================================*/

static EVP_MD *sha256 = NULL;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static GPrivate hash_ctx = G_PRIVATE_INIT((GDestroyNotify)EVP_MD_CTX_free);

static void sha256_fetch(void) {
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static gboolean token_digest(const char *token, size_t len, guint8 out[32]) {
	pthread_once(&sha256_once, sha256_fetch);
	EVP_MD_CTX *ctx = g_private_get(&hash_ctx);
	if(ctx == NULL) {
		ctx = EVP_MD_CTX_new();
		if(ctx == NULL)
			return FALSE;
		g_private_set(&hash_ctx, ctx);
	}
	unsigned int n = 0;
	return sha256 != NULL && EVP_DigestInit_ex(ctx, sha256, NULL) && EVP_DigestUpdate(ctx, token, len) &&
		   EVP_DigestFinal_ex(ctx, out, &n) && n == 32;
}

static guint cache_slot(const guint8 digest[32]) {
	return ((guint)digest[0] | (guint)digest[1] << 8 | (guint)digest[2] << 16) & (CACHE_ENTRIES - 1);
}

/* On a hit, fill \p grant from the cached claims and return TRUE. */
static gboolean cache_lookup(auth_state *st, const guint8 digest[32], sfu_grant *grant) {
	guint slot = cache_slot(digest);
	pthread_mutex_t *stripe = &st->stripes[slot % CACHE_STRIPES];
	pthread_mutex_lock(stripe);
	cache_entry *e = &st->cache[slot];
	gboolean hit = e->used && CRYPTO_memcmp(e->digest, digest, 32) == 0;
	if(hit)
		grant_from_claims(grant, &e->claims);
	pthread_mutex_unlock(stripe);
	return hit;
}

/* Store \p claims (ownership moves to the cache; \p claims is zeroed). Direct-mapped: evicts the slot. */
static void cache_store(auth_state *st, const guint8 digest[32], sfu_jwt_claims *claims) {
	guint slot = cache_slot(digest);
	pthread_mutex_t *stripe = &st->stripes[slot % CACHE_STRIPES];
	sfu_jwt_claims evicted;
	pthread_mutex_lock(stripe);
	cache_entry *e = &st->cache[slot];
	evicted = e->claims;
	memcpy(e->digest, digest, 32);
	e->claims = *claims;
	e->used = TRUE;
	pthread_mutex_unlock(stripe);
	memset(claims, 0, sizeof(*claims));
	sfu_jwt_claims_clear(&evicted);
}

/* =============================================================================
 * Checking
 * ==========================================================================*/

const char *sfu_token_purpose_name(sfu_token_purpose purpose) {
	switch(purpose) {
		case SFU_TOKEN_FOR_JOIN:
			return "join";
		case SFU_TOKEN_FOR_SUBSCRIBE:
			return "subscribe";
		case SFU_TOKEN_FOR_KICK:
			return "kick";
		case SFU_TOKEN_FOR_REFRESH:
			return "refresh";
		case SFU_TOKEN_FOR_MUTE:
			return "mute";
		default:
			return "unknown";
	}
}

const char *sfu_token_verdict_name(sfu_token_verdict verdict) {
	switch(verdict) {
		case SFU_TOKEN_OK:
			return "ok";
		case SFU_TOKEN_MISSING:
			return "missing";
		case SFU_TOKEN_INVALID:
			return "invalid";
		case SFU_TOKEN_FORBIDDEN:
			return "forbidden";
		default:
			return "unknown";
	}
}

/* One line per rejection; never the token or its signature. \p g is all zero unless the signature verified. */
static void log_rejection(sfu_token_purpose purpose, sfu_token_verdict verdict, const char *reason,
	const char *room_id, const char *user_id, const sfu_grant *g) {
	/* At most 20 lines a second (bursts of 50): a flood of bad tokens must not flood the log. */
	static sfu_log_limiter limit = SFU_LOG_LIMITER(20, 50);
	unsigned long left_out = 0;
	if(!sfu_log_allow(&limit, &left_out))
		return;
	if(left_out > 0)
		JANUS_LOG(LOG_WARN, "[sfu] auth: %lu more rejections were not logged (rate limit)\n", left_out);
	char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN], kid[SFU_LOG_ID_LEN], jti[SFU_LOG_ID_LEN],
		sub[SFU_LOG_ID_LEN];
	JANUS_LOG(LOG_WARN, "[sfu] auth: %s rejected (%s): reason=%s room=%s user=%s kid=%s jti=%s sub=%s\n",
		sfu_token_purpose_name(purpose), sfu_token_verdict_name(verdict), reason, sfu_log_id(room_id, room),
		sfu_log_id(user_id, user), sfu_log_id(g ? g->kid : NULL, kid), sfu_log_id(g ? g->jti : NULL, jti),
		sfu_log_id(g ? g->sub : NULL, sub));
}

/* The plugin's policy on a token known to be valid now. NULL when allowed, else the reason. */
static const char *policy(const auth_state *st, const sfu_grant *g, sfu_token_purpose purpose,
	const char *room_id, const char *user_id) {
	if(st->require_user_binding && g->user_id == NULL)
		return "user_binding_required";
	if(user_id != NULL && g->user_id != NULL && strcmp(user_id, g->user_id) != 0)
		return "user_mismatch";
	/* room_claim configured: a token that names no room is valid for none (fail closed). */
	if(st->room_claim != NULL && g->room == NULL)
		return "room_not_allowed";
	switch(purpose) {
		case SFU_TOKEN_FOR_KICK:
			if(!g->kick_users)
				return "kick_not_allowed";
			break;
		case SFU_TOKEN_FOR_MUTE:
			if(!g->mute_users)
				return "mute_not_allowed";
			break;
		case SFU_TOKEN_FOR_JOIN:
		case SFU_TOKEN_FOR_SUBSCRIBE:
		case SFU_TOKEN_FOR_REFRESH:
			if(!g->join_hub)
				return "join_not_allowed";
			break;
		default:
			return "internal_error";
	}
	/* room_id NULL: the caller checks the room once it knows it (a subscribe looks for the publisher only
	 * after the token verified, and only in rooms the grant allows). */
	if(room_id != NULL && !sfu_grant_allows_room(g, room_id))
		return "room_not_allowed";
	return NULL;
}

/* Signature, format and claim types: from the cache or by full verification. SFU_JWT_OK fills \p g. */
static sfu_jwt_result verified_grant(
	sfu_token_verifier *auth, auth_state *st, const char *token, sfu_grant *g) {
	size_t len = strlen(token);
	guint8 digest[32];
	gboolean use_cache = g_atomic_int_get(&auth->cache_enabled) && len <= SFU_JWT_MAX_TOKEN_LEN &&
						 token_digest(token, len, digest);
	if(use_cache && cache_lookup(st, digest, g)) {
		__atomic_fetch_add(&auth->hits, 1, __ATOMIC_RELAXED);
		return SFU_JWT_OK;
	}
	sfu_jwt_claims claims;
	sfu_jwt_result res = sfu_jwt_decode_verify(st->keys, &st->options, token, len, &claims);
	if(res != SFU_JWT_OK)
		return res;
	grant_from_claims(g, &claims);
	if(use_cache)
		cache_store(st, digest, &claims);
	sfu_jwt_claims_clear(&claims);
	return SFU_JWT_OK;
}

sfu_token_verdict sfu_token_check(sfu_token_verifier *auth, const char *token, sfu_token_purpose purpose,
	const char *room_id, const char *user_id, gint64 now, sfu_grant *grant, const char **reason) {
	sfu_grant local;
	sfu_grant *g = grant ? grant : &local;
	const char *dummy;
	const char **why = reason ? reason : &dummy;
	memset(g, 0, sizeof(*g));
	sfu_token_verdict verdict = SFU_TOKEN_INVALID;
	*why = "internal_error";
	auth_state *st = NULL;
	if(auth == NULL)
		goto out_log;
	if(auth->open) {
		/* Legacy behaviour: tokens are ignored, everyone may join, nobody may kick. */
		grant_open(g);
		verdict = purpose == SFU_TOKEN_FOR_KICK || purpose == SFU_TOKEN_FOR_MUTE ? SFU_TOKEN_FORBIDDEN
																				 : SFU_TOKEN_OK;
		*why = verdict == SFU_TOKEN_OK ? "ok" : "auth_disabled";
		goto out_log;
	}
	if(token == NULL) {
		verdict = SFU_TOKEN_MISSING;
		*why = "missing_token";
		goto out_log;
	}
	st = state_get(auth);
	if(st == NULL)
		goto out_log;
	/* Known from here: keys are configured and a token was presented. */
	sfu_jwt_result res = verified_grant(auth, st, token, g);
	if(res == SFU_JWT_OK) {
		/* Re-checked on every call, cache hit or not: the token may have expired since. */
		sfu_jwt_claims times = {0};
		times.exp = g->exp;
		times.nbf = g->nbf;
		times.iat = g->iat;
		times.has_nbf = times.has_iat = 1;
		res = sfu_jwt_check_time(&times, st->options.leeway_s, now);
	}
	if(res != SFU_JWT_OK) {
		*why = sfu_jwt_reason(res);
		goto out_log;
	}
	/* Known from here: the token is authentic, well-typed, and valid at \p now. */
	const char *refused = policy(st, g, purpose, room_id, user_id);
	verdict = refused ? SFU_TOKEN_FORBIDDEN : SFU_TOKEN_OK;
	*why = refused ? refused : "ok";
out_log:
	state_unref(st);
	if(verdict != SFU_TOKEN_OK)
		log_rejection(purpose, verdict, *why, room_id, user_id, g);
	if(verdict == SFU_TOKEN_INVALID || verdict == SFU_TOKEN_MISSING || g == &local)
		sfu_grant_clear(g);
	return verdict;
}
