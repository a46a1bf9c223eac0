/*! \file    sfu_signal.c
 * \brief    janus-sfu: request queue, workers and request handlers (see sfu_signal.h)
 */
#include <string.h>

#include <debug.h>

#include "sfu_access.h"
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_log.h"
#include "sfu_relay.h"
#include "sfu_request.h"
#include "sfu_sdp.h"
#include "sfu_signal.h"
#include "sfu_stats.h"

/* One queued request. Holds a reference to its handle. */
typedef struct sfu_message {
	sfu_handle *h;
	char *transaction;
	json_t *body, *jsep;
	gboolean renegotiate; /* internal: offer the publisher its room's video codec (no body, no jsep) */
} sfu_message;

/* What a handler produced: the result to push. */
typedef struct sfu_outcome {
	sfu_err err;
	const char *reason;          /* overrides the error table's reason (static string) */
	char detail[SFU_DETAIL_LEN]; /* one-line explanation for the client */
	json_t *response;            /* success payload (reference) */
	json_t *jsep;                /* JSEP to attach (reference) */
	sfu_access_pending *pending; /* a join's hold on membership announcements, released after its reply */
} sfu_outcome;

static const sfu_config *config = NULL;
static sfu_token_verifier *verifier = NULL;
static GThread **workers = NULL;
static guint n_workers = 0;
static volatile gint stopping = 0;

/* The ready queue: handles with pending requests (each entry a reference), or NULL to stop one worker. */
static sfu_mutex ready_mutex = SFU_MUTEX_INIT;
static sfu_cond ready_cond;
static GQueue ready = G_QUEUE_INIT;

static void ready_push(sfu_handle *h) {
	sfu_mutex_lock(&ready_mutex);
	g_queue_push_tail(&ready, h);
	sfu_cond_signal(&ready_cond);
	sfu_mutex_unlock(&ready_mutex);
}

static sfu_handle *ready_pop(void) {
	sfu_mutex_lock(&ready_mutex);
	while(g_queue_is_empty(&ready))
		sfu_cond_wait(&ready_cond, &ready_mutex);
	sfu_handle *h = g_queue_pop_head(&ready);
	sfu_mutex_unlock(&ready_mutex);
	return h;
}

/* =============================================================================
 * Helpers
 * ==========================================================================*/

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* Verify \p token for \p purpose (\p room_id NULL: the room is checked later, by the caller). On failure
 * fills \p out with the error of the matching family and reports the refusal. */
static gboolean authorize(sfu_handle *h, const char *token, sfu_token_purpose purpose, const char *room_id,
	const char *user_id, sfu_err anonymous, sfu_err invalid, sfu_err forbidden, sfu_grant *grant,
	sfu_outcome *out) {
	const char *reason = NULL;
	sfu_token_verdict v =
		sfu_token_check(verifier, token, purpose, room_id, user_id, now_s(), grant, &reason);
	switch(v) {
		case SFU_TOKEN_OK:
			return TRUE;
		case SFU_TOKEN_MISSING:
			out->err = anonymous;
			break;
		case SFU_TOKEN_INVALID:
			out->err = invalid;
			break;
		case SFU_TOKEN_FORBIDDEN:
		default:
			out->err = forbidden;
			break;
	}
	out->reason = reason;
	sfu_stats_inc(SFU_STAT_REJECTIONS);
	sfu_access_rejected(
		h, room_id, user_id, sfu_token_purpose_name(purpose), reason ? reason : sfu_error_reason(out->err));
	return FALSE;
}

/* A refusal decided after the token verified (bans, bindings): counted like the others. */
static void refused_after_token(sfu_outcome *out) {
	if(out->reason != NULL)
		sfu_stats_inc(SFU_STAT_REJECTIONS);
}

static gboolean enqueue(sfu_message *msg, gboolean bounded);

/* Queue a renegotiation of \p h's video codec behind its pending requests (takes a new reference). */
static void enqueue_renegotiate(sfu_handle *h) {
	sfu_message *msg = g_malloc0(sizeof(sfu_message));
	sfu_handle_ref(h);
	msg->h = h;
	msg->renegotiate = TRUE;
	enqueue(msg, FALSE); /* internal: at most one per join or room switch, never refused */
}

/* =============================================================================
 * The room's video codec (sfu_codec.h, docs/PROTOCOL.md §4)
 * ==========================================================================*/

