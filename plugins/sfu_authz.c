/*! \file    sfu_authz.c
 * \brief    janus-sfu: session authorization, expiry, refresh, ejection, bans (see sfu_authz.h)
 * \details  Each public function is one step under the registry lock (phase 1:
 * decide and change state, leaf locks of sfu_bans and sfu_expiry allowed) and,
 * when someone must be told, a second phase without any lock (events,
 * end_session). Nothing here calls the core with the registry lock held.
 */
#include <string.h>

#include <debug.h>

#include "sfu_authz.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_expiry.h"
#include "sfu_log.h"

static const sfu_config *config = NULL;

static sfu_mutex stats_lock = SFU_MUTEX_INIT;
static GHashTable *rejections = NULL; /* reason -> count (reasons are a small static set) */
static guint64 n_refreshes, n_expiries, n_session_limits, n_kicks, n_bans, n_bans_dropped, n_warnings,
	n_replaced;

static void bump(guint64 *counter) {
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* =============================================================================
 * Grants and identities (registry lock held)
 * ==========================================================================*/

/* The handle-side copy of \p grant (strings borrowed). */
static sfu_handle_auth auth_of(const sfu_grant *grant) {
	sfu_handle_auth a = {
		.publish_media = grant->publish_media,
		.send_data = grant->send_data,
		.kick_users = grant->kick_users,
		.exp = grant->exp,
		.kid = grant->kid,
		.jti = grant->jti,
		.sub = grant->sub,
		.bound_user = grant->user_id,
	};
	return a;
}

static gboolean same_string(const char *a, const char *b) {
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Whether \p grant holds the identity of handle \p o: the same bound user, or both unbound with no
 * different sub. Only then is a grant shared with \p o (else anyone could rewrite anyone's grant). */
static gboolean same_identity(const sfu_handle *o, const sfu_grant *grant) {
	if(o->auth.bound_user != NULL || grant->user_id != NULL)
		return same_string(o->auth.bound_user, grant->user_id);
	return o->auth.sub == NULL || grant->sub == NULL || !strcmp(o->auth.sub, grant->sub);
}

/* A live handle of the user is bound to an identity \p grant does not bind. */
static gboolean weaker_than_binding(GPtrArray *handles, const sfu_grant *grant) {
	for(guint i = 0; i < handles->len; i++) {
		const sfu_handle *o = handles->pdata[i];
		if(o->auth.bound_user != NULL && !same_string(o->auth.bound_user, grant->user_id))
			return TRUE;
	}
	return FALSE;
}

/* Whether this user is ejected at expiry: the token's eject_at_exp claim wins over the config. */
static gboolean ejects_at_exp(const sfu_grant *grant) {
	if(grant->has_eject_at_exp)
		return grant->eject_at_exp;
	return config->on_token_expiry == SFU_EXPIRY_EJECT;
}

/* When a token of expiry \p exp stops being admissible (µs): the same leeway as admission, plus grace. */
static gint64 eject_time_us(gint64 exp) {
	return (exp + (gint64)config->clock_leeway_s + (gint64)config->expiry_grace_s) * G_USEC_PER_SEC;
}

/* (Re)schedule the warning and expiry of (room, user) for \p grant. */
static void schedule_expiry(const char *room_id, const char *user_id, const sfu_grant *grant) {
	if(grant->exp <= 0 || !ejects_at_exp(grant)) {
		sfu_expiry_set(room_id, user_id, SFU_EXPIRY_WARN, 0);
		sfu_expiry_set(room_id, user_id, SFU_EXPIRY_TOKEN, 0);
		return;
	}
	gint64 warn_at = (grant->exp - (gint64)config->expiry_warning_s) * G_USEC_PER_SEC;
	gint64 now = g_get_real_time();
	if(warn_at < now)
		warn_at = now; /* less time left than the warning period: warn at once */
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_WARN, config->expiry_warning_s ? warn_at : 0);
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_TOKEN, eject_time_us(grant->exp));
}

/* \p grant now belongs to \p h (its own grant is already attached): share it with the user's handles of the
 * same identity (a refresh: always; a join: when it outlives theirs), and move the user's deadlines when it
 * is the newest grant of the user.
 * @returns TRUE when it changed at least one other handle's grant */
static gboolean share_grant_locked(sfu_handle *h, const sfu_grant *grant, gboolean refresh) {
	if(grant->exp <= 0)
		return FALSE; /* open mode: nothing to keep track of */
	GPtrArray *mine = sfu_registry_user_handles_locked(h->room_id, h->user_id);
	sfu_handle_auth a = auth_of(grant);
	gint64 newest = 0;
	gboolean shared = FALSE;
	for(guint i = 0; i < mine->len; i++) {
		sfu_handle *o = mine->pdata[i];
		if(o == h)
			continue;
		if(same_identity(o, grant) && (refresh || o->auth.exp < grant->exp)) {
			sfu_handle_set_auth_locked(o, &a);
			shared = TRUE;
		}
		newest = MAX(newest, o->auth.exp);
	}
	g_ptr_array_unref(mine);
	if(grant->exp >= newest)
		schedule_expiry(h->room_id, h->user_id, grant);
	if(grant->max_session_s > 0 && sfu_expiry_get(h->room_id, h->user_id, SFU_EXPIRY_SESSION) == 0) {
		sfu_expiry_set(h->room_id, h->user_id, SFU_EXPIRY_SESSION,
			g_get_real_time() + grant->max_session_s * G_USEC_PER_SEC);
	}
	return shared;
}

/* Everything that may refuse an authenticated entry into (room, user), decided under the registry lock.
 * @param[in] forbidden The request family's error for a refusal that is not a ban */
static sfu_err admit_locked(const char *room_id, const char *user_id, const sfu_grant *grant,
	sfu_err forbidden, const char **reason) {
	gint64 now = now_s();
	if(sfu_bans_check(room_id, user_id, grant->sub, grant->jti, now)) {
		*reason = "banned";
		return forbidden == SFU_ERR_JOIN_FORBIDDEN ? SFU_ERR_JOIN_BANNED : forbidden;
	}
	GPtrArray *mine = sfu_registry_user_handles_locked(room_id, user_id);
	gboolean weaker = weaker_than_binding(mine, grant);
	g_ptr_array_unref(mine);
	if(weaker) {
		*reason = "user_bound";
		return forbidden;
	}
	if(config->one_user_per_jti) {
		gint64 until = grant->exp + (gint64)config->clock_leeway_s;
		switch(sfu_bans_claim_jti(grant->jti, user_id, until, now)) {
			case SFU_JTI_TAKEN:
				*reason = "token_in_use";
				return forbidden;
			case SFU_JTI_FULL:
				*reason = "server_busy";
				return SFU_ERR_SERVER_BUSY;
			case SFU_JTI_OK:
			default:
				break;
		}
	}
	return SFU_OK;
}

/* =============================================================================
 * The second phase: telling people, with no lock held
 * ==========================================================================*/

/* Membership events (join, leave) reach every handle in the order of the steps that decided them: a step
 * with something to announce takes a turn while it holds the registry lock, and after unlocking pushes its
 * events only when every earlier turn is done. Without this, a join and a later leave of one user (or a
 * leave and a rejoin), decided in that order on two threads, could be pushed in the other order, and a
 * publisher would believe a departed user present, or miss one who came back.
 * A turn covers pushes only: never end_session (destroy_session, which can take a turn of its own, may come
 * back on the calling thread: Janus 1.1.2 queues it, the unit tests' fake core does not), and nobody waits for
 * a turn with the registry lock held. */
typedef struct sfu_turn {
	gboolean taken;
	guint64 number;
} sfu_turn;

static guint64 next_turn = 0; /* registry lock */
static sfu_mutex turn_lock = SFU_MUTEX_INIT;
static sfu_cond turn_done = SFU_COND_INIT;
static guint64 serving = 0; /* turn_lock */

/* Registry lock held: take the next turn when \p needed. */
static sfu_turn take_turn_locked(gboolean needed) {
	sfu_turn t = {.taken = needed, .number = needed ? next_turn++ : 0};
	return t;
}

static void wait_turn(const sfu_turn *t) {
	g_assert(!sfu_registry_lock_held());
	if(!t->taken)
		return;
	sfu_mutex_lock(&turn_lock);
	while(serving != t->number)
		sfu_cond_wait(&turn_done, &turn_lock);
	sfu_mutex_unlock(&turn_lock);
}

static void end_turn(const sfu_turn *t) {
	if(!t->taken)
		return;
	sfu_mutex_lock(&turn_lock);
	serving++;
	sfu_cond_broadcast(&turn_done);
	sfu_mutex_unlock(&turn_lock);
}

static gboolean announces(const sfu_departure *d) {
	return d->joined && d->user_left;
}

/* Send \c leave for a user who has no handle left in a room (in the caller's turn). */
static void push_departure(sfu_departure *d) {
	if(announces(d)) {
		json_t *ev = sfu_event_leave(d->user_id, d->room_id);
		sfu_events_push_all(d->notify, ev, NULL);
		d->notify = NULL;
		json_decref(ev);
	}
}

/* Audit a departure and free it. */
static void departure_done(sfu_departure *d) {
	if(announces(d))
		sfu_events_audit(NULL, "left", d->room_id, d->user_id, NULL);
	sfu_departure_clear(d);
}

/* Tell evicted handles why (on their publisher handles) and the room that the user left, in turn \p t; then
 * end the handles. Takes \p victims and \p d. */
static void finish_eviction(GPtrArray *victims, sfu_departure *d, json_t *why, const sfu_turn *t) {
	wait_turn(t);
	for(guint i = 0; why != NULL && i < victims->len; i++) {
		sfu_handle *v = victims->pdata[i];
		if(v->role == SFU_ROLE_PUBLISHER)
			sfu_core_push_event(v->jh, NULL, why, NULL);
	}
	push_departure(d);
	end_turn(t);
	for(guint i = 0; i < victims->len; i++)
		sfu_core_end_session(((sfu_handle *)victims->pdata[i])->jh);
	g_ptr_array_unref(victims);
	departure_done(d);
}

/* =============================================================================
 * Joins, subscriptions, refresh
 * ==========================================================================*/

/* The join step proper (registry lock held). On success fills \p out and possibly \p stale. */
static sfu_err join_locked(sfu_handle *h, const sfu_join_request *r, const sfu_grant *grant,
	sfu_err forbidden, sfu_join_result *out, GPtrArray **stale, sfu_departure *stale_left,
	const char **reason) {
	sfu_err err = admit_locked(r->room_id, r->user_id, grant, forbidden, reason);
	if(err != SFU_OK)
		return err;
	/* A token-bound publisher that comes back replaces its older handles (replace_stale_sessions). Only a
	 * bound user: otherwise anyone could evict anyone by joining with their id. */
	if(r->role == SFU_ROLE_PUBLISHER && config->replace_stale_sessions && grant->user_id != NULL &&
		h->role == SFU_ROLE_NONE) {
		*stale = sfu_registry_evict_locked(r->room_id, r->user_id, h, stale_left);
		if(stale_left->user_left)
			sfu_expiry_cancel_user(r->room_id, r->user_id);
	}
	sfu_handle_auth a = auth_of(grant);
	sfu_join j = {
		.room_id = r->room_id,
		.user_id = r->user_id,
		.role = r->role,
		.notifications = r->notifications,
		.data = r->data,
		.subscribe = r->subscribe,
		.media = r->media,
		.limits = {config->max_room_size, config->max_ccu},
		.auth = &a,
	};
	err = sfu_registry_join_locked(h, &j, out);
	if(err == SFU_OK && share_grant_locked(h, grant, FALSE))
		bump(&n_refreshes);
	return err;
}

/* The second phase of a join, in turn \p t: the room told that replaced stale handles left and that the
 * user joined; then the stale handles ended. */
static void announce_join(sfu_handle *h, const sfu_join_request *r, GPtrArray *notify, GPtrArray *stale,
	sfu_departure *stale_left, const sfu_turn *t) {
	wait_turn(t);
	push_departure(stale_left);
	if(notify != NULL) {
		json_t *ev = sfu_event_join(r->user_id, r->room_id);
		sfu_events_push_all(notify, ev, NULL);
		json_decref(ev);
	}
	end_turn(t);
	if(stale != NULL) {
		if(stale->len > 0) {
			__atomic_fetch_add(&n_replaced, stale->len, __ATOMIC_RELAXED);
			char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN];
			JANUS_LOG(LOG_INFO, "[sfu] replaced %u stale handle(s) of user '%s' in room '%s'\n", stale->len,
				sfu_log_id(r->user_id, user), sfu_log_id(r->room_id, room));
		}
		for(guint i = 0; i < stale->len; i++)
			sfu_core_end_session(((sfu_handle *)stale->pdata[i])->jh);
		g_ptr_array_unref(stale);
	}
	departure_done(stale_left);
	if(notify != NULL) {
		sfu_events_audit(h->jh, "joined", r->room_id, r->user_id,
			json_pack("{ss}", "role", r->role == SFU_ROLE_PUBLISHER ? "publisher" : "subscriber"));
	}
}

