/*! \file flows.c
 * \brief sfu-bot: connection sequences of each role through janus.plugin.sfu and janus.plugin.videoroom
 * \details janus.plugin.sfu (docs/PROTOCOL.md):
 *   publisher  join {subscribe:{notifications,data:true}} -> JSEP offer with body {} -> answer
 *   subscriber join {subscribe:{media:<publisher user>}} -> offer in the result -> body {} + answer
 * janus.plugin.videoroom (Janus 1.1 multistream API):
 *   publisher  join {ptype:publisher,id:feed} -> publish + offer -> answer
 *   subscriber join {ptype:subscriber,streams:[{feed}]} -> offer -> start + answer
 *   joiner     join {ptype:publisher} only
 * A peer ends in exactly one final state (up, or one failure counter) and then
 * calls bot_flow_finished(). Every wait is bounded by a timer.
 */
#include "bot.h"
#include "rx.h"

#include <string.h>

static gboolean is_sfu(void) {
	return bot_opt.plugin == BOT_PLUGIN_SFU;
}

static const char *plugin_name(void) {
	return is_sfu() ? "janus.plugin.sfu" : "janus.plugin.videoroom";
}

/* =============================================================================
 * Final states
 * ==========================================================================*/

static void peer_done(bot_peer *p) {
	p->done = TRUE;
	if(p->timer != 0) {
		g_source_remove(p->timer);
		p->timer = 0;
	}
	bot_flow_finished(p);
}

static void peer_fail(bot_peer *p, const char *kind) {
	if(p->done)
		return;
	BOT_LOG("%s %s failed: %s\n", bot_role_names[p->role], p->user, kind);
	int r = p->role;
	if(strcmp(kind, "ice") == 0)
		bot_st.failed_ice[r]++;
	else if(strcmp(kind, "dtls") == 0)
		bot_st.failed_dtls[r]++;
	else if(strcmp(kind, "bad_answer") == 0)
		bot_st.bad_answer[r]++;
	else if(strcmp(kind, "timeout") == 0)
		bot_st.timeouts[r]++;
	else
		bot_st.failed_signalling[r]++;
	peer_done(p);
}

static void peer_up(bot_peer *p) {
	if(p->done)
		return;
	p->is_up = TRUE;
	bot_st.up[p->role]++;
	gint64 now = bot_now_us();
	bot_latency_add(&bot_st.connect_ms[p->role], (double)(now - p->t_start) / 1000.0);
	if(now > bot_st.last_join_us)
		bot_st.last_join_us = now;
	peer_done(p);
}

static gboolean on_phase_timeout(gpointer data) {
	bot_peer *p = data;
	p->timer = 0;
	peer_fail(p, p->pc != NULL && p->t_join_sent == 0 ? bot_pc_stuck_phase(p->pc) : "timeout");
	return G_SOURCE_REMOVE;
}

/* (Re)arms the watchdog of the current phase. */
static void arm(bot_peer *p, double seconds) {
	if(p->timer != 0)
		g_source_remove(p->timer);
	p->timer = g_timeout_add((guint)(seconds * 1000), on_phase_timeout, p);
}

/* Classifies a reply: NULL if it is a success, else the failure kind. */
static const char *reply_error(json_t *msg, const char *err) {
	if(msg == NULL)
		return err != NULL && strcmp(err, "timeout") == 0 ? "timeout" : "signalling";
	const char *janus = json_string_value(json_object_get(msg, "janus"));
	if(janus == NULL || strcmp(janus, "error") == 0)
		return "signalling";
	json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
	if(strcmp(janus, "event") == 0 || json_is_object(data)) {
		if(is_sfu() && !json_is_true(json_object_get(data, "success")))
			return "bad_answer";
		if(!is_sfu() && json_object_get(data, "error") != NULL)
			return "bad_answer";
	}
	return NULL;
}

static const char *reply_sdp(json_t *msg, const char *type) {
	json_t *jsep = json_object_get(msg, "jsep");
	const char *t = json_string_value(json_object_get(jsep, "type"));
	if(t == NULL || strcmp(t, type) != 0)
		return NULL;
	return json_string_value(json_object_get(jsep, "sdp"));
}

