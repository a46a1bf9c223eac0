/*! \file    sfu_access.c
 * \brief    janus-sfu: session authorization, expiry, refresh, ejection, bans (see sfu_access.h)
 * \details  Each public function is one step under the registry lock (phase 1:
 * decide and change state, leaf locks of sfu_bans and sfu_expiry allowed) and,
 * when someone must be told, a second phase without any lock (events,
 * end_session). Nothing here calls the core with the registry lock held.
 */
#include <string.h>

#include <debug.h>

#include "sfu_access.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_expiry.h"
#include "sfu_log.h"
#include "sfu_stats.h"

static const sfu_config *config = NULL;
static const sfu_access_listener *listener = NULL; /* set once at start, before any request */
static volatile gint state_available = 1;          /* the shared state is current (sfu_state) */

static sfu_mutex stats_lock = SFU_MUTEX_INIT;
static GHashTable *rejections = NULL; /* reason -> count (reasons are a small static set) */

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* =============================================================================
 * Grants and identities (registry lock held)
 * ==========================================================================*/

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

/* The handle-side copy of \p grant (strings borrowed), for a handle that joined at \p since_us (its session
 * limit counts from there). Deadlines belong to each handle: a grant never moves another identity's. */
static sfu_handle_auth auth_of(const sfu_grant *grant, gint64 since_us) {
	sfu_handle_auth a = {
		.publish_media = grant->publish_media,
		.send_data = grant->send_data,
		.kick_users = grant->kick_users,
		.exp = grant->exp,
		.eject_at = grant->exp > 0 && ejects_at_exp(grant) ? eject_time_us(grant->exp) : 0,
		.session_end = grant->max_session_s > 0 ? since_us + grant->max_session_s * G_USEC_PER_SEC : 0,
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

/* Whether handle \p o holds the identity (\p bound user, \p sub): the same bound user, or both unbound with
 * the same sub (or both without one). */
static gboolean same_identity(const sfu_handle *o, const char *bound, const char *sub) {
	if(o->auth.bound_user != NULL || bound != NULL)
		return same_string(o->auth.bound_user, bound);
	return g_strcmp0(o->auth.sub, sub) == 0;
}

/* Whether deadline \p next (µs, 0: never) comes no earlier than \p current (0: never). */
static gboolean no_earlier(gint64 next, gint64 current) {
	return next == 0 || (current != 0 && next >= current);
}

/* Whether \p a, the share of a grant with handle \p o, takes nothing away from it: no earlier expiry,
 * ejection or session end, no permission less. A grant is shared with another handle only so: under tokens
 * that bind no user_id anyone may join under anyone's id, and must not be able to mute, restrict or expire
 * someone else that way (attacker reviews). */
static gboolean not_weaker(const sfu_handle *o, const sfu_handle_auth *a) {
	return a->exp >= o->auth.exp && no_earlier(a->eject_at, o->auth.eject_at) &&
		   no_earlier(a->session_end, o->auth.session_end) &&
		   (a->publish_media || !g_atomic_int_get(&o->auth.publish_media)) &&
		   (a->send_data || !g_atomic_int_get(&o->auth.send_data)) && (a->kick_users || !o->auth.kick_users);
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

/* Set the scheduler's deadlines of (room, user) from its handles' own: the earliest ejection, session end and
 * pending expiry warning. The scheduler keeps one timer of each kind per (room, user); when one fires, every
 * handle is checked against its own deadlines (on_deadline). */
static void reschedule_locked(const char *room_id, const char *user_id) {
	GPtrArray *mine = sfu_registry_user_handles_locked(room_id, user_id);
	gint64 token = 0, session = 0, warn = 0, now = g_get_real_time();
	for(guint i = 0; i < mine->len; i++) {
		const sfu_handle *o = mine->pdata[i];
		if(o->auth.eject_at > 0 && (token == 0 || o->auth.eject_at < token))
			token = o->auth.eject_at;
		if(o->auth.session_end > 0 && (session == 0 || o->auth.session_end < session))
			session = o->auth.session_end;
		if(o->role == SFU_ROLE_PUBLISHER && o->auth.eject_at > 0 && config->expiry_warning_s > 0 &&
			o->auth.warned_exp != o->auth.exp) {
			gint64 w = MAX(now, (o->auth.exp - (gint64)config->expiry_warning_s) * G_USEC_PER_SEC);
			if(warn == 0 || w < warn)
				warn = w;
		}
	}
	g_ptr_array_unref(mine);
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_TOKEN, token);
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_SESSION, session);
	sfu_expiry_set(room_id, user_id, SFU_EXPIRY_WARN, warn);
}

/* \p grant now belongs to \p h (already attached): share it with the user's other handles that hold the identity
 * (\p bound, \p sub) when it takes nothing from them (a join: only when it also outlives theirs, as naf's
 * subscriber joins carry its latest token), then reschedule the user's deadlines.
 * @returns TRUE when it changed at least one other handle's grant */
static gboolean share_grant_locked(
	sfu_handle *h, const sfu_grant *grant, const char *bound, const char *sub, gboolean refresh) {
	gboolean shared = FALSE;
	if(grant->exp > 0) {
		GPtrArray *mine = sfu_registry_user_handles_locked(h->room_id, h->user_id);
		for(guint i = 0; i < mine->len; i++) {
			sfu_handle *o = mine->pdata[i];
			if(o == h || !same_identity(o, bound, sub))
				continue;
			sfu_handle_auth a = auth_of(grant, o->joined_at);
			if(!not_weaker(o, &a) || (!refresh && grant->exp <= o->auth.exp))
				continue;
			/* Unbound, the identity is only a shared sub (Reticulum gives every anonymous visitor of a hub
			 * the same one): what identifies a token stays the handle's own, so that revoking one token
			 * finds the handles that presented it, not another visitor's. */
			if(bound == NULL) {
				a.kid = o->auth.kid;
				a.jti = o->auth.jti;
				a.sub = o->auth.sub;
			}
			sfu_handle_set_auth_locked(o, &a);
			shared = TRUE;
		}
		g_ptr_array_unref(mine);
	}
	reschedule_locked(h->room_id, h->user_id);
	return shared;
}

/* one_user_per_jti: \p user_id takes \p grant's token id, unless another user holds it (every door that
 * attaches a grant to a handle: join, subscribe entry and refresh). */
static sfu_err claim_jti_locked(const char *user_id, const sfu_grant *grant, sfu_err forbidden, gint64 now,
	gboolean record, const char **reason) {
	if(!config->one_user_per_jti)
		return SFU_OK;
	gint64 until = grant->exp + (gint64)config->clock_leeway_s;
	sfu_jti_claim claim = record ? sfu_bans_claim_jti(grant->jti, user_id, until, now)
								 : sfu_bans_jti_peek(grant->jti, user_id, until, now);
	switch(claim) {
		case SFU_JTI_TAKEN:
			*reason = "token_in_use";
			return forbidden;
		case SFU_JTI_FULL:
			*reason = "server_busy";
			return SFU_ERR_SERVER_BUSY;
		case SFU_JTI_OK:
		default:
			return SFU_OK;
	}
}

/* Everything that may refuse an authenticated entry into (room, user), decided under the registry lock.
 * @param[in] forbidden The request family's error for a refusal that is not a ban */
static sfu_err admit_locked(const char *room_id, const char *user_id, const sfu_grant *grant,
	sfu_err forbidden, const char **reason) {
	gint64 now = now_s();
	if(!g_atomic_int_get(&state_available)) {
		*reason = "state_unavailable";
		return SFU_ERR_STATE_UNAVAILABLE;
	}
	if(sfu_bans_revoked(grant->jti, grant->sub, grant->user_id, grant->kid, now)) {
		*reason = "revoked";
		return forbidden == SFU_ERR_JOIN_FORBIDDEN ? SFU_ERR_JOIN_REVOKED : SFU_ERR_SUB_REVOKED;
	}
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
	/* Only looked at here: the claim is recorded once the join succeeded (a refused join changes nothing). */
	return claim_jti_locked(user_id, grant, forbidden, now, FALSE, reason);
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

/* Tell the room, in turn \p t, that a user left; then audit and free \p d. */
static void announce_departure(sfu_departure *d, const sfu_turn *t) {
	wait_turn(t);
	push_departure(d);
	end_turn(t);
	departure_done(d);
}

static const sfu_turn no_turn = {FALSE, 0};

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

/* A publisher handle replaced by a join of its user: the room hears that the user left before it hears the
 * join, so every room mate's adapter drops its subscription to the old handle and subscribes to the new one
 * (naf-janus-adapter ignores a join of an occupant it already has). \p notify: the join's audience. */
static void depart_replaced(
	sfu_departure *d, GPtrArray *stale, const sfu_join_request *r, GPtrArray *notify) {
	gboolean had_publisher = FALSE;
	for(guint i = 0; i < stale->len; i++)
		had_publisher |= ((sfu_handle *)stale->pdata[i])->role == SFU_ROLE_PUBLISHER;
	if(!had_publisher || notify == NULL)
		return;
	sfu_departure_clear(d);
	d->joined = d->user_left = TRUE;
	d->room_id = g_strdup(r->room_id);
	d->user_id = g_strdup(r->user_id);
	d->notify = g_ptr_array_new_full(notify->len, (GDestroyNotify)sfu_handle_unref);
	for(guint i = 0; i < notify->len; i++) {
		sfu_handle_ref(notify->pdata[i]);
		g_ptr_array_add(d->notify, notify->pdata[i]);
	}
}

/* The join step proper (registry lock held). On success fills \p out and possibly \p stale. On a refusal
 * nothing has changed: no stale handle ended, no token id claimed (attacker review). */
static sfu_err join_locked(sfu_handle *h, const sfu_join_request *r, const sfu_grant *grant,
	sfu_err forbidden, sfu_join_result *out, GPtrArray **stale, sfu_departure *stale_left,
	const char **reason) {
	sfu_err err = admit_locked(r->room_id, r->user_id, grant, forbidden, reason);
	if(err != SFU_OK)
		return err;
	/* A token-bound publisher that comes back replaces its older handles (replace_stale_sessions). Only a
	 * bound user: otherwise anyone could evict anyone by joining with their id. They are ended only once the
	 * join succeeded; meanwhile the user's own id is left out of the users list (no zombie detection loop). */
	gboolean replacing = r->role == SFU_ROLE_PUBLISHER && config->replace_stale_sessions &&
						 grant->user_id != NULL && h->role == SFU_ROLE_NONE;
	gint64 now_us = g_get_real_time();
	sfu_handle_auth a = auth_of(grant, now_us);
	/* An owner's mute of this user in this room holds across reconnects: set before the handle is visible. */
	g_atomic_int_set(&h->muted, (gint)sfu_bans_mute_of(r->room_id, r->user_id, now_s()));
	sfu_join j = {
		.room_id = r->room_id,
		.user_id = r->user_id,
		.role = r->role,
		.notifications = r->notifications,
		.data = r->data,
		.subscribe = r->subscribe,
		.media = r->media,
		.limits = {config->max_room_size, config->max_ccu, config->max_publishers_per_user},
		.auth = &a,
		.replacing = replacing,
	};
	err = sfu_registry_join_locked(h, &j, out);
	if(err != SFU_OK) {
		g_atomic_int_set(&h->muted, 0);
		return err;
	}
	/* Known from here: the handle is in the room. */
	claim_jti_locked(r->user_id, grant, forbidden, now_s(), TRUE, reason); /* looked at in admit_locked */
	if(replacing) {
		*stale = sfu_registry_evict_locked(r->room_id, r->user_id, h, stale_left);
		depart_replaced(stale_left, *stale, r, out->notify);
	}
	if(share_grant_locked(h, grant, grant->user_id, grant->sub, FALSE))
		sfu_stats_inc(SFU_STAT_REFRESHES);
	return SFU_OK;
}

/* one_user_per_jti: tell the other nodes (the state backend) that \p user_id now holds the grant's jti. */
static void tell_jti_claim(const sfu_grant *grant, const char *user_id) {
	if(config->one_user_per_jti && grant->jti != NULL && listener && listener->jti)
		listener->jti(grant->jti, user_id, grant->exp + (gint64)config->clock_leeway_s);
}

/* What a join leaves for after its reply: its turn (so that the joiner hears about later arrivals and
 * departures only after the reply listing the room's users), the replaced stale handles to end, the audit. */
struct sfu_access_pending {
	sfu_handle *h; /* reference */
	char *room_id, *user_id;
	sfu_role role;
	gboolean audit; /* announced: audit "joined" */
	GPtrArray *stale;
	sfu_departure stale_left;
	sfu_turn turn;
};

/* The second phase of a join, in turn \p p->turn: the room told that replaced stale handles left and that the
 * user joined. The turn stays taken until sfu_access_join_finish. */
static void announce_join(sfu_access_pending *p, GPtrArray *notify) {
	wait_turn(&p->turn);
	push_departure(&p->stale_left);
	if(notify != NULL) {
		json_t *ev = sfu_event_join(p->user_id, p->room_id);
		sfu_events_push_all(notify, ev, NULL);
		json_decref(ev);
	}
}

void sfu_access_join_finish(sfu_access_pending *p) {
	if(p == NULL)
		return;
	end_turn(&p->turn);
	if(p->stale != NULL) {
		if(p->stale->len > 0) {
			sfu_stats_add(SFU_STAT_REPLACED_HANDLES, p->stale->len);
			char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN];
			JANUS_LOG(LOG_INFO, "[sfu] replaced %u stale handle(s) of user '%s' in room '%s'\n",
				p->stale->len, sfu_log_id(p->user_id, user), sfu_log_id(p->room_id, room));
		}
		for(guint i = 0; i < p->stale->len; i++)
			sfu_core_end_session(((sfu_handle *)p->stale->pdata[i])->jh);
		g_ptr_array_unref(p->stale);
	}
	departure_done(&p->stale_left);
	if(p->audit) {
		sfu_events_audit(p->h->jh, "joined", p->room_id, p->user_id,
			json_pack("{ss}", "role", p->role == SFU_ROLE_PUBLISHER ? "publisher" : "subscriber"));
	}
	sfu_handle_unref(p->h);
	g_free(p->room_id);
	g_free(p->user_id);
	g_free(p);
}

/* Join under the registry lock, then announce. \p request names it in reports; \p forbidden is the request
 * family's refusal error. */
static sfu_err join_step(sfu_handle *h, const sfu_join_request *r, const sfu_grant *grant,
	const char *request, sfu_err forbidden, json_t **users, char **offer, const char **reason,
	sfu_access_pending **pending) {
	sfu_join_result res;
	memset(&res, 0, sizeof(res));
	sfu_access_pending *p = g_new0(sfu_access_pending, 1);
	sfu_registry_lock();
	sfu_err err = join_locked(h, r, grant, forbidden, &res, &p->stale, &p->stale_left, reason);
	p->turn = take_turn_locked(res.notify != NULL || announces(&p->stale_left));
	sfu_registry_unlock();
	if(err != SFU_OK && *reason != NULL)
		sfu_access_rejected(h, r->room_id, r->user_id, request, *reason);
	if(err == SFU_OK)
		tell_jti_claim(grant, r->user_id);
	sfu_handle_ref(h);
	p->h = h;
	p->room_id = g_strdup(r->room_id);
	p->user_id = g_strdup(r->user_id);
	p->role = r->role;
	p->audit = res.notify != NULL;
	announce_join(p, res.notify);
	res.notify = NULL;
	if(pending != NULL)
		*pending = p;
	else
		sfu_access_join_finish(p);
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

sfu_err sfu_access_join(sfu_handle *h, const sfu_join_request *join, const sfu_grant *grant, json_t **users,
	char **offer, const char **reason, sfu_access_pending **pending) {
	*users = NULL;
	*offer = NULL;
	return join_step(h, join, grant, "join", SFU_ERR_JOIN_FORBIDDEN, users, offer, reason, pending);
}

static gboolean grant_allows(const char *room_id, gpointer grant) {
	return sfu_grant_allows_room(grant, room_id);
}

sfu_err sfu_access_subscribe(sfu_handle *h, gboolean notifications, gboolean data, const char *media,
	const sfu_grant *grant, char **offer, const char **reason) {
	*offer = NULL;
	sfu_err err;
	sfu_registry_lock();
	/* A revoked token learns nothing, not even whether the publisher exists. */
	if(sfu_bans_revoked(grant->jti, grant->sub, grant->user_id, grant->kid, now_s())) {
		sfu_registry_unlock();
		*reason = "revoked";
		sfu_access_rejected(h, h->room_id, h->user_id, "subscribe", *reason);
		return SFU_ERR_SUB_REVOKED;
	}
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
		err = join_step(h, &r, grant, "subscribe", SFU_ERR_SUB_FORBIDDEN, NULL, offer, reason, NULL);
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
	} else if(sfu_bans_revoked(grant->jti, grant->sub, grant->user_id, grant->kid, now_s())) {
		*reason = "revoked";
		err = SFU_ERR_SUB_REVOKED;
	} else {
		err = sfu_registry_subscribe_locked(h, notifications, data, media, offer);
	}
	if(mine != NULL)
		g_ptr_array_unref(mine);
	sfu_registry_unlock();
	if(err == SFU_ERR_SUB_FORBIDDEN || err == SFU_ERR_SUB_REVOKED)
		sfu_access_rejected(h, h->room_id, h->user_id, "subscribe", *reason);
	if(err == SFU_ERR_NO_PUBLISHER && h->role != SFU_ROLE_NONE)
		return SFU_ERR_SUB_NOT_IN_ROOM; /* a joined handle only receives publishers of its room */
	return err == SFU_ERR_HANDLE_SUBSCRIBED ? SFU_ERR_USER_SUBSCRIBED : err;
}

static gboolean binds_differently(const char *current, const char *offered) {
	return current != NULL && (offered == NULL || strcmp(current, offered) != 0);
}

sfu_err sfu_access_refresh(sfu_handle *h, const sfu_grant *grant, const char **reason) {
	sfu_err err = SFU_OK;
	sfu_registry_lock();
	if(h->role == SFU_ROLE_NONE || h->detached) {
		err = SFU_ERR_REFRESH_NOT_JOINED;
	} else if(binds_differently(h->auth.bound_user, grant->user_id)) {
		*reason = "user_bound";
		err = SFU_ERR_REFRESH_FORBIDDEN;
	} else if(config->sub_identifies_user && binds_differently(h->auth.sub, grant->sub)) {
		/* Where sub names one person, a refresh cannot hand the handle to another one. Elsewhere (Reticulum: a
		 * visitor who signs in during the call gets a token of another sub) the session's own refresh wins. */
		*reason = "user_mismatch";
		err = SFU_ERR_REFRESH_FORBIDDEN;
	} else if(sfu_bans_revoked(grant->jti, grant->sub, grant->user_id, grant->kid, now_s())) {
		*reason = "revoked";
		err = SFU_ERR_REFRESH_REVOKED;
	} else {
		/* one_user_per_jti: a token another user holds is refused here as at the door. */
		err = claim_jti_locked(h->user_id, grant, SFU_ERR_REFRESH_FORBIDDEN, now_s(), TRUE, reason);
	}
	if(err == SFU_OK) {
		/* Known from here: the token may hold h. It replaces h's grant, and that of the user's handles that held
		 * h's previous identity, where it takes nothing from them. */
		char *bound = g_strdup(h->auth.bound_user), *sub = g_strdup(h->auth.sub);
		sfu_handle_auth a = auth_of(grant, h->joined_at);
		sfu_handle_set_auth_locked(h, &a);
		share_grant_locked(h, grant, bound, sub, TRUE);
		g_free(bound);
		g_free(sub);
	}
	sfu_registry_unlock();
	if(err == SFU_ERR_REFRESH_FORBIDDEN || err == SFU_ERR_SERVER_BUSY || err == SFU_ERR_REFRESH_REVOKED) {
		sfu_access_rejected(h, h->room_id, h->user_id, "refresh", *reason);
		return err;
	}
	if(err == SFU_OK) {
		sfu_stats_inc(SFU_STAT_REFRESHES);
		tell_jti_claim(grant, h->user_id);
		sfu_events_audit(h->jh, "refreshed", h->room_id, h->user_id,
			json_pack("{sI}", "expires_at", (json_int_t)grant->exp));
	}
	return err;
}

/* =============================================================================
 * Leaving and ejection
 * ==========================================================================*/

gboolean sfu_access_detach(janus_plugin_session *jh) {
	sfu_departure d;
	sfu_registry_lock();
	gboolean known = sfu_registry_remove_locked(jh, &d);
	if(announces(&d))
		sfu_expiry_cancel_user(d.room_id, d.user_id);
	else if(d.joined)
		reschedule_locked(d.room_id, d.user_id); /* the handle's own deadlines go with it */
	sfu_turn turn = take_turn_locked(announces(&d));
	sfu_registry_unlock();
	announce_departure(&d, &turn);
	return known;
}

/* One identity a kick banned (for the listener, after the step). */
typedef struct ban_rec {
	sfu_ban_kind kind;
	char *value;
} ban_rec;

static void ban_rec_free(gpointer p) {
	ban_rec *b = p;
	g_free(b->value);
	g_free(b);
}

static void ban_one_locked(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until, const char *by, gint64 now, GPtrArray *recs, sfu_ban_added *worst) {
	if(value == NULL)
		return;
	*worst = MAX(*worst, sfu_bans_add(room_id, kind, value, user_id, until, by, now));
	ban_rec *b = g_new0(ban_rec, 1);
	b->kind = kind;
	b->value = g_strdup(value);
	g_ptr_array_add(recs, b);
}

/* Ban the identities of the evicted \p victims from \p room_id (registry lock held): the user_id always, the
 * token's sub and jti only when the operator declared that sub names one person. Adds them to \p recs. */
static void ban_locked(const char *room_id, const char *user_id, GPtrArray *victims, const char *by,
	gint64 until, GPtrArray *recs) {
	gint64 now = now_s();
	sfu_ban_added worst = SFU_BAN_ADDED;
	ban_one_locked(room_id, SFU_BAN_USER, user_id, user_id, until, by, now, recs, &worst);
	for(guint i = 0; config->sub_identifies_user && i < victims->len; i++) {
		const sfu_handle *v = victims->pdata[i];
		ban_one_locked(room_id, SFU_BAN_SUB, v->auth.sub, user_id, until, by, now, recs, &worst);
		ban_one_locked(room_id, SFU_BAN_JTI, v->auth.jti, user_id, until, by, now, recs, &worst);
	}
	sfu_stats_inc(SFU_STAT_BANS);
	if(worst == SFU_BAN_ADDED)
		return;
	sfu_stats_inc(SFU_STAT_BANS_DROPPED);
	char room[SFU_LOG_ID_LEN];
	JANUS_LOG(LOG_WARN, "[sfu] room '%s': ban table full (max_bans_per_room / max_bans): %s\n",
		sfu_log_id(room_id, room),
		worst == SFU_BAN_REPLACED_OWN ? "its own ban expiring soonest was dropped"
									  : "the room holding the most bans dropped its soonest");
}

/* Tell the listener (other nodes) about the bans a kick recorded here. No lock held. */
static void publish_bans(
	const char *room_id, const char *user_id, GPtrArray *recs, gint64 until, const char *by) {
	for(guint i = 0; listener && listener->ban && i < recs->len; i++) {
		const ban_rec *b = recs->pdata[i];
		listener->ban(room_id, b->kind, b->value, user_id, until, by);
	}
}

/* Evict and (for kicks) ban as one step, then tell everyone; \p announce_kick: tell other nodes to evict too. */
static guint eject_step(const char *room_id, const char *user_id, const char *reason, const char *by,
	const char *by_sub, gboolean ban, gboolean announce_kick) {
	/* Phase 1: evict and ban in one step, so no join can slip in between. */
	sfu_departure d;
	gboolean banned = FALSE;
	gint64 until = now_s() + config->kick_ban_s;
	GPtrArray *recs = g_ptr_array_new_with_free_func(ban_rec_free);
	sfu_registry_lock();
	GPtrArray *victims = sfu_registry_evict_locked(room_id, user_id, NULL, &d);
	if(victims->len > 0) {
		if(ban && config->kick_ban_s > 0) {
			ban_locked(room_id, user_id, victims, by, until, recs);
			banned = TRUE;
		}
		sfu_expiry_cancel_user(room_id, user_id);
	}
	sfu_turn turn = take_turn_locked(announces(&d));
	sfu_registry_unlock();
	guint n = victims->len;
	if(banned) {
		sfu_events_audit(NULL, "banned", room_id, user_id,
			json_pack("{sIss*ss*}", "until", (json_int_t)until, "by", by, "by_sub", by_sub));
		publish_bans(room_id, user_id, recs, until, by);
	}
	g_ptr_array_unref(recs);
	if(announce_kick && listener && listener->kick)
		listener->kick(room_id, user_id, reason, by);
	/* Phase 2 (no lock): say why, end the handles, tell the room. */
	json_t *why = sfu_event_ejected(room_id, reason, by);
	finish_eviction(victims, &d, why, &turn);
	json_decref(why);
	if(n > 0) {
		char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN], who[SFU_LOG_ID_LEN];
		JANUS_LOG(LOG_INFO, "[sfu] ejected user '%s' from room '%s': %s by %s (%u handles)\n",
			sfu_log_id(user_id, user), sfu_log_id(room_id, room), reason, sfu_log_id(by, who), n);
		sfu_events_audit(NULL, "ejected", room_id, user_id,
			json_pack("{ssss*ss*si}", "reason", reason, "by", by, "by_sub", by_sub, "handles", (int)n));
	}
	return n;
}