/* The video codec of \p h's room; the policy's initial codec while \p h is in no room. */
static sfu_vcodec room_codec(sfu_handle *h) {
	sfu_vcodec initial = sfu_codec_room_initial(config->video_codec);
	int codec = sfu_registry_room_video(h, initial);
	return codec != 0 ? (sfu_vcodec)codec : initial;
}

/* \p h's participant showed it decodes \p caps: switch its room when the policy says so, and offer the new
 * codec to the room's publishers (each through its own queue, so that no offer crosses a negotiation in
 * flight). \p h itself is left out: the caller negotiates it next, with the room's codec. */
static void learned_caps(sfu_handle *h, guint caps) {
	sfu_vcodec room = room_codec(h);
	sfu_vcodec to = sfu_codec_room_switch(config->video_codec, room, caps);
	if(to == SFU_VCODEC_NONE)
		return;
	GPtrArray *pubs = sfu_registry_room_video_switch(h, room, to);
	if(pubs == NULL)
		return;
	char room_id[SFU_LOG_ID_LEN], user_id[SFU_LOG_ID_LEN];
	JANUS_LOG(LOG_INFO, "[sfu] room '%s': video switches from %s to %s ('%s' does not decode %s)\n",
		sfu_log_id(h->room_id, room_id), sfu_vcodec_name(room), sfu_vcodec_name(to),
		sfu_log_id(h->user_id, user_id), sfu_vcodec_name(room));
	for(guint i = 0; i < pubs->len; i++) {
		sfu_handle *p = pubs->pdata[i];
		if(p != h && !g_atomic_int_get(&p->destroyed))
			enqueue_renegotiate(p);
	}
	g_ptr_array_unref(pubs);
}

/* A publisher that joins a room with media already negotiated: what it decodes counts, and its video must be
 * the room's. */
static void joined_with_media(sfu_handle *h) {
	sfu_mutex_lock(&h->mutex);
	char *offer = g_strdup(h->publisher_offer);
	int codec = h->video_codec;
	sfu_mutex_unlock(&h->mutex);
	sfu_sdp_video v;
	char error[SFU_DETAIL_LEN];
	if(offer != NULL && sfu_sdp_read_video(offer, &v, error, sizeof(error)) && v.present)
		learned_caps(h, v.caps);
	g_free(offer);
	if(codec != SFU_VCODEC_NONE && codec != (int)room_codec(h))
		enqueue_renegotiate(h);
}

static json_t *jsep_offer(char *sdp) {
	json_t *jsep = sfu_event_jsep("offer", sdp);
	g_free(sdp);
	return jsep;
}

/* =============================================================================
 * Request handlers: one per kind (docs/PROTOCOL.md §4)
 * ==========================================================================*/

static void handle_join(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	sfu_grant grant;
	memset(&grant, 0, sizeof(grant));
	if(!authorize(h, req->token, SFU_TOKEN_FOR_JOIN, req->room_id, req->user_id, SFU_ERR_JOIN_ANONYMOUS,
		   SFU_ERR_JOIN_INVALID_TOKEN, SFU_ERR_JOIN_FORBIDDEN, &grant, out)) {
		sfu_grant_clear(&grant);
		return;
	}
	sfu_join_request join = {
		.room_id = req->room_id,
		.user_id = req->user_id,
		.role = req->subscribe.data ? SFU_ROLE_PUBLISHER : SFU_ROLE_SUBSCRIBER,
		.subscribe = req->subscribe.present,
		.notifications = req->subscribe.notifications,
		.data = req->subscribe.data,
		.media = req->subscribe.media,
	};
	json_t *users = NULL;
	char *offer = NULL;
	out->err = sfu_access_join(h, &join, &grant, &users, &offer, &out->reason, &out->pending);
	sfu_grant_clear(&grant);
	if(out->err != SFU_OK) {
		refused_after_token(out);
		return;
	}
	/* Known from here: the handle is in the room, with its grant and subscription. */
	sfu_stats_inc(SFU_STAT_JOINS_ACCEPTED);
	JANUS_LOG(LOG_VERB, "[sfu] handle %" G_GUINT64_FORMAT " joined as %s\n", h->id,
		join.role == SFU_ROLE_PUBLISHER ? "publisher" : "subscriber");
	if(join.role == SFU_ROLE_PUBLISHER)
		joined_with_media(h);
	out->response = json_object();
	json_t *by_room = json_object();
	json_object_set_new(by_room, req->room_id, users);
	json_object_set_new(out->response, "users", by_room);
	if(offer != NULL)
		out->jsep = jsep_offer(offer);
}