/* =============================================================================
 * Media callbacks
 * ==========================================================================*/

static void send_local_sdp(bot_peer *p, const char *sdp);

static void pc_local_sdp(bot_pc *pc, const char *sdp, void *ud) {
	(void)pc;
	send_local_sdp(ud, sdp);
}

static void pc_up(bot_pc *pc, void *ud) {
	(void)pc;
	bot_peer *p = ud;
	bot_latency_add(&bot_st.media_ms[p->role], (double)(bot_now_us() - p->t_start) / 1000.0);
	if(p->role == ROLE_PUB)
		p->send_start_us = bot_now_us();
	g_atomic_int_set(&p->media_up, TRUE); /* last: the sender may run on the receive thread */
	peer_up(p);
}

static void pc_failed(bot_pc *pc, const char *kind, void *ud) {
	(void)pc;
	peer_fail(ud, kind);
}

static void pc_rtp(bot_pc *pc, const guint8 *payload, int len, gint64 arrival_us, void *ud) {
	(void)pc;
	bot_peer *p = ud;
	int stream;
	guint32 seq;
	gint64 sent;
	bot_st.rx_packets++;
	bot_st.win_rx_packets++;
	bot_st.rx_bytes += (guint64)len;
	int pub = bot_payload_parse(payload, len, &stream, &seq, &sent);
	if(pub < 0) {
		bot_st.rx_bad++;
		return;
	}
	if(p->role != ROLE_SUB || pub != p->pub) {
		bot_st.rx_foreign++;
		return;
	}
	bot_track_add(&p->track[stream], seq);
	bot_delay_add(arrival_us - sent);
}

static const bot_pc_events pc_events = {pc_local_sdp, pc_up, pc_failed, pc_rtp};

/* =============================================================================
 * Signalling
 * ==========================================================================*/

static void on_handle_event(json_t *msg, void *ud) {
	bot_peer *p = ud;
	const char *janus = json_string_value(json_object_get(msg, "janus"));
	if(janus == NULL)
		return;
	if(strcmp(janus, "webrtcup") == 0) {
		p->webrtcup = TRUE;
	} else if(strcmp(janus, "hangup") == 0 || strcmp(janus, "detached") == 0) {
		peer_fail(p, p->pc != NULL ? bot_pc_stuck_phase(p->pc) : "signalling");
	} else if(strcmp(janus, "trickle") == 0 && p->pc != NULL) {
		const char *c = json_string_value(json_object_get(json_object_get(msg, "candidate"), "candidate"));
		if(c != NULL)
			bot_pc_add_remote_candidate(p->pc, c);
	}
}

static void on_answer_ack(json_t *msg, const char *err, void *ud) {
	bot_peer *p = ud;
	if(p->done)
		return;
	const char *e = reply_error(msg, err);
	if(e != NULL) {
		peer_fail(p, e);
		return;
	}
	/* Result of our answer: now ICE/DTLS must finish within the timeout. */
	arm(p, bot_opt.timeout_s);
}

static void on_offer_answered(json_t *msg, const char *err, void *ud) {
	bot_peer *p = ud;
	if(p->done)
		return;
	const char *e = reply_error(msg, err);
	const char *sdp = e == NULL ? reply_sdp(msg, "answer") : NULL;
	if(e != NULL || sdp == NULL) {
		peer_fail(p, e != NULL ? e : "bad_answer");
		return;
	}
	p->t_join_sent = 0; /* from here a timeout is blamed on ICE/DTLS */
	arm(p, bot_opt.timeout_s);
	bot_pc_set_remote(p->pc, sdp);
}