/* Join under the registry lock, then announce. \p request names it in reports; \p forbidden is the request
 * family's refusal error. */
static sfu_err join_step(sfu_handle *h, const sfu_join_request *r, const sfu_grant *grant,
	const char *request, sfu_err forbidden, json_t **users, char **offer, const char **reason) {
	sfu_join_result res;
	memset(&res, 0, sizeof(res));
	GPtrArray *stale = NULL;
	sfu_departure stale_left;
	memset(&stale_left, 0, sizeof(stale_left));
	sfu_registry_lock();
	sfu_err err = join_locked(h, r, grant, forbidden, &res, &stale, &stale_left, reason);
	sfu_turn turn = take_turn_locked(res.notify != NULL || announces(&stale_left));
	sfu_registry_unlock();
	if(err != SFU_OK && *reason != NULL)
		sfu_authz_rejected(r->room_id, r->user_id, request, *reason);
	announce_join(h, r, res.notify, stale, &stale_left, &turn);
	res.notify = NULL;
	if(users != NULL) {
		*users = res.users;
		res.users = NULL;
	}
	if(offer != NULL) {
		*offer = res.offer;
		res.offer = NULL;
	}
	sfu_join_result_clear(&res);
	return err;
}

sfu_err sfu_authz_join(sfu_handle *h, const sfu_join_request *join, const sfu_grant *grant, json_t **users,
	char **offer, const char **reason) {
	*users = NULL;
	*offer = NULL;
	return join_step(h, join, grant, "join", SFU_ERR_JOIN_FORBIDDEN, users, offer, reason);
}