static void handle_subscribe(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	/* The token first: without a valid one, nothing about publishers is revealed. */
	sfu_grant grant;
	memset(&grant, 0, sizeof(grant));
	if(!authorize(h, req->token, SFU_TOKEN_FOR_SUBSCRIBE, h->room_id, h->user_id, SFU_ERR_SUB_ANONYMOUS,
		   SFU_ERR_SUB_INVALID_TOKEN, SFU_ERR_SUB_FORBIDDEN, &grant, out)) {
		sfu_grant_clear(&grant);
		return;
	}
	char *offer = NULL;
	out->err = sfu_access_subscribe(h, req->subscribe.notifications, req->subscribe.data,
		req->subscribe.media, &grant, &offer, &out->reason);
	sfu_grant_clear(&grant);
	if(out->err != SFU_OK) {
		refused_after_token(out);
		return;
	}
	out->response = json_object();
	if(offer != NULL)
		out->jsep = jsep_offer(offer);
}

static void handle_kick(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	if(sfu_token_is_open(verifier)) {
		/* Legacy: without auth_key nobody can kick. */
		out->err = SFU_ERR_KICK_FORBIDDEN;
		out->reason = "auth_disabled";
		return;
	}
	sfu_grant grant;
	memset(&grant, 0, sizeof(grant));
	gboolean ok = authorize(h, req->token, SFU_TOKEN_FOR_KICK, req->room_id, NULL, SFU_ERR_KICK_FORBIDDEN,
		SFU_ERR_KICK_FORBIDDEN, SFU_ERR_KICK_FORBIDDEN, &grant, out);
	if(!ok) {
		sfu_grant_clear(&grant);
		return;
	}
	/* The audit trail names the kicker by its verified token identity too: its user_id is the client's word. */
	guint n = sfu_access_eject(req->room_id, req->user_id, "kicked", h->user_id, grant.sub, TRUE);
	sfu_grant_clear(&grant);
	sfu_stats_inc(SFU_STAT_KICKS);
	out->response = json_pack("{si}", "kicked", n);
}

/* An owner's mute or unmute (token with mute_users for the room): the relay stops / resumes the user's media. */
static void handle_mute(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	if(sfu_token_is_open(verifier)) {
		out->err = SFU_ERR_MUTE_FORBIDDEN;
		out->reason = "auth_disabled";
		return;
	}
	sfu_grant grant;
	memset(&grant, 0, sizeof(grant));
	gboolean ok = authorize(h, req->token, SFU_TOKEN_FOR_MUTE, req->room_id, NULL, SFU_ERR_MUTE_FORBIDDEN,
		SFU_ERR_MUTE_FORBIDDEN, SFU_ERR_MUTE_FORBIDDEN, &grant, out);
	sfu_grant_clear(&grant);
	if(!ok)
		return;
	gboolean mute = req->kind == SFU_REQ_MUTE;
	guint mask = sfu_access_mute(req->room_id, req->user_id, (guint)req->mute, mute, h->user_id);
	out->response = json_pack("{so}", "muted", sfu_event_mute_list(mask));
}

static void handle_block(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	gboolean block = req->kind == SFU_REQ_BLOCK;
	sfu_handle *fir = NULL;
	GPtrArray *targets = NULL;
	out->err = block ? sfu_registry_block(h, req->whom, &targets)
					 : sfu_registry_unblock(h, req->whom, &targets, &fir);
	if(out->err != SFU_OK)
		return;
	json_t *ev = sfu_event_blocked(block, h->user_id);
	sfu_events_push_all(targets, ev, NULL);
	json_decref(ev);
	if(fir != NULL) {
		sfu_relay_request_keyframe(fir);
		sfu_handle_unref(fir);
	}
	out->response = json_object();
}

/* Token buckets of one user's websocket data in a room, shared by all its handles (messages and bytes per
 * second, bursts of twice that); \p data points at the message's size. Registry lock held.
 * @returns FALSE when over the rate */
