/*! \file    sfu_authz.c
 * \brief    janus-sfu: session authorization, expiry, refresh, ejection, bans (see sfu_authz.h)
 */
#include <string.h>

#include <debug.h>

#include "sfu_authz.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_expiry.h"

static const sfu_config *config = NULL;

static GMutex stats_lock;
static GHashTable *rejections = NULL; /* reason -> count */
static guint64 n_refreshes, n_expiries, n_session_limits, n_kicks, n_bans, n_warnings, n_replaced;

static void bump(guint64 *counter) {
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* =============================================================================
 * Grants on handles
 * ==========================================================================*/

void sfu_authz_attach(sfu_handle *h, const sfu_grant *grant) {
	janus_mutex_lock(&h->mutex);
	g_atomic_int_set((gint *)&h->auth.publish_media, grant->publish_media);
	g_atomic_int_set((gint *)&h->auth.send_data, grant->send_data);
	h->auth.kick_users = grant->kick_users;
	h->auth.exp = grant->exp;
	g_free(h->auth.kid);
	h->auth.kid = g_strdup(grant->kid);
	g_free(h->auth.jti);
	h->auth.jti = g_strdup(grant->jti);
	g_free(h->auth.sub);
	h->auth.sub = g_strdup(grant->sub);
	g_free(h->auth.bound_user);
	h->auth.bound_user = g_strdup(grant->user_id);
	janus_mutex_unlock(&h->mutex);
}

/* Whether this user is ejected at expiry: the token's eject_at_exp claim wins over the config. */
static gboolean ejects_at_exp(const sfu_grant *grant) {
	if(grant->has_eject_at_exp)
		return grant->eject_at_exp;
	return config->on_token_expiry == SFU_EXPIRY_EJECT;
}

/* (Re)schedule the warning and expiry of (room, user) for \p grant. */
static void schedule_expiry(const char *room_id, const char *user_id, const sfu_grant *grant) {
	if(grant->exp <= 0 || !ejects_at_exp(grant)) {
		sfu_expiry_set(room_id, user_id, SFU_EXPIRY_WARN, 0);
		sfu_expiry_set(room_id, user_id, SFU_EXPIRY_TOKEN, 0);
		return;
	}
	gint64 eject_at = (grant->exp + (gint64)config->expiry_grace_s) * G_USEC_PER_SEC;
	gint64 warn_at = (grant->exp - (gint64)config->expiry_warning_s) * G_USEC_PER_SEC;
	gint64 now = g_get_real_time();
	if(warn_at < now)
		warn_at = now; /* less time left than the warning period: warn at once */
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_WARN, config->expiry_warning_s ? warn_at : 0);
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_TOKEN, eject_at);
}

/* Give every handle of (room, user) the new grant and move its deadlines. */
static void apply_to_user(const char *room_id, const char *user_id, const sfu_grant *grant) {
	GPtrArray *mine = sfu_registry_user_handles(room_id, user_id);
	for(guint i = 0; i < mine->len; i++)
		sfu_authz_attach(mine->pdata[i], grant);
	g_ptr_array_unref(mine);
	schedule_expiry(room_id, user_id, grant);
}

/* =============================================================================
 * Door checks, joins, refresh
 * ==========================================================================*/

sfu_err sfu_authz_admit(
	const char *room_id, const char *user_id, const sfu_grant *grant, const char **reason) {
	gint64 now = now_s();
	if(sfu_bans_check(room_id, user_id, grant->sub, grant->jti, now)) {
		*reason = "banned";
		return SFU_ERR_JOIN_BANNED;
	}
	if(config->one_user_per_jti && !sfu_bans_claim_jti(grant->jti, user_id, grant->exp, now)) {
		*reason = "token_in_use";
		return SFU_ERR_JOIN_FORBIDDEN;
	}
	return SFU_OK;
}

guint sfu_authz_replace_stale(
	sfu_handle *h, const char *room_id, const char *user_id, const sfu_grant *grant) {
	if(!config->replace_stale_sessions || grant->user_id == NULL)
		return 0;
	/* Only a token-bound user may be replaced: otherwise anyone could evict anyone by joining with their id. */
	sfu_departure d;
	GPtrArray *stale = sfu_registry_evict(room_id, user_id, h, &d);
	guint n = stale->len;
	for(guint i = 0; i < stale->len; i++)
		sfu_core_end_session(((sfu_handle *)stale->pdata[i])->jh);
	g_ptr_array_unref(stale);
	if(n > 0) {
		__atomic_fetch_add(&n_replaced, n, __ATOMIC_RELAXED);
		JANUS_LOG(
			LOG_INFO, "[sfu] replaced %u stale handle(s) of user '%s' in room '%s'\n", n, user_id, room_id);
	}
	sfu_authz_departed(&d);
	return n;
}