guint sfu_access_eject(const char *room_id, const char *user_id, const char *reason, const char *by,
	const char *by_sub, gboolean ban) {
	return eject_step(room_id, user_id, reason, by, by_sub, ban, ban);
}

guint sfu_access_eject_remote(const char *room_id, const char *user_id, const char *reason, const char *by) {
	return eject_step(room_id, user_id, reason, by, NULL, TRUE, FALSE);
}

/* =============================================================================
 * Moderation that matches identities: revocations, remote bans, jti owners
 * ==========================================================================*/

/* One user evicted from one room by a matching step. */
typedef struct eviction {
	char *room_id, *user_id;
	GPtrArray *victims;
	sfu_departure d;
	sfu_turn turn; /* taken in the step that evicted */
} eviction;

typedef gboolean (*handle_match)(const sfu_handle *h, gconstpointer ud);

/* Evict (registry lock held) every user of \p room_id (all rooms when NULL) with a live handle \p match
 * accepts; each such user loses all its handles in that room. Appends to \p out (eviction*). */
static void evict_matching_locked(const char *room_id, handle_match match, gconstpointer ud, GPtrArray *out) {
	GPtrArray *all = sfu_registry_handles_locked(room_id);
	for(guint i = 0; i < all->len; i++) {
		sfu_handle *h = all->pdata[i];
		if(g_atomic_int_get(&h->destroyed) || h->detached || !match(h, ud))
			continue;
		eviction *e = g_new0(eviction, 1);
		e->room_id = g_strdup(h->room_id);
		e->user_id = g_strdup(h->user_id);
		e->victims = sfu_registry_evict_locked(e->room_id, e->user_id, NULL, &e->d);
		if(e->victims->len > 0)
			sfu_expiry_cancel_user(e->room_id, e->user_id);
		e->turn = take_turn_locked(announces(&e->d));
		g_ptr_array_add(out, e);
	}
	g_ptr_array_unref(all);
}