/* Our SDP is ready: a publisher's offer, or a subscriber's answer. */
static void send_local_sdp(bot_peer *p, const char *sdp) {
	if(p->done)
		return;
	json_t *jsep =
		json_pack("{sssssb}", "type", p->role == ROLE_PUB ? "offer" : "answer", "sdp", sdp, "trickle", 0);
	json_t *body;
	if(is_sfu())
		body = json_object();
	else if(p->role == ROLE_PUB)
		body = json_pack("{sssbsb}", "request", "publish", "audio", 1, "video", 1);
	else
		body = json_pack("{ss}", "request", "start");
	bot_session_message(
		p->session, p->handle, body, jsep, p->role == ROLE_PUB ? on_offer_answered : on_answer_ack, p);
	json_decref(body);
	json_decref(jsep);
}

static void send_join(bot_peer *p);

static gboolean retry_join(gpointer ud) {
	bot_peer *p = ud;
	if(!p->done)
		send_join(p);
	return G_SOURCE_REMOVE;
}

static void on_joined(json_t *msg, const char *err, void *ud) {
	bot_peer *p = ud;
	if(p->done)
		return;
	const char *e = reply_error(msg, err);
	if(e != NULL && strcmp(e, "bad_answer") == 0 && !is_sfu() && p->role == ROLE_SUB &&
		p->join_retries < 20) {
		/* VideoRoom refuses a subscription until Janus has set up the publisher's media, which can lag
		 * behind the publisher's own view of its PeerConnection: ask again shortly. */
		p->join_retries++;
		g_timeout_add(100, retry_join, p);
		return;
	}
	if(e != NULL) {
		BOT_LOG("join of %s refused: %s\n", p->user, msg ? json_dumps(msg, JSON_COMPACT) : err);
		peer_fail(p, e);
		return;
	}
	gint64 now = bot_now_us();
	bot_latency_add(&bot_st.join_ms[p->role], (double)(now - p->t_join_sent) / 1000.0);
	if(p->role == ROLE_JOIN) {
		peer_up(p);
		return;
	}
	if(p->role == ROLE_PUB) {
		p->pc = bot_pc_new(TRUE, &pc_events, p); /* the offer goes out once gathered */
		arm(p, bot_opt.timeout_s);
		return;
	}
	/* subscriber: the result carries the offer */
	const char *sdp = reply_sdp(msg, "offer");
	if(sdp == NULL) {
		peer_fail(p, "bad_answer");
		return;
	}
	p->pc = bot_pc_new(FALSE, &pc_events, p);
	p->t_join_sent = 0;
	arm(p, bot_opt.timeout_s);
	bot_pc_set_remote(p->pc, sdp);
}

static json_t *join_body(bot_peer *p) {
	json_t *body;
	if(is_sfu()) {
		json_t *sub = p->role == ROLE_SUB ? json_pack("{ss}", "media", bot_publisher(p->pub)->user)
										  : json_pack("{sbsb}", "notifications", 1, "data", 1);
		body = json_pack("{sssssssoso}", "kind", "join", "room_id", p->room, "user_id", p->user, "subscribe",
			sub, "token", p->token != NULL ? json_string(p->token) : json_null());
	} else if(p->role == ROLE_SUB) {
		body = json_pack("{sssssIs[{sI}]}", "request", "join", "ptype", "subscriber", "room",
			(json_int_t)g_ascii_strtoll(p->room, NULL, 10), "streams", "feed", (json_int_t)(1000 + p->pub));
	} else {
		body = json_pack("{sssssIsIss}", "request", "join", "ptype", "publisher", "room",
			(json_int_t)g_ascii_strtoll(p->room, NULL, 10), "id",
			(json_int_t)(p->role == ROLE_PUB ? 1000 + p->index : 1000000 + p->index), "display", p->user);
	}
	return body;
}

static void on_attached(json_t *msg, const char *err, void *ud) {
	bot_peer *p = ud;
	if(p->done)
		return;
	const char *e = reply_error(msg, err);
	json_t *id = json_object_get(json_object_get(msg, "data"), "id");
	if(e != NULL || !json_is_integer(id)) {
		peer_fail(p, e != NULL ? e : "signalling");
		return;
	}
	p->handle = (guint64)json_integer_value(id);
	bot_session_listen(p->session, p->handle, on_handle_event, p);
	send_join(p);
}