static gboolean grant_allows(const char *room_id, gpointer grant) {
	return sfu_grant_allows_room(grant, room_id);
}

sfu_err sfu_authz_subscribe(sfu_handle *h, gboolean notifications, gboolean data, const char *media,
	const sfu_grant *grant, char **offer, const char **reason) {
	*offer = NULL;
	sfu_err err;
	sfu_registry_lock();
	if(h->role == SFU_ROLE_NONE && media != NULL) {
		/* Looked up only where the token may go: elsewhere is "no such publisher", as for anyone. */
		char *room = sfu_registry_publisher_room_locked(media, grant_allows, (gpointer)grant);
		sfu_registry_unlock();
		if(room == NULL)
			return SFU_ERR_NO_PUBLISHER;
		char *who = grant->user_id ? g_strdup(grant->user_id)
					: grant->sub   ? g_strdup(grant->sub)
								   : g_strdup_printf("subscriber-%" G_GUINT64_FORMAT, h->id);
		sfu_join_request r = {.room_id = room,
			.user_id = who,
			.role = SFU_ROLE_SUBSCRIBER,
			.subscribe = TRUE,
			.notifications = notifications,
			.data = data,
			.media = media};
		err = join_step(h, &r, grant, "subscribe", SFU_ERR_SUB_FORBIDDEN, NULL, offer, reason);
		g_free(room);
		g_free(who);
		return err == SFU_ERR_HANDLE_SUBSCRIBED ? SFU_ERR_USER_SUBSCRIBED : err;
	}
	/* A joined handle subscribes within its room, under a token that must hold its user's identity. */
	GPtrArray *mine =
		h->role != SFU_ROLE_NONE ? sfu_registry_user_handles_locked(h->room_id, h->user_id) : NULL;
	if(mine != NULL && (weaker_than_binding(mine, grant) || !sfu_grant_allows_room(grant, h->room_id))) {
		*reason = weaker_than_binding(mine, grant) ? "user_bound" : "room_not_allowed";
		err = SFU_ERR_SUB_FORBIDDEN;
	} else {
		err = sfu_registry_subscribe_locked(h, notifications, data, media, offer);
	}
	if(mine != NULL)
		g_ptr_array_unref(mine);
	sfu_registry_unlock();
	if(err == SFU_ERR_SUB_FORBIDDEN)
		sfu_authz_rejected(h->room_id, h->user_id, "subscribe", *reason);
	if(err == SFU_ERR_NO_PUBLISHER && h->role != SFU_ROLE_NONE)
		return SFU_ERR_SUB_NOT_IN_ROOM; /* a joined handle only receives publishers of its room */
	return err == SFU_ERR_HANDLE_SUBSCRIBED ? SFU_ERR_USER_SUBSCRIBED : err;
}