void sfu_authz_joined(sfu_handle *h, const sfu_grant *grant) {
	sfu_authz_attach(h, grant);
	if(grant->exp <= 0)
		return; /* open mode: nothing to keep track of */
	gint64 current = sfu_expiry_get(h->room_id, h->user_id, SFU_EXPIRY_TOKEN);
	gint64 offered = (grant->exp + (gint64)config->expiry_grace_s) * G_USEC_PER_SEC;
	if(current == 0 || offered > current) {
		/* First handle of the user, or a newer token (naf sends its latest on every subscriber join). */
		if(current != 0)
			bump(&n_refreshes);
		apply_to_user(h->room_id, h->user_id, grant);
	}
	if(grant->max_session_s > 0 && sfu_expiry_get(h->room_id, h->user_id, SFU_EXPIRY_SESSION) == 0) {
		sfu_expiry_set(h->room_id, h->user_id, SFU_EXPIRY_SESSION,
			g_get_real_time() + grant->max_session_s * G_USEC_PER_SEC);
	}
}

static gboolean binds_differently(const char *current, const char *offered) {
	return current != NULL && (offered == NULL || strcmp(current, offered) != 0);
}

sfu_err sfu_authz_refresh(sfu_handle *h, const sfu_grant *grant, const char **reason) {
	janus_mutex_lock(&h->mutex);
	gboolean mismatch =
		binds_differently(h->auth.bound_user, grant->user_id) || binds_differently(h->auth.sub, grant->sub);
	janus_mutex_unlock(&h->mutex);
	if(mismatch) {
		*reason = "user_mismatch";
		return SFU_ERR_REFRESH_FORBIDDEN;
	}
	apply_to_user(h->room_id, h->user_id, grant);
	bump(&n_refreshes);
	sfu_events_audit(
		h->jh, "refreshed", h->room_id, h->user_id, json_pack("{sI}", "expires_at", (json_int_t)grant->exp));
	return SFU_OK;
}

/* =============================================================================
 * Leaving and ejection
 * ==========================================================================*/

void sfu_authz_departed(sfu_departure *d) {
	if(d->joined && d->user_left) {
		json_t *ev = sfu_event_leave(d->user_id, d->room_id);
		sfu_events_push_all(d->notify, ev, NULL);
		d->notify = NULL;
		json_decref(ev);
		sfu_expiry_cancel_user(d->room_id, d->user_id);
		sfu_events_audit(NULL, "left", d->room_id, d->user_id, NULL);
	}
	sfu_departure_clear(d);
}

guint sfu_authz_eject(
	const char *room_id, const char *user_id, const char *reason, const char *by, gboolean ban) {
	/* Phase 1 (registry lock inside): detach every handle of the user from the room. */
	sfu_departure d;
	GPtrArray *victims = sfu_registry_evict(room_id, user_id, NULL, &d);
	/* The ban is recorded before anyone is told, so no rejoin can slip in between. */
	char *sub = NULL, *jti = NULL;
	for(guint i = 0; i < victims->len; i++) {
		sfu_handle *v = victims->pdata[i];
		janus_mutex_lock(&v->mutex);
		if(sub == NULL)
			sub = g_strdup(v->auth.sub);
		if(jti == NULL)
			jti = g_strdup(v->auth.jti);
		janus_mutex_unlock(&v->mutex);
	}
	if(ban && config->kick_ban_s > 0) {
		gint64 until = now_s() + config->kick_ban_s;
		sfu_bans_add(room_id, user_id, sub, jti, until, by);
		bump(&n_bans);
		sfu_events_audit(
			NULL, "banned", room_id, user_id, json_pack("{sIss*}", "until", (json_int_t)until, "by", by));
	}
	/* Phase 2 (no lock): say why, end the handles, tell the room. */
	json_t *ev = json_pack("{ssssssss*}", "event", "ejected", "room_id", room_id, "reason", reason, "by", by);
	for(guint i = 0; i < victims->len; i++) {
		sfu_handle *v = victims->pdata[i];
		if(v->role == SFU_ROLE_PUBLISHER)
			sfu_core_push_event(v->jh, NULL, ev, NULL);
	}
	json_decref(ev);
	for(guint i = 0; i < victims->len; i++)
		sfu_core_end_session(((sfu_handle *)victims->pdata[i])->jh);
	guint n = victims->len;
	g_ptr_array_unref(victims);
	g_free(sub);
	g_free(jti);
	sfu_expiry_cancel_user(room_id, user_id);
	sfu_authz_departed(&d);
	JANUS_LOG(LOG_INFO, "[sfu] ejected user '%s' from room '%s': %s%s%s (%u handles)\n", user_id, room_id,
		reason, by ? " by " : "", by ? by : "", n);
	sfu_events_audit(NULL, "ejected", room_id, user_id,
		json_pack("{ssss*si}", "reason", reason, "by", by, "handles", (int)n));
	return n;
}