static void send_join(bot_peer *p) {
	json_t *body = join_body(p);
	p->t_join_sent = bot_now_us();
	bot_session_message(p->session, p->handle, body, NULL, on_joined, p);
	json_decref(body);
}

static void on_session(json_t *msg, const char *err, void *ud) {
	bot_peer *p = ud;
	if(p->done)
		return;
	const char *e = reply_error(msg, err);
	if(e != NULL || bot_session_id(p->session) == 0) {
		peer_fail(p, e != NULL ? e : "signalling");
		return;
	}
	bot_session_attach(p->session, plugin_name(), on_attached, p);
}

void bot_flow_start(bot_peer *p) {
	p->t_start = bot_now_us();
	if(bot_st.first_start_us == 0)
		bot_st.first_start_us = p->t_start;
	bot_st.started[p->role]++;
	arm(p, bot_opt.timeout_s * 4);
	p->session = bot_session_new(on_session, p);
}

void bot_flow_stop(bot_peer *p) {
	if(p->timer != 0) {
		g_source_remove(p->timer);
		p->timer = 0;
	}
	p->done = TRUE;
	bot_session_close(p->session);
	p->session = NULL;
	bot_pc *pc = p->pc;
	bot_rx_lock(); /* the sender on the receive thread reads p->pc under this lock */
	p->pc = NULL;
	bot_rx_unlock();
	bot_pc_free(pc);
}

/* =============================================================================
 * VideoRoom rooms
 * ==========================================================================*/

typedef struct setup_ctx {
	bot_session *s;
	guint64 handle;
	int next, n, max_pub;
	void (*cb)(gboolean ok, void *ud);
	void *ud;
} setup_ctx;

static void setup_finish(setup_ctx *c, gboolean ok) {
	c->cb(ok, c->ud);
	bot_session_close(c->s);
	g_free(c);
}

static void create_next(setup_ctx *c);

static void on_room_created(json_t *msg, const char *err, void *ud) {
	setup_ctx *c = ud;
	json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
	if(msg == NULL || json_object_get(data, "error") != NULL) {
		g_printerr("sfu-bot: videoroom create failed: %s\n", msg ? json_dumps(data, JSON_COMPACT) : err);
		setup_finish(c, FALSE);
		return;
	}
	create_next(c);
}

static void create_next(setup_ctx *c) {
	if(c->next == c->n) {
		setup_finish(c, TRUE);
		return;
	}
	json_int_t room = (json_int_t)g_ascii_strtoll(bot_opt.room, NULL, 10) + c->next++;
	/* notify_joining: like janus.plugin.sfu, every join is announced to the room */
	json_t *body = json_pack("{sssIsisbsisssssb}", "request", "create", "room", room, "publishers",
		c->max_pub, "notify_joining", 1, "bitrate", 0, "audiocodec", "opus", "videocodec",
		bot_opt.vp8 ? "vp8" : "h264", "permanent", 0);
	bot_session_message(c->s, c->handle, body, NULL, on_room_created, c);
	json_decref(body);
}

static void on_setup_attached(json_t *msg, const char *err, void *ud) {
	setup_ctx *c = ud;
	json_t *id = json_object_get(json_object_get(msg, "data"), "id");
	if(reply_error(msg, err) != NULL || !json_is_integer(id)) {
		setup_finish(c, FALSE);
		return;
	}
	c->handle = (guint64)json_integer_value(id);
	create_next(c);
}

static void on_setup_session(json_t *msg, const char *err, void *ud) {
	setup_ctx *c = ud;
	if(reply_error(msg, err) != NULL || bot_session_id(c->s) == 0) {
		setup_finish(c, FALSE);
		return;
	}
	bot_session_attach(c->s, "janus.plugin.videoroom", on_setup_attached, c);
}

void bot_videoroom_setup(int nrooms, int max_publishers, void (*cb)(gboolean ok, void *ud), void *ud) {
	setup_ctx *c = g_new0(setup_ctx, 1);
	c->n = nrooms;
	c->max_pub = max_publishers;
	c->cb = cb;
	c->ud = ud;
	c->s = bot_session_new(on_setup_session, c);
}