static gboolean binds_differently(const char *current, const char *offered) {
	return current != NULL && (offered == NULL || strcmp(current, offered) != 0);
}

sfu_err sfu_authz_refresh(sfu_handle *h, const sfu_grant *grant, const char **reason) {
	sfu_err err = SFU_OK;
	sfu_registry_lock();
	if(h->role == SFU_ROLE_NONE || h->detached) {
		err = SFU_ERR_REFRESH_NOT_JOINED;
	} else if(binds_differently(h->auth.bound_user, grant->user_id)) {
		*reason = "user_bound";
		err = SFU_ERR_REFRESH_FORBIDDEN;
	} else if(binds_differently(h->auth.sub, grant->sub)) {
		*reason = "user_mismatch";
		err = SFU_ERR_REFRESH_FORBIDDEN;
	} else {
		/* Known from here: the token holds h's identity. It replaces h's grant, and the identity's. */
		sfu_handle_auth a = auth_of(grant);
		sfu_handle_set_auth_locked(h, &a);
		share_grant_locked(h, grant, TRUE);
	}
	sfu_registry_unlock();
	if(err == SFU_ERR_REFRESH_FORBIDDEN) {
		sfu_authz_rejected(h->room_id, h->user_id, "refresh", *reason);
		return err;
	}
	if(err == SFU_OK) {
		bump(&n_refreshes);
		sfu_events_audit(h->jh, "refreshed", h->room_id, h->user_id,
			json_pack("{sI}", "expires_at", (json_int_t)grant->exp));
	}
	return err;
}