static gboolean data_allowed(sfu_data_bucket *b, gpointer data) {
	size_t bytes = *(const size_t *)data;
	gint64 now = g_get_monotonic_time();
	double msgs_rate = config->data_msgs_per_s, bytes_rate = config->data_bytes_per_s;
	if(b->refill_us == 0) {
		b->msgs = 2 * msgs_rate;
		b->bytes = 2 * bytes_rate;
	} else {
		double s = (double)(now - b->refill_us) / G_USEC_PER_SEC;
		b->msgs = MIN(2 * msgs_rate, b->msgs + s * msgs_rate);
		b->bytes = MIN(2 * bytes_rate, b->bytes + s * bytes_rate);
	}
	b->refill_us = now;
	if(b->msgs < 1 || b->bytes < (double)bytes)
		return FALSE;
	b->msgs -= 1;
	b->bytes -= (double)bytes;
	return TRUE;
}

static void handle_data(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	if(h->role == SFU_ROLE_NONE) {
		out->err = SFU_ERR_DATA_NOT_JOINED;
		return;
	}
	if(!g_atomic_int_get(&h->auth.send_data)) {
		out->err = SFU_ERR_DATA_FORBIDDEN;
		return;
	}
	/* Each message is queued by Janus for every receiver: one sender (one user, however many handles it
	 * opens) must not fill Janus's memory with them. */
	size_t bytes = strlen(req->body);
	GPtrArray *targets = sfu_registry_data_targets(h, req->whom, data_allowed, &bytes);
	if(targets == NULL) {
		out->err = SFU_ERR_DATA_RATE;
		return;
	}
	json_t *ev = sfu_event_data(req->body);
	sfu_events_push_all(targets, ev, NULL);
	json_decref(ev);
	out->response = json_object();
}

static void handle_refresh(sfu_handle *h, const sfu_request *req, sfu_outcome *out) {
	if(h->role == SFU_ROLE_NONE) {
		out->err = SFU_ERR_REFRESH_NOT_JOINED;
		return;
	}
	sfu_grant grant;
	memset(&grant, 0, sizeof(grant));
	if(!authorize(h, req->token, SFU_TOKEN_FOR_REFRESH, h->room_id, h->user_id, SFU_ERR_REFRESH_INVALID_TOKEN,
		   SFU_ERR_REFRESH_INVALID_TOKEN, SFU_ERR_REFRESH_FORBIDDEN, &grant, out)) {
		sfu_grant_clear(&grant);
		return;
	}
	out->err = sfu_access_refresh(h, &grant, &out->reason);
	if(out->err == SFU_OK)
		out->response = json_pack("{sI}", "expires_at", (json_int_t)grant.exp);
	else
		refused_after_token(out);
	sfu_grant_clear(&grant);
}

typedef void (*request_handler)(sfu_handle *h, const sfu_request *req, sfu_outcome *out);

static const request_handler handlers[] = {
	[SFU_REQ_JOIN] = handle_join,
	[SFU_REQ_KICK] = handle_kick,
	[SFU_REQ_SUBSCRIBE] = handle_subscribe,
	[SFU_REQ_BLOCK] = handle_block,
	[SFU_REQ_UNBLOCK] = handle_block,
	[SFU_REQ_DATA] = handle_data,
	[SFU_REQ_REFRESH] = handle_refresh,
	[SFU_REQ_MUTE] = handle_mute,
	[SFU_REQ_UNMUTE] = handle_mute,
};

/* =============================================================================
 * JSEP (docs/PROTOCOL.md §4.7, §4.8)
 * ==========================================================================*/

/* Store what negotiating \p h's media produced and offer it to \p h's current subscribers (body {}, no
 * transaction: a renegotiation), unless it changes nothing for them. naf-janus-adapter always follows its
 * publisher's first offer with a second, identical one (negotiationneeded fires after the join's offer); a
 * re-offer for it would reach a subscriber that has just subscribed while its first negotiation is in flight. */
static void publish_media(sfu_handle *h, const sfu_sdp_result *r) {
	sfu_mutex_lock(&h->mutex);
	gboolean same = sfu_sdp_same_but_origin(h->subscriber_offer, r->subscriber_offer) &&
					h->audio_pt == r->audio_pt && h->video_pt == r->video_pt;
	sfu_mutex_unlock(&h->mutex);
	if(same)
		return;
	GPtrArray *subs = sfu_registry_set_offer(h, g_strdup(r->subscriber_offer), r->audio_pt, r->video_pt);
	json_t *reoffer = sfu_event_jsep("offer", r->subscriber_offer);
	json_t *empty = json_object();
	for(guint i = 0; i < subs->len; i++) {
		sfu_handle *s = subs->pdata[i];
		if(!g_atomic_int_get(&s->destroyed))
			sfu_core_push_event(s->jh, NULL, empty, reoffer);
	}
	json_decref(empty);
	json_decref(reoffer);
	sfu_snapshot_release(subs);
}