/* Phase 2 of evict_matching_locked: say why, end, tell the rooms; frees \p evictions. @returns handles ended */
static guint finish_evictions(GPtrArray *evictions, const char *reason, const char *by) {
	guint n = 0;
	for(guint i = 0; i < evictions->len; i++) {
		eviction *e = evictions->pdata[i];
		guint k = e->victims->len;
		n += k;
		json_t *why = sfu_event_ejected(e->room_id, reason, by);
		finish_eviction(e->victims, &e->d, why, &e->turn);
		json_decref(why);
		if(k > 0) {
			char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN];
			JANUS_LOG(LOG_INFO, "[sfu] ejected user '%s' from room '%s': %s (%u handles)\n",
				sfu_log_id(e->user_id, user), sfu_log_id(e->room_id, room), reason, k);
			sfu_events_audit(NULL, "ejected", e->room_id, e->user_id,
				json_pack("{ssss*si}", "reason", reason, "by", by, "handles", (int)k));
		}
		g_free(e->room_id);
		g_free(e->user_id);
		g_free(e);
	}
	g_ptr_array_unref(evictions);
	return n;
}

typedef struct revoked_id {
	sfu_revoke_kind kind;
	const char *value;
} revoked_id;

static gboolean matches_revocation(const sfu_handle *h, gconstpointer ud) {
	const revoked_id *r = ud;
	const char *v = r->kind == SFU_REVOKE_JTI    ? h->auth.jti
					: r->kind == SFU_REVOKE_SUB  ? h->auth.sub
					: r->kind == SFU_REVOKE_USER ? h->auth.bound_user
												 : h->auth.kid;
	return same_string(v, r->value);
}

