/*! \file bot.h
 * \brief sfu-bot: a headless WebRTC load client for Janus (shared types)
 * \details sfu-bot speaks the Janus HTTP API (long-poll), does ICE with libnice,
 * DTLS-SRTP with OpenSSL (SRTP with OpenSSL, or libsrtp2), and sends/receives RTP
 * whose payload carries a magic, a sequence number and a monotonic send
 * timestamp, so that a subscriber in the same process measures loss and one-way
 * delay. Signalling, ICE and DTLS run on one GMainLoop (the default main
 * context). Once a PeerConnection is up, its media moves to the media fast path
 * (rx.c): one receive thread per process reads every selected socket from one
 * epoll set and also runs the sender ticks.
 *
 * Modules: http.c (libcurl multi on GLib + Janus sessions), pc.c (one
 * PeerConnection: ICE, DTLS, key export), srtp.c (SRTP with OpenSSL), rx.c
 * (media fast path: receive thread, recvmmsg/sendmmsg, STUN answers), sdp.c
 * (offer/answer text), flows.c (signalling per plugin and role), stats.c
 * (counters, histograms, JSON summary), procstat.c (Janus threads, drops,
 * load), main.c (options, ramp, timeline).
 */
#ifndef SFU_BOT_H
#define SFU_BOT_H

#include <glib.h>
#include <jansson.h>
#include <stdint.h>

/* =============================================================================
 * Options
 * ==========================================================================*/

typedef enum { BOT_PLUGIN_SFU, BOT_PLUGIN_VIDEOROOM } bot_plugin;

typedef struct bot_options {
	char *url; /* Janus HTTP API base, e.g. http://10.99.0.1:8088/janus */
	bot_plugin plugin;
	char *room;      /* room name (sfu) or first numeric room id (videoroom) */
	int publishers;  /* P */
	int subscribers; /* S per publisher */
	int join_only;   /* participants that only join (no media): join storm */
	int room_size;   /* join storm: participants per room (0 = one room) */
	int mesh;        /* full-mesh rooms of this many participants (0 = off): each publisher
	                  * subscribes to the others of its room, naf-style; S = mesh - 1 */
	int audio_pps, video_pps;
	int audio_size, video_size; /* RTP payload bytes */
	gboolean vp8;               /* video codec VP8 instead of H.264 */
	gboolean gcm;               /* offer AEAD_AES_128_GCM first */
	gboolean srtp_only;         /* offer only the preferred SRTP profile */
	double duration_s;          /* measurement window once everybody is up */
	double settle_s;            /* media before the window opens, once everybody is up */
	double ramp;                /* peer starts per second (0 = no pacing) */
	int concurrency;            /* peers being set up at once (0 = unlimited) */
	double timeout_s;           /* per request and per ICE/DTLS phase */
	double ramp_timeout_s;      /* give up waiting for stragglers after this */
	char *token;                /* one token for everybody */
	char *token_cmd;            /* command minting one token: %r = room, %u = user */
	char *ice_ip;               /* only this local address for ICE */
	char *json_path;            /* also write the summary here */
	int watch_pid;              /* Janus pid: CPU and RSS over the window */
	int tick_ms;                /* sender tick */
	int batch_us;               /* sleep before each poll while measuring */
	gboolean no_fastpath;       /* keep libnice on the media path */
	int rx_batch_us;            /* receive thread: sleep after each drain */
	gboolean libsrtp_rx;        /* unprotect with libsrtp2 instead of OpenSSL */
	gboolean libsrtp_tx;        /* protect with libsrtp2 instead of OpenSSL */
	int verbose;
	/* long runs (make soak): --duration 0 runs until SIGINT/SIGTERM, which also end any window early */
	double progress_s;   /* one JSON line {"progress":{...}} on stdout every N s (0 = none) */
	char *user_prefix;   /* prepended to every user id (several bots in one room) */
	gboolean stall_dtls; /* fault injection: finish ICE, then never answer or start DTLS */
} bot_options;

extern bot_options bot_opt;

/* Monotonic clock in microseconds (g_get_monotonic_time). */
static inline gint64 bot_now_us(void) {
	return g_get_monotonic_time();
}

/* =============================================================================
 * HTTP + Janus API (http.c)
 * ==========================================================================*/

typedef struct bot_session bot_session;