/* The subscriber offer's video codecs for a publisher sending \p codec that offered \p offered. */
static void sub_video(sfu_handle *h, sfu_vcodec codec, guint offered, sfu_sdp_sub_video *sub) {
	sub->n = sfu_codec_subscriber(config->video_codec, room_codec(h), codec, offered, sub->codecs);
}

/* A publisher's offer: answered with the room's video codec (docs/PROTOCOL.md §4). */
static void handle_offer(sfu_handle *h, const char *sdp, sfu_outcome *out) {
	sfu_sdp_video offered;
	if(!sfu_sdp_read_video(sdp, &offered, out->detail, sizeof(out->detail))) {
		out->err = SFU_ERR_SDP;
		return;
	}
	if(offered.present)
		learned_caps(h, offered.caps);
	sfu_vcodec room = room_codec(h);
	sfu_vcodec codec = sfu_codec_publisher(config->video_codec, room, offered.caps);
	sfu_sdp_sub_video sub;
	sub_video(h, codec, offered.caps, &sub);
	sfu_sdp_result r;
	if(!sfu_sdp_negotiate_publisher(sdp, codec, &sub, &r, out->detail, sizeof(out->detail))) {
		out->err = SFU_ERR_SDP;
		return;
	}
	if(offered.present && r.vcodec == SFU_VCODEC_NONE)
		JANUS_LOG(LOG_INFO,
			"[sfu] handle %" G_GUINT64_FORMAT ": video refused, the offer has no %s (video_codec)\n", h->id,
			sfu_vcodec_name(room));
	out->jsep = sfu_event_jsep("answer", r.answer);
	sfu_mutex_lock(&h->mutex);
	g_free(h->publisher_offer);
	h->publisher_offer = g_strdup(sdp);
	h->video_codec = r.vcodec;
	h->reoffer_codec = SFU_VCODEC_NONE;
	h->sdp_version = MAX(h->sdp_version, offered.o_version);
	sfu_mutex_unlock(&h->mutex);
	publish_media(h, &r);
	sfu_sdp_result_clear(&r);
	/* The room may have switched while this offer was answered: the next turn of this handle renegotiates. */
	if(codec != SFU_VCODEC_NONE && room_codec(h) != room)
		enqueue_renegotiate(h);
}

/* Internal request: offer \p h the video codec of its room, when it sends another one and offered it. */
static void renegotiate(sfu_handle *h) {
	sfu_mutex_lock(&h->mutex);
	char *offer = g_strdup(h->publisher_offer);
	int current = h->video_codec, pending = h->reoffer_codec;
	guint64 version = h->sdp_version + 1;
	sfu_mutex_unlock(&h->mutex);
	sfu_sdp_video offered;
	char error[SFU_DETAIL_LEN];
	if(offer == NULL || !sfu_sdp_read_video(offer, &offered, error, sizeof(error))) {
		g_free(offer);
		return;
	}
	sfu_vcodec codec = sfu_codec_publisher(config->video_codec, room_codec(h), offered.caps);
	if(codec == SFU_VCODEC_NONE || (int)codec == current || (int)codec == pending) {
		g_free(offer);
		return;
	}
	sfu_sdp_sub_video sub;
	sub_video(h, codec, offered.caps, &sub);
	sfu_sdp_result r;
	if(!sfu_sdp_publisher_reoffer(offer, codec, &sub, version, &r, error, sizeof(error))) {
		JANUS_LOG(LOG_WARN, "[sfu] handle %" G_GUINT64_FORMAT ": no offer for %s: %s\n", h->id,
			sfu_vcodec_name(codec), error);
		g_free(offer);
		return;
	}
	g_free(offer);
	sfu_mutex_lock(&h->mutex);
	h->reoffer_codec = codec;
	h->sdp_version = version;
	sfu_mutex_unlock(&h->mutex);
	JANUS_LOG(
		LOG_VERB, "[sfu] handle %" G_GUINT64_FORMAT ": offering video %s\n", h->id, sfu_vcodec_name(codec));
	json_t *ev = sfu_event_video_codec(h->room_id ? h->room_id : "", sfu_vcodec_name(codec));
	json_t *jsep = sfu_event_jsep("offer", r.answer);
	if(!g_atomic_int_get(&h->destroyed))
		sfu_core_push_event(h->jh, NULL, ev, jsep);
	json_decref(ev);
	json_decref(jsep);
	sfu_sdp_result_clear(&r);
}