guint sfu_access_revoke(sfu_revoke_kind kind, const char *value, gint64 until_s, const char *by,
	gboolean local, gboolean *recorded) {
	revoked_id r = {kind, value};
	GPtrArray *evictions = g_ptr_array_new();
	sfu_registry_lock();
	/* Known already (another node's copy, or the catch-up after a reconnection): its holders went when it was
	 * first recorded and none got in since, so there is nobody to look for (a walk over every handle). */
	gboolean known = !local && sfu_bans_revocation_until(kind, value, now_s()) >= until_s;
	gboolean ok = known || sfu_bans_revoke(kind, value, until_s, by, now_s());
	/* Recorded and evicted in one step: no join under the token can slip in between. */
	if(ok && !known)
		evict_matching_locked(NULL, matches_revocation, &r, evictions);
	sfu_registry_unlock();
	if(known) {
		if(recorded != NULL)
			*recorded = TRUE;
		g_ptr_array_unref(evictions);
		return 0;
	}
	if(recorded != NULL)
		*recorded = ok;
	if(!ok) {
		JANUS_LOG(LOG_ERR, "[sfu] revocation refused: max_revocations live revocations already\n");
		g_ptr_array_unref(evictions);
		return 0;
	}
	sfu_events_audit(NULL, "revoked", NULL, NULL,
		json_pack("{sssssIss*}", "kind", sfu_revoke_kind_name(kind), "value", value, "until",
			(json_int_t)until_s, "by", by));
	if(local && listener && listener->revoke)
		listener->revoke(kind, value, until_s, by);
	guint n = evictions->len;
	sfu_stats_add(SFU_STAT_REVOKED_EJECTIONS, n);
	return finish_evictions(evictions, "revoked", NULL);
}