/* Current token expiry of (room, user), from any of its handles; 0 when unknown. */
static gint64 user_exp(const char *room_id, const char *user_id, sfu_handle **publisher) {
	gint64 exp = 0;
	GPtrArray *mine = sfu_registry_user_handles(room_id, user_id);
	for(guint i = 0; i < mine->len; i++) {
		sfu_handle *h = mine->pdata[i];
		janus_mutex_lock(&h->mutex);
		if(h->auth.exp > exp)
			exp = h->auth.exp;
		janus_mutex_unlock(&h->mutex);
		if(publisher != NULL && *publisher == NULL && h->role == SFU_ROLE_PUBLISHER) {
			sfu_handle_ref(h);
			*publisher = h;
		}
	}
	g_ptr_array_unref(mine);
	return exp;
}

/* Scheduler thread: a deadline passed. No lock is held. */
static void on_deadline(
	const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us, gint64 lateness_us) {
	(void)deadline_us;
	sfu_handle *pub = NULL;
	gint64 exp = user_exp(room_id, user_id, kind == SFU_EXPIRY_WARN ? &pub : NULL);
	switch(kind) {
		case SFU_EXPIRY_WARN:
			if(pub != NULL) {
				json_t *ev = json_pack(
					"{sssssI}", "event", "token_expiring", "room_id", room_id, "expires_at", (json_int_t)exp);
				sfu_core_push_event(pub->jh, NULL, ev, NULL);
				json_decref(ev);
				sfu_handle_unref(pub);
				bump(&n_warnings);
				sfu_events_audit(
					NULL, "expiring", room_id, user_id, json_pack("{sI}", "expires_at", (json_int_t)exp));
			}
			break;
		case SFU_EXPIRY_TOKEN:
			/* A refresh may have raced with this deadline: trust the handles' current expiry. */
			if(exp > 0 && (exp + (gint64)config->expiry_grace_s) * G_USEC_PER_SEC > g_get_real_time())
				break;
			bump(&n_expiries);
			JANUS_LOG(LOG_VERB, "[sfu] token of '%s' in room '%s' expired (%" G_GINT64_FORMAT " us late)\n",
				user_id, room_id, lateness_us);
			sfu_authz_eject(room_id, user_id, "token_expired", NULL, FALSE);
			break;
		case SFU_EXPIRY_SESSION:
			bump(&n_session_limits);
			sfu_authz_eject(room_id, user_id, "session_limit", NULL, FALSE);
			break;
		default:
			break;
	}
}

/* =============================================================================
 * Lifecycle and stats
 * ==========================================================================*/

int sfu_authz_start(const sfu_config *cfg) {
	config = cfg;
	g_mutex_lock(&stats_lock);
	if(rejections == NULL)
		rejections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_mutex_unlock(&stats_lock);
	sfu_bans_init();
	return sfu_expiry_start(on_deadline);
}

void sfu_authz_stop(void) {
	sfu_expiry_stop();
	sfu_bans_shutdown();
	g_mutex_lock(&stats_lock);
	g_clear_pointer(&rejections, g_hash_table_destroy);
	g_mutex_unlock(&stats_lock);
}

void sfu_authz_count_rejection(const char *reason) {
	if(reason == NULL)
		return;
	g_mutex_lock(&stats_lock);
	if(rejections != NULL) {
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(rejections, reason));
		g_hash_table_insert(rejections, g_strdup(reason), GUINT_TO_POINTER(n + 1));
	}
	g_mutex_unlock(&stats_lock);
}

void sfu_authz_count_kick(void) {
	bump(&n_kicks);
}

json_t *sfu_authz_stats(void) {
	json_t *by_reason = json_object();
	g_mutex_lock(&stats_lock);
	if(rejections != NULL) {
		GHashTableIter iter;
		gpointer k, v;
		g_hash_table_iter_init(&iter, rejections);
		while(g_hash_table_iter_next(&iter, &k, &v))
			json_object_set_new(by_reason, k, json_integer(GPOINTER_TO_UINT(v)));
	}
	g_mutex_unlock(&stats_lock);
	return json_pack("{sosIsIsIsIsIsIsIsi}", "rejections_by_reason", by_reason, "refreshes",
		(json_int_t)__atomic_load_n(&n_refreshes, __ATOMIC_RELAXED), "expiries",
		(json_int_t)__atomic_load_n(&n_expiries, __ATOMIC_RELAXED), "session_limits",
		(json_int_t)__atomic_load_n(&n_session_limits, __ATOMIC_RELAXED), "expiry_warnings",
		(json_int_t)__atomic_load_n(&n_warnings, __ATOMIC_RELAXED), "kicks",
		(json_int_t)__atomic_load_n(&n_kicks, __ATOMIC_RELAXED), "bans",
		(json_int_t)__atomic_load_n(&n_bans, __ATOMIC_RELAXED), "replaced_handles",
		(json_int_t)__atomic_load_n(&n_replaced, __ATOMIC_RELAXED), "scheduled_deadlines",
		(int)sfu_expiry_count());
}