/* The publisher's answer to the plugin's offer: it sends the new codec from now on; its subscribers get the
 * matching offer and it is asked for a keyframe. */
static void publisher_answered(sfu_handle *h, int codec, const sfu_sdp_video *answered) {
	if(!answered->present || !(answered->caps & sfu_vcodec_cap(codec))) {
		JANUS_LOG(LOG_WARN, "[sfu] handle %" G_GUINT64_FORMAT ": video %s refused in the answer\n", h->id,
			sfu_vcodec_name(codec));
		return;
	}
	sfu_mutex_lock(&h->mutex);
	char *offer = g_strdup(h->publisher_offer);
	sfu_mutex_unlock(&h->mutex);
	sfu_sdp_video offered;
	sfu_sdp_result r;
	char error[SFU_DETAIL_LEN];
	if(offer == NULL || !sfu_sdp_read_video(offer, &offered, error, sizeof(error))) {
		g_free(offer);
		return;
	}
	sfu_sdp_sub_video sub;
	sub_video(h, codec, offered.caps, &sub);
	if(sfu_sdp_negotiate_publisher(offer, codec, &sub, &r, error, sizeof(error))) {
		sfu_mutex_lock(&h->mutex);
		h->video_codec = codec;
		sfu_mutex_unlock(&h->mutex);
		publish_media(h, &r);
		sfu_sdp_result_clear(&r);
		sfu_relay_request_keyframe(h);
	}
	g_free(offer);
}

/* A subscriber's answer that leaves out H.264 although its offer had it shows a participant that does not
 * decode H.264 (a subscriber that publishes no video shows it only here). */
static void subscriber_answered(sfu_handle *h, const sfu_sdp_video *answered) {
	sfu_handle *pub = sfu_handle_publisher(h);
	if(pub == NULL)
		return;
	sfu_mutex_lock(&pub->mutex);
	char *offer = g_strdup(pub->subscriber_offer);
	sfu_mutex_unlock(&pub->mutex);
	sfu_handle_unref(pub);
	sfu_sdp_video offered;
	char error[SFU_DETAIL_LEN];
	if(offer != NULL && sfu_sdp_read_video(offer, &offered, error, sizeof(error)) && answered->present) {
		guint caps = answered->caps;
		if(!(offered.caps & SFU_VCAP_H264))
			caps |= SFU_VCAP_H264; /* not asked: no evidence */
		learned_caps(h, caps);
	}
	g_free(offer);
}

static void handle_answer(sfu_handle *h, const char *sdp, sfu_outcome *out) {
	sfu_sdp_video answered;
	if(!sfu_sdp_read_video(sdp, &answered, out->detail, sizeof(out->detail))) {
		out->err = SFU_ERR_SDP;
		return;
	}
	sfu_mutex_lock(&h->mutex);
	int pending = h->reoffer_codec;
	h->reoffer_codec = SFU_VCODEC_NONE;
	sfu_mutex_unlock(&h->mutex);
	if(pending != SFU_VCODEC_NONE)
		publisher_answered(h, pending, &answered);
	else
		subscriber_answered(h, &answered);
}

static void handle_jsep(sfu_handle *h, const sfu_jsep *jsep, sfu_outcome *out) {
	if(jsep->type == SFU_JSEP_OFFER)
		handle_offer(h, jsep->sdp, out);
	else if(jsep->type == SFU_JSEP_ANSWER)
		handle_answer(h, jsep->sdp, out); /* the core applied it already */
}

/* =============================================================================
 * Processing one request and composing its single result (§3.3)
 * ==========================================================================*/

static void outcome_init(sfu_outcome *o) {
	memset(o, 0, sizeof(*o));
}

/* After the reply is pushed: a join lets later membership announcements go (sfu_access_join_finish). */
static void outcome_clear(sfu_outcome *o) {
	sfu_access_join_finish(o->pending);
	json_decref(o->response);
	json_decref(o->jsep);
	memset(o, 0, sizeof(*o));
}