gboolean sfu_access_unrevoke(sfu_revoke_kind kind, const char *value, gboolean local) {
	gboolean was = sfu_bans_unrevoke(kind, value);
	if(was)
		sfu_events_audit(NULL, "unrevoked", NULL, NULL,
			json_pack("{ssss}", "kind", sfu_revoke_kind_name(kind), "value", value));
	if(local && listener && listener->unrevoke)
		listener->unrevoke(kind, value);
	return was;
}

typedef struct banned_id {
	sfu_ban_kind kind;
	const char *value;
} banned_id;

static gboolean matches_ban(const sfu_handle *h, gconstpointer ud) {
	const banned_id *b = ud;
	const char *v = b->kind == SFU_BAN_USER ? h->user_id : b->kind == SFU_BAN_SUB ? h->auth.sub : h->auth.jti;
	return same_string(v, b->value);
}

guint sfu_access_apply_ban(const char *room_id, sfu_ban_kind kind, const char *value, const char *user_id,
	gint64 until_s, const char *by) {
	banned_id b = {kind, value};
	GPtrArray *evictions = g_ptr_array_new();
	sfu_registry_lock();
	gboolean known = sfu_bans_ban_until(room_id, kind, value, now_s()) >= until_s;
	gboolean kept =
		known || sfu_bans_add(room_id, kind, value, user_id, until_s, by, now_s()) == SFU_BAN_ADDED;
	if(!known && until_s > now_s())
		evict_matching_locked(room_id, matches_ban, &b, evictions);
	sfu_registry_unlock();
	if(!kept)
		sfu_stats_inc(SFU_STAT_BANS_DROPPED);
	return finish_evictions(evictions, "kicked", by);
}