/* Result of a request: msg is the Janus reply (synchronous "success", or the
 * asynchronous "event" of a message), borrowed for the duration of the call;
 * NULL on transport error or timeout, with err set to a short reason. */
typedef void (*bot_reply_cb)(json_t *msg, const char *err, void *ud);
/* Unsolicited messages for a handle (webrtcup, hangup, trickle, event w/o transaction). */
typedef void (*bot_handle_cb)(json_t *msg, void *ud);

void bot_http_init(void);
void bot_http_cleanup(void);
/*! \brief Creates a Janus session and starts its long-poll; cb gets the "success" reply. */
bot_session *bot_session_new(bot_reply_cb cb, void *ud);
guint64 bot_session_id(const bot_session *s);
/*! \brief Attaches a handle; the handle id is in msg.data.id. */
void bot_session_attach(bot_session *s, const char *plugin, bot_reply_cb cb, void *ud);
/*! \brief Listener for unsolicited messages of one handle (NULL cb removes it). */
void bot_session_listen(bot_session *s, guint64 handle, bot_handle_cb cb, void *ud);
/*! \brief Sends a plugin message; body and jsep are borrowed (jsep may be NULL).
 * cb gets the event carrying the same transaction, or a synchronous reply. */
void bot_session_message(
	bot_session *s, guint64 handle, json_t *body, json_t *jsep, bot_reply_cb cb, void *ud);
/*! \brief Destroys the Janus session (fire and forget) and frees s once idle. */
void bot_session_close(bot_session *s);
/*! \brief Requests still in flight over all sessions. */
int bot_http_in_flight(void);

/* =============================================================================
 * PeerConnection (pc.c)
 * ==========================================================================*/

typedef struct bot_pc bot_pc;

typedef enum { BOT_STREAM_AUDIO = 0, BOT_STREAM_VIDEO = 1, BOT_STREAMS = 2 } bot_stream;

typedef struct bot_pc_events {
	void (*local_sdp)(bot_pc *pc, const char *sdp, void *ud); /* offer or answer ready */
	void (*up)(bot_pc *pc, void *ud);                         /* SRTP keys installed */
	void (*failed)(bot_pc *pc, const char *kind, void *ud);   /* "ice", "dtls", "bad_answer" */
	/* decrypted RTP payload; arrival_us: when the datagram reached our socket
	 * (the kernel's receive time on the fast path), bot_now_us() clock */
	void (*rtp)(bot_pc *pc, const guint8 *payload, int len, gint64 arrival_us, void *ud);
} bot_pc_events;

void bot_pc_global_init(void);
/*! \brief New PeerConnection; offerer=TRUE builds a sendonly audio+video offer once gathering ends. */
bot_pc *bot_pc_new(gboolean offerer, const bot_pc_events *ev, void *ud);
/*! \brief Applies the remote SDP (answer for an offerer, offer for an answerer). FALSE if unusable. */
gboolean bot_pc_set_remote(bot_pc *pc, const char *sdp);
/*! \brief Adds a trickled remote candidate ("candidate:..." without "a="). */
void bot_pc_add_remote_candidate(bot_pc *pc, const char *cand);
/*! \brief Sends one RTP packet of the stream with the given payload; FALSE if not up. */
gboolean bot_pc_send(bot_pc *pc, bot_stream st, const guint8 *payload, int len, gboolean marker);
/*! \brief Sends what bot_pc_send queued on the fast path (one sendmmsg); returns the count sent. */
int bot_pc_flush(bot_pc *pc);
/*! \brief "ice" until ICE connected, then "dtls": what a setup timeout is blamed on. */
const char *bot_pc_stuck_phase(const bot_pc *pc);
void bot_pc_free(bot_pc *pc);

/* =============================================================================
 * Payload format and statistics (stats.c)
 * ==========================================================================*/

#define BOT_MAGIC   0x53464242u /* "SFBB" */
/* Payload: [codec byte][magic u32][publisher u32][stream u8][seq u32][send time u64 us][padding] */
#define BOT_HDR_LEN 22

typedef struct bot_track {
	gboolean seen;
	guint32 first_seq, max_seq;
	guint64 unique, dups, reordered;
	guint64 bits[16]; /* last 1024 sequence numbers below max_seq */
} bot_track;