/* =============================================================================
 * Leaving and ejection
 * ==========================================================================*/

gboolean sfu_authz_detach(janus_plugin_session *jh) {
	sfu_departure d;
	sfu_registry_lock();
	gboolean known = sfu_registry_remove_locked(jh, &d);
	if(announces(&d))
		sfu_expiry_cancel_user(d.room_id, d.user_id);
	sfu_turn turn = take_turn_locked(announces(&d));
	sfu_registry_unlock();
	wait_turn(&turn);
	push_departure(&d);
	end_turn(&turn);
	departure_done(&d);
	return known;
}

/* Ban the identities of the evicted \p victims from \p room_id (registry lock held): the user_id always, the
 * token's sub and jti only when the operator declared that sub names one person. */
static void ban_locked(const char *room_id, const char *user_id, GPtrArray *victims, const char *by) {
	gint64 now = now_s(), until = now + config->kick_ban_s;
	gboolean kept = sfu_bans_add(room_id, SFU_BAN_USER, user_id, user_id, until, by, now);
	for(guint i = 0; config->sub_identifies_user && i < victims->len; i++) {
		const sfu_handle *v = victims->pdata[i];
		kept &= sfu_bans_add(room_id, SFU_BAN_SUB, v->auth.sub, user_id, until, by, now);
		kept &= sfu_bans_add(room_id, SFU_BAN_JTI, v->auth.jti, user_id, until, by, now);
	}
	bump(&n_bans);
	if(!kept)
		bump(&n_bans_dropped);
}