static void process(sfu_message *msg) {
	sfu_handle *h = msg->h;
	if(msg->renegotiate) {
		renegotiate(h);
		return;
	}
	sfu_stats_inc(SFU_STAT_REQUESTS);
	sfu_outcome body_out, jsep_out;
	outcome_init(&body_out);
	outcome_init(&jsep_out);
	sfu_request req;
	sfu_jsep jsep;
	body_out.err = sfu_request_parse(msg->body, &req, body_out.detail, sizeof(body_out.detail));
	if(body_out.err == SFU_OK && req.kind != SFU_REQ_NONE)
		handlers[req.kind](h, &req, &body_out);
	/* Both parts are processed eagerly, as the plugin we replace did. */
	jsep_out.err = sfu_request_parse_jsep(msg->jsep, &jsep, jsep_out.detail, sizeof(jsep_out.detail));
	if(jsep_out.err == SFU_OK && jsep.type != SFU_JSEP_NONE)
		handle_jsep(h, &jsep, &jsep_out);
	json_t *result = NULL, *result_jsep = NULL;
	if(body_out.err != SFU_OK) {
		result = sfu_event_error(body_out.err, body_out.reason, body_out.detail);
	} else if(jsep_out.err != SFU_OK) {
		result = sfu_event_error(jsep_out.err, jsep_out.reason, jsep_out.detail);
	} else {
		json_t *response = body_out.response;
		body_out.response = NULL;
		if(response == NULL && req.kind != SFU_REQ_NONE)
			response = json_object();
		result = sfu_event_ok(response);
		result_jsep = jsep.type != SFU_JSEP_NONE ? jsep_out.jsep : body_out.jsep;
		if(result_jsep != NULL)
			json_incref(result_jsep);
	}
	if(body_out.err != SFU_OK || jsep_out.err != SFU_OK) {
		JANUS_LOG(LOG_VERB, "[sfu] handle %" G_GUINT64_FORMAT ": %s request failed: %s\n", h->id,
			sfu_request_kind_name(req.kind),
			sfu_error_reason(body_out.err != SFU_OK ? body_out.err : jsep_out.err));
	}
	/* A reply with a JSEP makes Janus wait (up to 5 s) for the handle's ICE gathering, which a media loop thread
	 * completes, and loop threads run destroy_session, which may wait for a turn: a join's turn is never held
	 * across such a push (its reply then may follow a leave decided after it; docs/DESIGN.md). */
	if(result_jsep != NULL) {
		sfu_access_join_finish(body_out.pending);
		body_out.pending = NULL;
	}
	if(!g_atomic_int_get(&h->destroyed))
		sfu_core_push_event(h->jh, msg->transaction, result, result_jsep);
	json_decref(result);
	json_decref(result_jsep);
	outcome_clear(&body_out);
	outcome_clear(&jsep_out);
}

/* =============================================================================
 * Queue and workers
 * ==========================================================================*/

static void message_free(sfu_message *msg) {
	sfu_handle_unref(msg->h);
	g_free(msg->transaction);
	json_decref(msg->body);
	json_decref(msg->jsep);
	g_free(msg);
}

/* A handle's requests (sfu_handle.signal): only this module sees them. */
typedef struct handle_queue {
	sfu_mutex mutex;    /* guards the fields below */
	GQueue pending;     /* queued requests (sfu_message*) */
	gboolean scheduled; /* the handle is on the ready queue or being processed */
} handle_queue;

static void *queue_create(void) {
	handle_queue *q = g_new0(handle_queue, 1);
	sfu_mutex_init(&q->mutex);
	g_queue_init(&q->pending);
	return q;
}

/* With the handle's last reference: every queued request held one, so nothing is queued any more. */
static void queue_destroy(void *state) {
	handle_queue *q = state;
	g_assert(g_queue_is_empty(&q->pending));
	sfu_mutex_clear(&q->mutex);
	g_free(q);
}

static const sfu_signal_hooks queue_hooks = {queue_create, queue_destroy};

static handle_queue *queue_of(sfu_handle *h) {
	return h->signal;
}

static gboolean enqueue(sfu_message *msg, gboolean bounded) {
	sfu_handle *h = msg->h;
	handle_queue *q = queue_of(h);
	gboolean schedule = FALSE, full = FALSE;
	sfu_mutex_lock(&q->mutex);
	if(bounded && g_queue_get_length(&q->pending) >= config->max_queued_requests) {
		full = TRUE;
	} else {
		g_queue_push_tail(&q->pending, msg);
		if(!q->scheduled) {
			q->scheduled = TRUE;
			schedule = TRUE;
		}
	}
	sfu_mutex_unlock(&q->mutex);
	if(full) {
		sfu_stats_inc(SFU_STAT_REFUSED_QUEUE_FULL);
		message_free(msg); /* drops h's reference too */
		return FALSE;
	}
	if(schedule) {
		sfu_handle_ref(h);
		ready_push(h);
	}
	return TRUE;
}