guint sfu_access_unban(const char *room_id, const char *user_id, gboolean local) {
	guint n = sfu_bans_remove(room_id, user_id);
	if(n > 0)
		sfu_events_audit(NULL, "unbanned", room_id, user_id, NULL);
	if(local && listener && listener->unban)
		listener->unban(room_id, user_id);
	return n;
}

typedef struct jti_holder {
	const char *jti, *owner;
} jti_holder;

static gboolean holds_jti_of_other(const sfu_handle *h, gconstpointer ud) {
	const jti_holder *j = ud;
	return same_string(h->auth.jti, j->jti) && !same_string(h->user_id, j->owner);
}

guint sfu_access_apply_jti(const char *jti, const char *user_id, gint64 exp_s) {
	if(!config->one_user_per_jti)
		return 0;
	jti_holder j = {jti, user_id};
	GPtrArray *evictions = g_ptr_array_new();
	sfu_registry_lock();
	sfu_bans_set_jti_owner(jti, user_id, exp_s, now_s());
	evict_matching_locked(NULL, holds_jti_of_other, &j, evictions);
	sfu_registry_unlock();
	return finish_evictions(evictions, "token_in_use", NULL);
}

/* =============================================================================
 * Owner mutes
 * ==========================================================================*/

/* Set the mute of (room, user) to \p mask everywhere it matters (registry lock held): the record (held across
 * reconnects) and the flag of each of the user's handles (read by the relay). Fills whom to tell. */
static void set_mute_locked(const char *room_id, const char *user_id, guint mask, gint64 until,
	const char *by, GPtrArray **targets, sfu_handle **pub) {
	sfu_bans_set_mute(room_id, user_id, mask, until, by, now_s());
	GPtrArray *all = sfu_registry_handles_locked(room_id);
	*targets = g_ptr_array_new_with_free_func((GDestroyNotify)sfu_handle_unref);
	for(guint i = 0; i < all->len; i++) {
		sfu_handle *h = all->pdata[i];
		gboolean mine = !strcmp(h->user_id, user_id);
		if(mine)
			g_atomic_int_set(&h->muted, (gint)mask);
		if(mine && h->role == SFU_ROLE_PUBLISHER && *pub == NULL) {
			sfu_handle_ref(h);
			*pub = h;
		}
		/* The participant itself and the room: publisher handles (notifications, or the muted user's own). */
		if(h->role == SFU_ROLE_PUBLISHER && (h->notifications || mine)) {
			sfu_handle_ref(h);
			g_ptr_array_add(*targets, h);
		}
	}
	g_ptr_array_unref(all);
}