guint sfu_authz_eject(
	const char *room_id, const char *user_id, const char *reason, const char *by, gboolean ban) {
	/* Phase 1: evict and ban in one step, so no join can slip in between. */
	sfu_departure d;
	gboolean banned = FALSE;
	sfu_registry_lock();
	GPtrArray *victims = sfu_registry_evict_locked(room_id, user_id, NULL, &d);
	if(victims->len > 0) {
		if(ban && config->kick_ban_s > 0) {
			ban_locked(room_id, user_id, victims, by);
			banned = TRUE;
		}
		sfu_expiry_cancel_user(room_id, user_id);
	}
	sfu_turn turn = take_turn_locked(announces(&d));
	sfu_registry_unlock();
	guint n = victims->len;
	if(banned) {
		sfu_events_audit(NULL, "banned", room_id, user_id,
			json_pack("{sIss*}", "until", (json_int_t)(now_s() + config->kick_ban_s), "by", by));
	}
	/* Phase 2 (no lock): say why, end the handles, tell the room. */
	json_t *why = sfu_event_ejected(room_id, reason, by);
	finish_eviction(victims, &d, why, &turn);
	json_decref(why);
	if(n > 0) {
		char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN], who[SFU_LOG_ID_LEN];
		JANUS_LOG(LOG_INFO, "[sfu] ejected user '%s' from room '%s': %s by %s (%u handles)\n",
			sfu_log_id(user_id, user), sfu_log_id(room_id, room), reason, sfu_log_id(by, who), n);
		sfu_events_audit(NULL, "ejected", room_id, user_id,
			json_pack("{ssss*si}", "reason", reason, "by", by, "handles", (int)n));
	}
	return n;
}

/* Scheduler thread: a deadline passed. No lock is held. */
static void on_deadline(
	const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us, gint64 lateness_us) {
	(void)deadline_us;
	gint64 exp = 0;
	sfu_handle *pub = NULL;
	sfu_registry_lock();
	GPtrArray *mine = sfu_registry_user_handles_locked(room_id, user_id);
	for(guint i = 0; i < mine->len; i++) {
		sfu_handle *h = mine->pdata[i];
		exp = MAX(exp, h->auth.exp);
		if(pub == NULL && h->role == SFU_ROLE_PUBLISHER) {
			sfu_handle_ref(h);
			pub = h;
		}
	}
	g_ptr_array_unref(mine);
	/* A refresh may have raced with this deadline: the handles' current expiry decides, in this same step. */
	gboolean expired = kind == SFU_EXPIRY_SESSION ||
					   (kind == SFU_EXPIRY_TOKEN && exp > 0 && eject_time_us(exp) <= g_get_real_time());
	sfu_departure d;
	memset(&d, 0, sizeof(d));
	GPtrArray *victims = expired ? sfu_registry_evict_locked(room_id, user_id, NULL, &d) : NULL;
	if(victims != NULL && victims->len > 0)
		sfu_expiry_cancel_user(room_id, user_id);
	sfu_turn turn = take_turn_locked(announces(&d));
	sfu_registry_unlock();
	if(kind == SFU_EXPIRY_WARN && pub != NULL) {
		json_t *ev = sfu_event_token_expiring(room_id, exp);
		sfu_core_push_event(pub->jh, NULL, ev, NULL);
		json_decref(ev);
		bump(&n_warnings);
		sfu_events_audit(
			NULL, "expiring", room_id, user_id, json_pack("{sI}", "expires_at", (json_int_t)exp));
	}
	sfu_handle_unref(pub);
	if(victims == NULL)
		return;
	const char *reason = kind == SFU_EXPIRY_SESSION ? "session_limit" : "token_expired";
	bump(kind == SFU_EXPIRY_SESSION ? &n_session_limits : &n_expiries);
	char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN];
	JANUS_LOG(LOG_VERB, "[sfu] %s: user '%s' in room '%s' (%" G_GINT64_FORMAT " us late, %u handles)\n",
		reason, sfu_log_id(user_id, user), sfu_log_id(room_id, room), lateness_us, victims->len);
	guint n = victims->len;
	json_t *why = sfu_event_ejected(room_id, reason, NULL);
	finish_eviction(victims, &d, why, &turn);
	json_decref(why);
	if(n > 0)
		sfu_events_audit(
			NULL, "ejected", room_id, user_id, json_pack("{sssi}", "reason", reason, "handles", (int)n));
}