gboolean sfu_signal_enqueue(sfu_handle *h, char *transaction, json_t *message, json_t *jsep) {
	sfu_message *msg = g_malloc0(sizeof(sfu_message));
	msg->h = h;
	msg->transaction = transaction;
	msg->body = message;
	msg->jsep = jsep;
	return enqueue(msg, TRUE);
}

static gpointer worker(gpointer data) {
	(void)data;
	for(;;) {
		sfu_handle *h = ready_pop();
		if(h == NULL)
			break;
		handle_queue *q = queue_of(h);
		sfu_mutex_lock(&q->mutex);
		sfu_message *msg = g_queue_pop_head(&q->pending);
		sfu_mutex_unlock(&q->mutex);
		if(msg != NULL) {
			if(!g_atomic_int_get(&h->destroyed) && !g_atomic_int_get(&stopping))
				process(msg);
			message_free(msg);
		}
		/* One request per turn keeps a chatty handle from starving others. */
		sfu_mutex_lock(&q->mutex);
		gboolean more = !g_queue_is_empty(&q->pending);
		if(!more)
			q->scheduled = FALSE;
		sfu_mutex_unlock(&q->mutex);
		if(more)
			ready_push(h); /* keeps its reference */
		else
			sfu_handle_unref(h);
	}
	return NULL;
}

int sfu_signal_start(const sfu_config *cfg, sfu_token_verifier *a) {
	config = cfg;
	verifier = a;
	sfu_registry_set_signal_hooks(
		&queue_hooks); /* before the first handle: Janus attaches none before init ends */
	g_atomic_int_set(&stopping, 0);
	sfu_cond_init(&ready_cond);
	n_workers = cfg->message_threads ? cfg->message_threads : (guint)g_get_num_processors();
	workers = g_new0(GThread *, n_workers);
	for(guint i = 0; i < n_workers; i++) {
		char name[32];
		g_snprintf(name, sizeof(name), "sfu-signal-%u", i);
		GError *error = NULL;
		workers[i] = g_thread_try_new(name, worker, NULL, &error);
		if(workers[i] == NULL) {
			JANUS_LOG(LOG_FATAL, "[sfu] could not start signalling thread %u: %s\n", i,
				error ? error->message : "?");
			g_clear_error(&error);
			n_workers = i;
			sfu_signal_stop();
			return -1;
		}
	}
	JANUS_LOG(LOG_INFO, "[sfu] %u signalling threads started\n", n_workers);
	return 0;
}

void sfu_signal_stop(void) {
	if(workers == NULL)
		return;
	g_atomic_int_set(&stopping, 1);
	for(guint i = 0; i < n_workers; i++)
		ready_push(NULL);
	for(guint i = 0; i < n_workers; i++)
		g_thread_join(workers[i]);
	g_free(workers);
	workers = NULL;
	n_workers = 0;
	/* Drain what is left: drop requests without answering (Janus is going away). */
	sfu_mutex_lock(&ready_mutex);
	GList *left = ready.head;
	ready.head = ready.tail = NULL;
	ready.length = 0;
	sfu_mutex_unlock(&ready_mutex);
	for(GList *l = left; l != NULL; l = l->next) {
		sfu_handle *h = l->data;
		if(h == NULL)
			continue;
		handle_queue *q = queue_of(h);
		sfu_mutex_lock(&q->mutex);
		GQueue drop = q->pending;
		g_queue_init(&q->pending);
		q->scheduled = FALSE;
		sfu_mutex_unlock(&q->mutex);
		sfu_message *msg;
		while((msg = g_queue_pop_head(&drop)) != NULL)
			message_free(msg);
		sfu_handle_unref(h);
	}
	g_list_free(left);
	sfu_cond_clear(&ready_cond);
}

/* =============================================================================
 * Media state and departures
 * ==========================================================================*/

void sfu_signal_media_up(sfu_handle *h) {
	g_atomic_int_set(&h->media_up, 1);
	sfu_handle *pub = sfu_handle_publisher(h);
	if(pub == NULL)
		return;
	if(!g_atomic_int_get(&h->blocked))
		sfu_relay_request_keyframe(pub);
	sfu_handle_unref(pub);
}