static const char *media_name(guint bits) {
	return bits == SFU_MUTE_AUDIO ? "audio" : bits == SFU_MUTE_VIDEO ? "video" : "all";
}

/* Phase 2 of a mute change: events, and a keyframe request when video comes back. */
static void announce_mute(const char *room_id, const char *user_id, guint before, guint after, const char *by,
	GPtrArray *targets, sfu_handle *pub) {
	guint added = after & ~before, removed = before & ~after;
	if(added != 0) {
		json_t *ev = sfu_event_muted(TRUE, room_id, user_id, media_name(added), after, by);
		sfu_events_push_all(targets, ev, NULL);
		targets = NULL;
		json_decref(ev);
		sfu_events_audit(
			NULL, "muted", room_id, user_id, json_pack("{ssss*}", "media", media_name(added), "by", by));
	}
	if(removed != 0) {
		json_t *ev = sfu_event_muted(FALSE, room_id, user_id, media_name(removed), after, by);
		if(targets != NULL) {
			sfu_events_push_all(targets, ev, NULL);
			targets = NULL;
		}
		json_decref(ev);
		sfu_events_audit(
			NULL, "unmuted", room_id, user_id, json_pack("{ssss*}", "media", media_name(removed), "by", by));
		if((removed & SFU_MUTE_VIDEO) && pub != NULL && !g_atomic_int_get(&pub->destroyed))
			sfu_core_send_pli(pub->jh); /* subscribers need a keyframe to show video again */
	}
	if(targets != NULL)
		g_ptr_array_unref(targets);
	sfu_handle_unref(pub);
}

guint sfu_access_mute(const char *room_id, const char *user_id, guint bits, gboolean mute, const char *by) {
	gint64 until = now_s() + config->mute_s;
	GPtrArray *targets = NULL;
	sfu_handle *pub = NULL;
	sfu_registry_lock();
	guint before = sfu_bans_mute_of(room_id, user_id, now_s());
	guint after = mute ? (before | bits) : (before & ~bits);
	set_mute_locked(room_id, user_id, after, until, by, &targets, &pub);
	sfu_registry_unlock();
	sfu_stats_inc(SFU_STAT_MUTES);
	if(listener && listener->mute)
		listener->mute(room_id, user_id, after, until, by);
	announce_mute(room_id, user_id, before, after, by, targets, pub);
	return after;
}

void sfu_access_apply_mute(
	const char *room_id, const char *user_id, guint mask, gint64 until_s, const char *by) {
	GPtrArray *targets = NULL;
	sfu_handle *pub = NULL;
	sfu_registry_lock();
	guint before = sfu_bans_mute_of(room_id, user_id, now_s());
	set_mute_locked(room_id, user_id, until_s > now_s() ? mask : 0, until_s, by, &targets, &pub);
	sfu_registry_unlock();
	announce_mute(room_id, user_id, before, until_s > now_s() ? mask : 0, by, targets, pub);
}

/* One handle a deadline took, and why. */
typedef struct expired_handle {
	sfu_handle *h; /* reference */
	const char *reason;
} expired_handle;

/* Scheduler thread: a deadline of (room, user) passed. No lock is held. Every handle of the user is checked
 * against its own deadlines in one step (a refresh racing with the deadline has moved them already): those
 * whose session limit or token expiry passed are evicted, publisher handles whose warning time came are
 * warned, and the user's timers are set from what is left. */