/* =============================================================================
 * Lifecycle and stats
 * ==========================================================================*/

int sfu_authz_start(const sfu_config *cfg) {
	config = cfg;
	sfu_mutex_lock(&stats_lock);
	if(rejections == NULL)
		rejections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	sfu_mutex_unlock(&stats_lock);
	sfu_bans_init(cfg->max_bans, cfg->max_jti_claims);
	return sfu_expiry_start(on_deadline);
}

void sfu_authz_stop(void) {
	sfu_expiry_stop();
	sfu_bans_shutdown();
	sfu_mutex_lock(&stats_lock);
	g_clear_pointer(&rejections, g_hash_table_destroy);
	sfu_mutex_unlock(&stats_lock);
}

void sfu_authz_rejected(const char *room_id, const char *user_id, const char *request, const char *reason) {
	if(reason == NULL)
		return;
	sfu_mutex_lock(&stats_lock);
	if(rejections != NULL) {
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(rejections, reason));
		g_hash_table_insert(rejections, g_strdup(reason), GUINT_TO_POINTER(n + 1));
	}
	sfu_mutex_unlock(&stats_lock);
	sfu_events_audit(
		NULL, "rejected", room_id, user_id, json_pack("{ssss}", "request", request, "reason", reason));
}

void sfu_authz_count_kick(void) {
	bump(&n_kicks);
}

static json_int_t load(guint64 *counter) {
	return (json_int_t)__atomic_load_n(counter, __ATOMIC_RELAXED);
}

json_t *sfu_authz_stats(void) {
	json_t *by_reason = json_object();
	sfu_mutex_lock(&stats_lock);
	if(rejections != NULL) {
		GHashTableIter iter;
		gpointer k, v;
		g_hash_table_iter_init(&iter, rejections);
		while(g_hash_table_iter_next(&iter, &k, &v))
			json_object_set_new(by_reason, k, json_integer(GPOINTER_TO_UINT(v)));
	}
	sfu_mutex_unlock(&stats_lock);
	json_t *out = json_pack("{sosIsIsIsIsIsIsIsI}", "rejections_by_reason", by_reason, "refreshes",
		load(&n_refreshes), "expiries", load(&n_expiries), "session_limits", load(&n_session_limits),
		"expiry_warnings", load(&n_warnings), "kicks", load(&n_kicks), "bans", load(&n_bans), "bans_dropped",
		load(&n_bans_dropped), "replaced_handles", load(&n_replaced));
	json_object_set_new(out, "scheduled_deadlines", json_integer(sfu_expiry_count()));
	json_object_set_new(out, "live_bans", json_integer(sfu_bans_count()));
	json_object_set_new(out, "jti_claims", json_integer(sfu_bans_jti_count()));
	return out;
}