typedef struct bot_latency {
	GArray *ms; /* doubles */
} bot_latency;

#define BOT_LATE_SECONDS 120
typedef struct bot_stats {
	/* peers */
	int started[3], up[3], failed_signalling[3], failed_ice[3], failed_dtls[3], bad_answer[3], timeouts[3];
	bot_latency join_ms[3], connect_ms[3], media_ms[3];
	gint64 first_start_us, last_join_us;
	/* media */
	guint64 tx_packets, tx_bytes, rx_packets, rx_bytes, rx_bad, rx_foreign, unprotect_fail;
	guint64 win_rx_packets, win_tx_packets;
	/* media fast path (rx.c) */
	guint64 fast_peers, rx_wakeups, rx_syscalls, tx_syscalls, stun_answered, stun_rejected, stun_other;
	guint64 win_rx_wakeups, win_rx_syscalls, win_tx_syscalls; /* values at the window's start */
	int srtp_cm, srtp_gcm;                                    /* PeerConnections per SRTP profile */
	guint32 delay_hist[20001];                                /* 10 us buckets up to 200 ms, then overflow */
	guint64 delay_n, delay_max_us;
	gint64 win_start_us;                  /* when the window opened (bot_stats_reset_window) */
	guint32 late_per_s[BOT_LATE_SECONDS]; /* packets delayed > 50 ms, per second of the window */
} bot_stats;

enum { ROLE_PUB = 0, ROLE_SUB = 1, ROLE_JOIN = 2 };
extern bot_stats bot_st;
extern const char *const bot_role_names[3];

void bot_latency_add(bot_latency *l, double ms);
/*! \brief Records one received payload on a track; returns the decoded publisher index or -1. */
int bot_payload_parse(const guint8 *p, int len, int *stream, guint32 *seq, gint64 *sent_us);
void bot_payload_fill(guint8 *p, int len, guint8 codec_byte, int pub, int stream, guint32 seq);
void bot_track_add(bot_track *t, guint32 seq);
void bot_delay_add(gint64 us);
void bot_stats_reset_window(void);
/*! \brief Builds the summary; expected_fn gives a track's expected packet count. */
json_t *bot_stats_summary(json_t *extra);
double bot_cpu_us(void);

/* =============================================================================
 * Janus threads, network drops and machine load over the window (procstat.c)
 * ==========================================================================*/

void bot_proc_window_start(void);
void bot_proc_window_end(void);
/*! \brief Adds "janus_threads", "net" (with --watch-pid) and "machine_load" to out. */
void bot_proc_summary(json_t *out);

/* =============================================================================
 * Peers and flows (flows.c)
 * ==========================================================================*/

typedef struct bot_peer bot_peer;
struct bot_peer {
	int index;  /* publisher index, or subscriber/joiner index */
	int role;   /* ROLE_* */
	int pub;    /* publisher index the subscriber follows (subscriber) */
	char *user; /* user id */
	char *room; /* room (string for sfu, decimal for videoroom) */
	char *token;
	bot_session *session;
	guint64 handle;
	bot_pc *pc;
	gint64 t_start, t_join_sent;
	int join_retries; /* VideoRoom subscriber joins retried while the feed is not yet published */
	guint timer;      /* phase timeout */
	gboolean done;    /* reached a final state (up or failed) */
	gboolean is_up;
	gboolean webrtcup, media_up;
	/* publisher */
	guint32 seq[BOT_STREAMS];
	guint64 sent[BOT_STREAMS];
	gint64 send_start_us;
	/* subscriber */
	bot_track track[BOT_STREAMS];
};

/*! \brief Starts the connection sequence; bot_flow_finished() is called once, up or failed. */
void bot_flow_start(bot_peer *p);
void bot_flow_stop(bot_peer *p);
/*! \brief Creates the VideoRoom rooms needed (n rooms from room id base), then calls cb. */
void bot_videoroom_setup(int nrooms, int max_publishers, void (*cb)(gboolean ok, void *ud), void *ud);
/* main.c */
void bot_flow_finished(bot_peer *p);
bot_peer *bot_publisher(int index);

#define BOT_LOG(...)                                                                                         \
	do {                                                                                                     \
		if(bot_opt.verbose)                                                                                  \
			g_printerr(__VA_ARGS__);                                                                         \
	} while(0)

#endif