static void on_deadline(
	const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us, gint64 lateness_us) {
	(void)kind;
	(void)deadline_us;
	GArray *gone = g_array_new(FALSE, FALSE, sizeof(expired_handle));
	GPtrArray *warn = g_ptr_array_new_with_free_func((GDestroyNotify)sfu_handle_unref);
	GArray *warn_exp = g_array_new(FALSE, FALSE, sizeof(gint64)); /* the exp each warning is for */
	sfu_departure d;
	memset(&d, 0, sizeof(d));
	sfu_registry_lock();
	gint64 now = g_get_real_time();
	GPtrArray *mine = sfu_registry_user_handles_locked(room_id, user_id);
	for(guint i = 0; i < mine->len; i++) {
		sfu_handle *o = mine->pdata[i];
		const char *reason = o->auth.session_end > 0 && o->auth.session_end <= now ? "session_limit"
							 : o->auth.eject_at > 0 && o->auth.eject_at <= now     ? "token_expired"
																				   : NULL;
		if(reason != NULL) {
			expired_handle e = {o, reason};
			sfu_handle_ref(o);
			g_array_append_val(gone, e);
		} else if(o->role == SFU_ROLE_PUBLISHER && o->auth.eject_at > 0 && config->expiry_warning_s > 0 &&
				  o->auth.warned_exp != o->auth.exp &&
				  (o->auth.exp - (gint64)config->expiry_warning_s) * G_USEC_PER_SEC <= now) {
			o->auth.warned_exp = o->auth.exp;
			sfu_handle_ref(o);
			g_ptr_array_add(warn, o);
			g_array_append_val(warn_exp, o->auth.exp); /* read here: auth is registry-lock state */
		}
	}
	g_ptr_array_unref(mine);
	for(guint i = 0; i < gone->len; i++) {
		sfu_departure one;
		sfu_registry_evict_handle_locked(g_array_index(gone, expired_handle, i).h, &one);
		if(one.user_left) {
			sfu_departure_clear(&d);
			d = one;
		} else {
			sfu_departure_clear(&one);
		}
	}
	if(d.user_left)
		sfu_expiry_cancel_user(room_id, user_id);
	else
		reschedule_locked(room_id, user_id);
	sfu_turn turn = take_turn_locked(announces(&d));
	sfu_registry_unlock();
	for(guint i = 0; i < warn->len; i++) {
		sfu_handle *p = warn->pdata[i];
		gint64 exp = g_array_index(warn_exp, gint64, i);
		json_t *ev = sfu_event_token_expiring(room_id, exp);
		sfu_core_push_event(p->jh, NULL, ev, NULL);
		json_decref(ev);
		sfu_stats_inc(SFU_STAT_EXPIRY_WARNINGS);
		sfu_events_audit(
			NULL, "expiring", room_id, user_id, json_pack("{sI}", "expires_at", (json_int_t)exp));
	}
	g_ptr_array_unref(warn);
	g_array_unref(warn_exp);
	/* Phase 2 for the evicted, by reason. */
	for(int pass = 0; pass < 2; pass++) {
		const char *reason = pass ? "token_expired" : "session_limit";
		GPtrArray *victims = g_ptr_array_new_with_free_func((GDestroyNotify)sfu_handle_unref);
		for(guint i = 0; i < gone->len; i++) {
			expired_handle *e = &g_array_index(gone, expired_handle, i);
			if(e->reason == reason) {
				g_ptr_array_add(victims, e->h);
				e->h = NULL;
			}
		}
		guint n = victims->len;
		if(n == 0) {
			g_ptr_array_unref(victims);
			continue;
		}
		sfu_stats_inc(pass ? SFU_STAT_EXPIRIES : SFU_STAT_SESSION_LIMITS);
		char room[SFU_LOG_ID_LEN], user[SFU_LOG_ID_LEN];
		JANUS_LOG(LOG_VERB, "[sfu] %s: user '%s' in room '%s' (%" G_GINT64_FORMAT " us late, %u handles)\n",
			reason, sfu_log_id(user_id, user), sfu_log_id(room_id, room), lateness_us, n);
		json_t *why = sfu_event_ejected(room_id, reason, NULL);
		sfu_departure none;
		memset(&none, 0, sizeof(none));
		finish_eviction(victims, &none, why, &no_turn);
		json_decref(why);
		sfu_events_audit(
			NULL, "ejected", room_id, user_id, json_pack("{sssi}", "reason", reason, "handles", (int)n));
	}
	g_array_free(gone, TRUE);
	announce_departure(&d, &turn); /* the room hears "leave" once, after the ejected handles ended */
}

/* =============================================================================
 * Lifecycle and stats
 * ==========================================================================*/

int sfu_access_start(const sfu_config *cfg) {
	config = cfg;
	sfu_mutex_lock(&stats_lock);
	if(rejections == NULL)
		rejections = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	sfu_mutex_unlock(&stats_lock);
	sfu_bans_init(cfg->max_bans, cfg->max_bans_per_room, cfg->max_jti_claims);
	sfu_bans_init_moderation(cfg->max_revocations, cfg->max_mutes);
	g_atomic_int_set(&state_available, 1);
	return sfu_expiry_start(on_deadline);
}

void sfu_access_stop(void) {
	sfu_expiry_stop();
	sfu_bans_shutdown();
	sfu_mutex_lock(&stats_lock);
	g_clear_pointer(&rejections, g_hash_table_destroy);
	sfu_mutex_unlock(&stats_lock);
}

void sfu_access_rejected(
	sfu_handle *h, const char *room_id, const char *user_id, const char *request, const char *reason) {
	if(reason == NULL)
		return;
	sfu_mutex_lock(&stats_lock);
	if(rejections != NULL) {
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(rejections, reason));
		g_hash_table_insert(rejections, g_strdup(reason), GUINT_TO_POINTER(n + 1));
	}
	sfu_mutex_unlock(&stats_lock);
	/* With the handle, Janus adds its session and handle ids: what ties a refusal to a transport. Janus drops
	 * the event of a handle it has stopped (detached): then it goes without them. */
	janus_plugin_session *jh = h != NULL ? h->jh : NULL;
	if(jh != NULL && g_atomic_int_get(&jh->stopped))
		jh = NULL;
	sfu_events_audit(
		jh, "rejected", room_id, user_id, json_pack("{ssss}", "request", request, "reason", reason));
}

void sfu_access_set_listener(const sfu_access_listener *l) {
	listener = l;
}

void sfu_access_set_state_available(gboolean available) {
	g_atomic_int_set(&state_available, available ? 1 : 0);
}

gboolean sfu_access_state_available(void) {
	return g_atomic_int_get(&state_available) != 0;
}

static json_int_t load(sfu_stat which) {
	return (json_int_t)sfu_stats_get(which);
}

json_t *sfu_access_stats(void) {
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
		load(SFU_STAT_REFRESHES), "expiries", load(SFU_STAT_EXPIRIES), "session_limits",
		load(SFU_STAT_SESSION_LIMITS), "expiry_warnings", load(SFU_STAT_EXPIRY_WARNINGS), "kicks",
		load(SFU_STAT_KICKS) + load(SFU_STAT_ADMIN_KICKS), "bans", load(SFU_STAT_BANS), "bans_dropped",
		load(SFU_STAT_BANS_DROPPED), "replaced_handles", load(SFU_STAT_REPLACED_HANDLES));
	json_object_set_new(out, "scheduled_deadlines", json_integer(sfu_expiry_count()));
	json_object_set_new(out, "live_bans", json_integer(sfu_bans_count()));
	json_object_set_new(out, "jti_claims", json_integer(sfu_bans_jti_count()));
	json_object_set_new(out, "live_revocations", json_integer(sfu_bans_revocations_count()));
	json_object_set_new(out, "revoked_ejections", json_integer(load(SFU_STAT_REVOKED_EJECTIONS)));
	json_object_set_new(out, "live_mutes", json_integer(sfu_bans_mutes_count()));
	json_object_set_new(out, "mutes", json_integer(load(SFU_STAT_MUTES)));
	return out;
}
