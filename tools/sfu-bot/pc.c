/*! \file pc.c
 * \brief sfu-bot: one PeerConnection as a browser puts it on the wire
 * \details ICE with libnice (one stream, one component: BUNDLE + rtcp-mux), no
 * trickle from our side (all candidates in the SDP), DTLS 1.2 with OpenSSL on
 * memory BIOs (client or server per a=setup, certificate fingerprint checked),
 * SRTP keys from "EXTRACTOR-dtls_srtp", SRTP (AES-CM-SHA1-80 or AEAD-AES-128-GCM,
 * whichever DTLS selected) with OpenSSL contexts keyed once (libsrtp2 with
 * --libsrtp-rx/--libsrtp-tx). Offers are sendonly audio (Opus) and video (H.264
 * 42e01f or VP8); answers accept audio and video recvonly and reject every other
 * m-line with port 0. Incoming RTCP is dropped, not decrypted. Once DTLS is done
 * the media leaves libnice for the fast path ("Media fast path" below).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include "bot.h"
#include "srtp.h"

#include <agent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <srtp2/srtp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define PT_OPUS 111
#define PT_H264 102
#define PT_VP8  96
#define MTU     1200

/* =============================================================================
 * Process-wide DTLS identity
 * ==========================================================================*/

static SSL_CTX *ssl_ctx;
static char local_fp[128];

static int verify_any(int ok, X509_STORE_CTX *ctx) {
	(void)ok;
	(void)ctx;
	return 1; /* self-signed: the fingerprint is checked after the handshake */
}

static void fingerprint(X509 *cert, char *out, size_t outlen) {
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509_digest(cert, EVP_sha256(), md, &n);
	size_t o = 0;
	for(unsigned int i = 0; i < n && o + 4 < outlen; i++)
		o += (size_t)g_snprintf(out + o, outlen - o, i ? ":%02X" : "%02X", md[i]);
}

void bot_pc_global_init(void) {
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)g_random_int());
	X509_gmtime_adj(X509_getm_notBefore(cert), -86400);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400 * 30);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sfu-bot", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	X509_set_pubkey(cert, key);
	X509_sign(cert, key, EVP_sha256());
	fingerprint(cert, local_fp, sizeof(local_fp));

	ssl_ctx = SSL_CTX_new(DTLS_method());
	SSL_CTX_set_min_proto_version(ssl_ctx, DTLS1_2_VERSION);
	SSL_CTX_use_certificate(ssl_ctx, cert);
	SSL_CTX_use_PrivateKey(ssl_ctx, key);
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_any);
	SSL_CTX_set_read_ahead(ssl_ctx, 1);
	/* --srtp-only: also the legs where Janus is the DTLS server (and picks) use the profile */
	if(bot_opt.srtp_only)
		SSL_CTX_set_tlsext_use_srtp(
			ssl_ctx, bot_opt.gcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80");
	else
		SSL_CTX_set_tlsext_use_srtp(ssl_ctx, bot_opt.gcm ? "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
														 : "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM");
	X509_free(cert);
	EVP_PKEY_free(key);
	srtp_init();
}

/* =============================================================================
 * The PeerConnection object
 * ==========================================================================*/

typedef struct remote_media {
	char kind[16];
	int port;
	char proto[48];
	char fmts[96];
	char mid[32];
	int pt[BOT_STREAMS]; /* chosen payload type for audio/video */
	GString *rtpmap;     /* a=rtpmap/fmtp/rtcp-fb lines of the chosen pt */
} remote_media;

struct bot_pc {
	gboolean offerer;
	const bot_pc_events *ev;
	void *ud;
	NiceAgent *agent;
	guint stream;
	gboolean gathered, remote_set, ice_ok, dtls_client, dtls_done, failed;
	char remote_fp[128];
	SSL *ssl;
	BIO *rbio, *wbio;
	guint dtls_timer;
	srtp_t tx, rx;
	bot_srtp *orx, *otx; /* OpenSSL SRTP, else NULL: libsrtp2 */
	guint32 tx_roc[BOT_STREAMS];
	gboolean tx_any[BOT_STREAMS];
	/* fast path: a publisher's packets of one sender tick go out in one sendmmsg */
	guint8 (*txq)[12 + 1400 + 16];
	int txq_len[64], txq_n;
	gboolean srtp_ok;
	guint32 ssrc[BOT_STREAMS];
	guint16 rtp_seq[BOT_STREAMS];
	guint32 rtp_ts[BOT_STREAMS];
	int pt[BOT_STREAMS];
	char *pending_remote; /* remote offer waiting for gathering (answerer) */
	GPtrArray *remote_media;
	/* fast path (see "Media fast path" below): -1 while libnice carries the media */
	int fast_slot;
	int fast_fd;
	struct sockaddr_storage fast_remote;
	socklen_t fast_remote_len;
	char local_ufrag[260], local_pwd[260];
};

static void fast_take(bot_pc *pc);
static void fast_release(bot_pc *pc);
/* Held by the media receive thread (see "Media fast path") */
static GMutex fast_lock;

static void pc_fail(bot_pc *pc, const char *kind) {
	if(pc->failed || pc->srtp_ok)
		return;
	pc->failed = TRUE;
	pc->ev->failed(pc, kind, pc->ud);
}

/* Sends what OpenSSL wrote, one datagram per MTU's worth of whole records. */
static void dtls_flush(bot_pc *pc) {
	char *data = NULL;
	long len = BIO_get_mem_data(pc->wbio, &data);
	long off = 0;
	while(off < len) {
		long end = off;
		while(end + 13 <= len) {
			long rec = 13 + (((guint8)data[end + 11] << 8) | (guint8)data[end + 12]);
			if(end > off && end + rec - off > MTU)
				break;
			end += rec;
		}
		if(end == off)
			end = len; /* malformed: send the rest */
		nice_agent_send(pc->agent, pc->stream, 1, (guint)(end - off), data + off);
		off = end;
	}
	(void)BIO_reset(pc->wbio);
}

static gboolean install_srtp(bot_pc *pc) {
	SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(pc->ssl);
	if(prof == NULL)
		return FALSE;
	gboolean gcm = prof->id == SRTP_AEAD_AES_128_GCM;
	int klen = 16, slen = gcm ? 12 : 14;
	guint8 km[2 * (16 + 14)];
	if(SSL_export_keying_material(
		   pc->ssl, km, (size_t)(2 * (klen + slen)), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
		return FALSE;
	guint8 client[16 + 14], server[16 + 14];
	memcpy(client, km, (size_t)klen);
	memcpy(server, km + klen, (size_t)klen);
	memcpy(client + klen, km + 2 * klen, (size_t)slen);
	memcpy(server + klen, km + 2 * klen + slen, (size_t)slen);
	srtp_policy_t tx, rx;
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	if(gcm) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&tx.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&tx.rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&tx.rtp);
		srtp_crypto_policy_set_rtcp_default(&tx.rtcp);
	}
	rx.rtp = tx.rtp;
	rx.rtcp = tx.rtcp;
	tx.ssrc.type = ssrc_any_outbound;
	rx.ssrc.type = ssrc_any_inbound;
	tx.key = pc->dtls_client ? client : server;
	rx.key = pc->dtls_client ? server : client;
	tx.window_size = rx.window_size = 1024;
	if(srtp_create(&pc->tx, &tx) != srtp_err_status_ok)
		return FALSE;
	if(srtp_create(&pc->rx, &rx) != srtp_err_status_ok) {
		srtp_dealloc(pc->tx);
		pc->tx = NULL;
		return FALSE;
	}
	if(!bot_opt.libsrtp_rx)
		pc->orx = bot_srtp_new(pc->dtls_client ? server : client, gcm, FALSE);
	if(!bot_opt.libsrtp_tx)
		pc->otx = bot_srtp_new(pc->dtls_client ? client : server, gcm, TRUE);
	if(gcm)
		bot_st.srtp_gcm++;
	else
		bot_st.srtp_cm++;
	OPENSSL_cleanse(km, sizeof(km));
	OPENSSL_cleanse(client, sizeof(client));
	OPENSSL_cleanse(server, sizeof(server));
	return TRUE;
}

static void dtls_step(bot_pc *pc) {
	if(pc->dtls_done || pc->failed)
		return;
	int rc = SSL_do_handshake(pc->ssl);
	dtls_flush(pc);
	if(rc == 1) {
		pc->dtls_done = TRUE;
		if(pc->dtls_timer != 0) {
			g_source_remove(pc->dtls_timer);
			pc->dtls_timer = 0;
		}
		X509 *peer = SSL_get1_peer_certificate(pc->ssl);
		char fp[128] = "";
		if(peer != NULL) {
			fingerprint(peer, fp, sizeof(fp));
			X509_free(peer);
		}
		if(g_ascii_strcasecmp(fp, pc->remote_fp) != 0) {
			pc_fail(pc, "dtls");
			return;
		}
		if(!install_srtp(pc)) {
			pc_fail(pc, "dtls");
			return;
		}
		pc->srtp_ok = TRUE;
		fast_take(pc);
		pc->ev->up(pc, pc->ud);
		return;
	}
	int e = SSL_get_error(pc->ssl, rc);
	if(e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		BOT_LOG("dtls error %d: %s\n", e, ERR_reason_error_string(ERR_peek_last_error()));
		ERR_clear_error();
		pc_fail(pc, "dtls");
	}
}

static gboolean on_dtls_timer(gpointer data) {
	bot_pc *pc = data;
	if(pc->dtls_done || pc->failed) {
		pc->dtls_timer = 0;
		return G_SOURCE_REMOVE;
	}
	if(DTLSv1_handle_timeout(pc->ssl) > 0)
		dtls_flush(pc);
	return G_SOURCE_CONTINUE;
}

static void start_dtls(bot_pc *pc);

/* A DTLS record for this PeerConnection (handshake, then alerts/close_notify). */
static void dtls_input(bot_pc *pc, const guint8 *buf, int len) {
	if(bot_opt.stall_dtls)
		return;           /* --stall-dtls: the peer's handshake goes unanswered */
	if(pc->ssl == NULL) { /* the peer's ClientHello beat our ICE state change */
		pc->ice_ok = TRUE;
		start_dtls(pc);
	}
	BIO_write(pc->rbio, buf, len);
	if(!pc->dtls_done) {
		dtls_step(pc);
	} else {
		char tmp[2048];
		while(SSL_read(pc->ssl, tmp, sizeof(tmp)) > 0)
			; /* alerts/close_notify: nothing to do */
		dtls_flush(pc);
	}
}

/* An RTP or RTCP packet (first byte 128..191): SRTP unprotect, strip the
 * header, hand the payload over. Runs on the main thread (libnice path) or on
 * the receive thread (fast path, under fast_lock). */
static void rtp_input(bot_pc *pc, guint8 *p, int len, gint64 arrival_us) {
	if(len < 12 || !pc->srtp_ok)
		return;
	guint8 pt = p[1] & 0x7f;
	if(pt >= 64 && pt <= 95) /* RTCP (rtcp-mux, RFC 5761) */
		return;
	int n = len;
	if(pc->orx != NULL ? !bot_srtp_unprotect(pc->orx, p, &n)
					   : srtp_unprotect(pc->rx, p, &n) != srtp_err_status_ok) {
		bot_st.unprotect_fail++;
		return;
	}
	/* RTP header: 12 bytes + CSRCs + extension */
	int off = 12 + 4 * (p[0] & 0x0f);
	if((p[0] & 0x10) && off + 4 <= n)
		off += 4 + 4 * ((p[off + 2] << 8) | p[off + 3]);
	if(p[0] & 0x20 && n > off)
		n -= p[n - 1]; /* padding */
	if(off >= n)
		return;
	pc->ev->rtp(pc, p + off, n - off, arrival_us, pc->ud);
}

static void on_recv(NiceAgent *agent, guint stream, guint comp, guint len, gchar *buf, gpointer data) {
	(void)agent;
	(void)stream;
	(void)comp;
	bot_pc *pc = data;
	guint8 b0 = (guint8)buf[0];
	if(b0 >= 20 && b0 <= 63) /* DTLS (RFC 7983) */
		dtls_input(pc, (const guint8 *)buf, (int)len);
	else if(b0 >= 128 && b0 <= 191) {
		/* libnice may still dispatch a packet or two after fast_take (same main-loop
		 * iteration): the SRTP context and the counters are the receive thread's */
		g_mutex_lock(&fast_lock);
		rtp_input(pc, (guint8 *)buf, (int)len, bot_now_us());
		g_mutex_unlock(&fast_lock);
	}
}

/* =============================================================================
 * Media fast path
 *
 * libnice delivers every packet through a GSource per socket on the GLib main
 * loop: each wake-up polls every socket of the process, then dispatches one
 * packet per recvmsg. Once DTLS is done (ICE has long selected its pair), the
 * selected UDP socket is taken away from libnice:
 *  - the main loop's poll function (bot_pc_poll) leaves the socket out, so
 *    libnice never sees it again (it keeps sending its own keepalives on it);
 *  - one receive thread per process waits on an epoll set holding every taken
 *    socket, drains each ready socket with recvmmsg (up to FAST_BATCH datagrams
 *    per call) and demultiplexes by first byte (RFC 7983): RTP is unprotected
 *    and counted right there, DTLS goes back to the main thread, STUN Binding
 *    requests (Janus's consent / keepalive checks) are answered here with a
 *    Binding success response carrying XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY
 *    (HMAC-SHA1 keyed with our ice-pwd) and FINGERPRINT, as libnice would;
 *  - RTP is sent with sendto() on the same socket to the selected remote
 *    address: the same datagrams libnice would send.
 * The receive thread touches the counters and tracks of bot_st and the peers
 * under fast_lock (bot_pc_rx_lock), which the main thread takes around the
 * window's reset and the summary. --no-fastpath keeps libnice on the media path.
 * ==========================================================================*/

#define FAST_BATCH 32
#define FAST_BUF   2048

typedef struct fast_slot_t {
	bot_pc *pc;
	guint32 gen;
} fast_slot_t;

static int fast_epfd = -1;
static GThread *fast_thread;
static GArray *fast_slots; /* fast_slot_t; written by the main thread under fast_lock */
static GArray *fast_free;  /* free slot indexes */
static guint8 *fast_taken; /* fd -> 1 when the fast path owns it (main thread only) */
static int fast_taken_len, fast_taken_count;
static void (*fast_sender)(void);
static int fast_tick_ms, fast_timerfd = -1;
static gint fast_sender_on;
#define FAST_TIMER_KEY G_MAXUINT64

void bot_pc_set_sender(void (*fn)(void), int tick_ms) {
	fast_sender = fn;
	fast_tick_ms = tick_ms;
}

gboolean bot_pc_sender_in_thread(void) {
	return g_atomic_int_get(&fast_sender_on);
}

/* Main thread, fast_lock held, when the receive thread is created. */
static void fast_sender_start(void) {
	if(fast_sender == NULL || fast_tick_ms <= 0)
		return;
	fast_timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if(fast_timerfd < 0)
		return;
	struct itimerspec its = {{fast_tick_ms / 1000, (long)(fast_tick_ms % 1000) * 1000000},
		{fast_tick_ms / 1000, (long)(fast_tick_ms % 1000) * 1000000}};
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.u64 = FAST_TIMER_KEY;
	if(timerfd_settime(fast_timerfd, 0, &its, NULL) != 0 ||
		epoll_ctl(fast_epfd, EPOLL_CTL_ADD, fast_timerfd, &ev) != 0) {
		close(fast_timerfd);
		fast_timerfd = -1;
		return;
	}
	g_atomic_int_set(&fast_sender_on, TRUE);
}

void bot_pc_rx_lock(void) {
	g_mutex_lock(&fast_lock);
}

void bot_pc_rx_unlock(void) {
	g_mutex_unlock(&fast_lock);
}

/* CRC-32 (ISO 3309, as zlib), for STUN FINGERPRINT. */
static guint32 crc32_table[256];

static void crc32_init(void) {
	for(guint32 i = 0; i < 256; i++) {
		guint32 c = i;
		for(int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc32_table[i] = c;
	}
}

static guint32 crc32_buf(const guint8 *p, size_t n) {
	guint32 c = 0xffffffffu;
	for(size_t i = 0; i < n; i++)
		c = crc32_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

#define STUN_COOKIE      0x2112a442u
#define STUN_FP_XOR      0x5354554eu
#define STUN_USERNAME    0x0006
#define STUN_INTEGRITY   0x0008
#define STUN_XOR_MAPPED  0x0020
#define STUN_FINGERPRINT 0x8028

static guint16 rd16(const guint8 *p) {
	return (guint16)((p[0] << 8) | p[1]);
}

static guint32 rd32(const guint8 *p) {
	return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

static void wr16(guint8 *p, guint16 v) {
	p[0] = (guint8)(v >> 8);
	p[1] = (guint8)v;
}

static void wr32(guint8 *p, guint32 v) {
	p[0] = (guint8)(v >> 24);
	p[1] = (guint8)(v >> 16);
	p[2] = (guint8)(v >> 8);
	p[3] = (guint8)v;
}

/* HMAC-SHA1 of msg[0..len) with the header's length field replaced by
 * stun_len (RFC 5389 15.4: the length counts up to the end of MESSAGE-INTEGRITY). */
static void stun_hmac(const bot_pc *pc, const guint8 *msg, size_t len, guint16 stun_len, guint8 out[20]) {
	guint8 tmp[FAST_BUF];
	memcpy(tmp, msg, len);
	wr16(tmp + 2, stun_len);
	unsigned int olen = 20;
	HMAC(EVP_sha1(), pc->local_pwd, (int)strlen(pc->local_pwd), tmp, len, out, &olen);
}

/* A STUN message on a taken socket. Binding requests from the peer that carry
 * our ufrag and a valid MESSAGE-INTEGRITY get a success response; indications
 * and anything else are dropped (libnice on our side sends only indications as
 * keepalives, so no response is expected back). Receive thread, fast_lock held. */
static void stun_input(bot_pc *pc, const guint8 *m, int len, const struct sockaddr *from, socklen_t fromlen) {
	if(len < 20 || (m[0] & 0xc0) != 0 || rd32(m + 4) != STUN_COOKIE || 20 + rd16(m + 2) != len)
		return;
	guint16 type = rd16(m);
	if(type != 0x0001) { /* indication, or a response to a request libnice no longer sends */
		bot_st.stun_other++;
		return;
	}
	int mi = -1, fp = -1;
	const guint8 *user = NULL;
	int user_len = 0;
	for(int off = 20; off + 4 <= len;) {
		guint16 at = rd16(m + off), al = rd16(m + off + 2);
		if(off + 4 + al > len)
			break;
		if(at == STUN_USERNAME && mi < 0) {
			user = m + off + 4;
			user_len = al;
		} else if(at == STUN_INTEGRITY && al == 20 && mi < 0) {
			mi = off;
		} else if(at == STUN_FINGERPRINT && al == 4) {
			fp = off;
		}
		off += 4 + ((al + 3) & ~3);
	}
	size_t ul = strlen(pc->local_ufrag);
	gboolean ok = mi >= 0 && user != NULL && (size_t)user_len > ul && user[ul] == ':' &&
				  memcmp(user, pc->local_ufrag, ul) == 0;
	if(ok && fp >= 0)
		ok = (crc32_buf(m, (size_t)fp) ^ STUN_FP_XOR) == rd32(m + fp + 4);
	if(ok) {
		guint8 mac[20];
		stun_hmac(pc, m, (size_t)mi, (guint16)(mi + 24 - 20), mac);
		ok = CRYPTO_memcmp(mac, m + mi + 4, 20) == 0;
	}
	if(!ok) {
		bot_st.stun_rejected++;
		return;
	}
	guint8 r[128];
	wr16(r, 0x0101);
	wr32(r + 4, STUN_COOKIE);
	memcpy(r + 8, m + 8, 12); /* transaction id */
	int o = 20;
	wr16(r + o, STUN_XOR_MAPPED);
	if(from->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)from;
		wr16(r + o + 2, 8);
		r[o + 4] = 0;
		r[o + 5] = 0x01;
		wr16(r + o + 6, (guint16)(ntohs(a->sin_port) ^ (STUN_COOKIE >> 16)));
		wr32(r + o + 8, ntohl(a->sin_addr.s_addr) ^ STUN_COOKIE);
		o += 12;
	} else if(from->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from;
		wr16(r + o + 2, 20);
		r[o + 4] = 0;
		r[o + 5] = 0x02;
		wr16(r + o + 6, (guint16)(ntohs(a->sin6_port) ^ (STUN_COOKIE >> 16)));
		for(int i = 0; i < 16; i++) /* XOR with cookie + transaction id */
			r[o + 8 + i] = a->sin6_addr.s6_addr[i] ^ r[4 + i];
		o += 24;
	} else {
		return;
	}
	wr16(r + o, STUN_INTEGRITY);
	wr16(r + o + 2, 20);
	stun_hmac(pc, r, (size_t)o, (guint16)(o + 24 - 20), r + o + 4);
	o += 24;
	wr16(r + o, STUN_FINGERPRINT);
	wr16(r + o + 2, 4);
	wr16(r + 2, (guint16)(o + 8 - 20));
	wr32(r + o + 4, crc32_buf(r, (size_t)o) ^ STUN_FP_XOR);
	o += 8;
	wr16(r + 2, (guint16)(o - 20));
	if(sendto(pc->fast_fd, r, (size_t)o, 0, from, fromlen) == o)
		bot_st.stun_answered++;
}

/* DTLS records that reach the receive thread are handled on the main thread. */
typedef struct fast_dtls_msg {
	guint slot;
	guint32 gen;
	int len;
	guint8 data[];
} fast_dtls_msg;

static gboolean fast_dtls_main(gpointer data) {
	fast_dtls_msg *d = data;
	/* fast_slots only changes on this (main) thread: no lock needed to read it */
	if(d->slot < fast_slots->len) {
		fast_slot_t *s = &g_array_index(fast_slots, fast_slot_t, d->slot);
		if(s->pc != NULL && s->gen == d->gen)
			dtls_input(s->pc, d->data, d->len);
	}
	return G_SOURCE_REMOVE;
}

/* Reads everything pending on one taken socket. fast_lock held. */
static void fast_drain(bot_pc *pc, guint slot, guint32 gen) {
	static guint8 bufs[FAST_BATCH][FAST_BUF];
	static struct sockaddr_storage from[FAST_BATCH];
	static struct iovec iov[FAST_BATCH];
	static struct mmsghdr msgs[FAST_BATCH];
	static union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct timespec))];
	} ctl[FAST_BATCH];
	for(;;) {
		for(int i = 0; i < FAST_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = FAST_BUF;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
		}
		int n = recvmmsg(pc->fast_fd, msgs, FAST_BATCH, MSG_DONTWAIT, NULL);
		if(n <= 0)
			return; /* EAGAIN, or an error libnice would also just skip */
		bot_st.rx_syscalls++;
		/* SO_TIMESTAMPNS is CLOCK_REALTIME: map it onto the monotonic clock */
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		gint64 now = bot_now_us();
		gint64 mono_minus_real = now - ((gint64)rt.tv_sec * 1000000 + rt.tv_nsec / 1000);
		for(int i = 0; i < n; i++) {
			guint8 *b = bufs[i];
			int len = (int)msgs[i].msg_len;
			if(len <= 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
				continue;
			guint8 b0 = b[0];
			if(b0 >= 128 && b0 <= 191) {
				gint64 arrival = now;
				struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
				if(c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(c), sizeof(ts));
					arrival = (gint64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + mono_minus_real;
				}
				rtp_input(pc, b, len, arrival);
			} else if(b0 <= 3) {
				stun_input(pc, b, len, (struct sockaddr *)&from[i], msgs[i].msg_hdr.msg_namelen);
			} else if(b0 >= 20 && b0 <= 63) {
				fast_dtls_msg *d = g_malloc(sizeof(*d) + (size_t)len);
				d->slot = slot;
				d->gen = gen;
				d->len = len;
				memcpy(d->data, b, (size_t)len);
				g_main_context_invoke_full(NULL, G_PRIORITY_DEFAULT, fast_dtls_main, d, g_free);
			}
		}
		if(n < FAST_BATCH)
			return;
	}
}

static gpointer fast_thread_main(gpointer data) {
	(void)data;
	struct epoll_event ev[64];
	for(;;) {
		int n = epoll_wait(fast_epfd, ev, G_N_ELEMENTS(ev), -1);
		if(n < 0) {
			if(errno == EINTR)
				continue;
			g_printerr("sfu-bot: epoll_wait: %s\n", g_strerror(errno));
			return NULL;
		}
		g_mutex_lock(&fast_lock);
		bot_st.rx_wakeups++;
		gboolean tick = FALSE;
		for(int i = 0; i < n; i++) {
			if(ev[i].data.u64 == FAST_TIMER_KEY) {
				guint64 expirations;
				tick = read(fast_timerfd, &expirations, sizeof(expirations)) > 0;
				continue;
			}
			guint slot = (guint)(ev[i].data.u64 & 0xffffffffu);
			guint32 gen = (guint32)(ev[i].data.u64 >> 32);
			if(slot >= fast_slots->len)
				continue;
			fast_slot_t *s = &g_array_index(fast_slots, fast_slot_t, slot);
			if(s->pc != NULL && s->gen == gen) /* else released since epoll_wait returned */
				fast_drain(s->pc, slot, gen);
		}
		if(tick)
			fast_sender();
		g_mutex_unlock(&fast_lock);
		if(bot_opt.rx_batch_us > 0) { /* --rx-batch-us: let packets accumulate */
			struct timespec ts = {
				bot_opt.rx_batch_us / 1000000, (long)(bot_opt.rx_batch_us % 1000000) * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* Takes the selected UDP socket away from libnice. Main thread, once DTLS is done. */
static void fast_take(bot_pc *pc) {
	if(bot_opt.no_fastpath || pc->fast_slot >= 0)
		return;
	NiceCandidate *lc = NULL, *rc = NULL;
	if(!nice_agent_get_selected_pair(pc->agent, pc->stream, 1, &lc, &rc) || lc == NULL || rc == NULL)
		return;
	if(lc->transport != NICE_CANDIDATE_TRANSPORT_UDP || lc->type == NICE_CANDIDATE_TYPE_RELAYED)
		return;
	GSocket *gs = nice_agent_get_selected_socket(pc->agent, pc->stream, 1);
	if(gs == NULL)
		return;
	int fd = g_socket_get_fd(gs);
	gboolean dgram = g_socket_get_socket_type(gs) == G_SOCKET_TYPE_DATAGRAM;
	g_object_unref(gs); /* the agent keeps its own reference until bot_pc_free */
	if(fd < 0 || !dgram)
		return;
	int on = 1; /* the kernel's receive time, for the one-way delay */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	memset(&pc->fast_remote, 0, sizeof(pc->fast_remote));
	nice_address_copy_to_sockaddr(&rc->addr, (struct sockaddr *)&pc->fast_remote);
	pc->fast_remote_len =
		pc->fast_remote.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	gchar *ufrag = NULL, *pwd = NULL;
	if(!nice_agent_get_local_credentials(pc->agent, pc->stream, &ufrag, &pwd)) {
		g_free(ufrag);
		g_free(pwd);
		return;
	}
	g_strlcpy(pc->local_ufrag, ufrag, sizeof(pc->local_ufrag));
	g_strlcpy(pc->local_pwd, pwd, sizeof(pc->local_pwd));
	g_free(ufrag);
	g_free(pwd);

	g_mutex_lock(&fast_lock);
	if(fast_epfd < 0) {
		fast_epfd = epoll_create1(EPOLL_CLOEXEC);
		fast_slots = g_array_new(FALSE, TRUE, sizeof(fast_slot_t));
		fast_free = g_array_new(FALSE, FALSE, sizeof(guint));
		crc32_init();
	}
	guint slot;
	if(fast_free->len > 0) {
		slot = g_array_index(fast_free, guint, fast_free->len - 1);
		g_array_set_size(fast_free, fast_free->len - 1);
	} else {
		slot = fast_slots->len;
		g_array_set_size(fast_slots, slot + 1);
	}
	fast_slot_t *s = &g_array_index(fast_slots, fast_slot_t, slot);
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.u64 = ((guint64)s->gen << 32) | slot;
	pc->fast_fd = fd;
	if(fast_epfd < 0 || epoll_ctl(fast_epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		g_array_append_val(fast_free, slot);
		g_mutex_unlock(&fast_lock);
		return; /* libnice keeps carrying the media */
	}
	s->pc = pc;
	pc->fast_slot = (int)slot;
	if(fd >= fast_taken_len) {
		int nl = MAX(fd + 1, fast_taken_len * 2);
		fast_taken = g_realloc(fast_taken, (gsize)nl);
		memset(fast_taken + fast_taken_len, 0, (size_t)(nl - fast_taken_len));
		fast_taken_len = nl;
	}
	fast_taken[fd] = 1;
	fast_taken_count++;
	bot_st.fast_peers++;
	if(fast_thread == NULL) {
		fast_sender_start();
		fast_thread = g_thread_new("sfu-bot-rx", fast_thread_main, NULL);
	}
	g_mutex_unlock(&fast_lock);
}

/* Gives the socket back to libnice (before freeing, or when the pair changes). */
static void fast_release(bot_pc *pc) {
	if(pc->fast_slot < 0)
		return;
	g_mutex_lock(&fast_lock);
	epoll_ctl(fast_epfd, EPOLL_CTL_DEL, pc->fast_fd, NULL);
	fast_slot_t *s = &g_array_index(fast_slots, fast_slot_t, pc->fast_slot);
	s->pc = NULL;
	s->gen++;
	guint slot = (guint)pc->fast_slot;
	g_array_append_val(fast_free, slot);
	fast_taken[pc->fast_fd] = 0;
	fast_taken_count--;
	g_mutex_unlock(&fast_lock);
	pc->fast_slot = -1;
	pc->fast_fd = -1;
}

static void on_selected_pair(
	NiceAgent *agent, guint stream, guint comp, NiceCandidate *l, NiceCandidate *r, gpointer data) {
	(void)agent;
	(void)stream;
	(void)comp;
	(void)l;
	(void)r;
	bot_pc *pc = data;
	if(pc->fast_slot < 0)
		return;
	BOT_LOG("selected pair changed after the fast path took over: re-taking\n");
	fast_release(pc);
	fast_take(pc);
}

gint bot_pc_poll(GPollFD *fds, guint nfds, gint timeout, GPollFunc next) {
	if(fast_taken_count == 0)
		return next(fds, nfds, timeout);
	static GPollFD *sub;
	static guint *map;
	static guint cap;
	if(nfds > cap) {
		cap = MAX(nfds, cap * 2);
		sub = g_renew(GPollFD, sub, cap);
		map = g_renew(guint, map, cap);
	}
	guint m = 0;
	for(guint i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if(fds[i].fd >= 0 && fds[i].fd < fast_taken_len && fast_taken[fds[i].fd])
			continue;
		sub[m] = fds[i];
		map[m++] = i;
	}
	gint n = next(sub, m, timeout);
	for(guint j = 0; j < m; j++)
		fds[map[j]].revents = sub[j].revents;
	return n;
}

/* DTLS retransmission: start at 100 ms (OpenSSL's default is 1 s, which a
 * ClientHello sent before the other side's ICE is ready would cost), doubling. */
static unsigned int dtls_timer_cb(SSL *ssl, unsigned int previous_us) {
	(void)ssl;
	return previous_us == 0 ? 100000 : MIN(previous_us * 2, 2000000);
}

static void start_dtls(bot_pc *pc) {
	pc->ssl = SSL_new(ssl_ctx);
	pc->rbio = BIO_new(BIO_s_mem());
	pc->wbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(pc->rbio, -1);
	BIO_set_mem_eof_return(pc->wbio, -1);
	SSL_set_bio(pc->ssl, pc->rbio, pc->wbio);
	SSL_set_options(pc->ssl, SSL_OP_NO_QUERY_MTU);
	SSL_set_mtu(pc->ssl, MTU);
	DTLS_set_timer_cb(pc->ssl, dtls_timer_cb);
	if(pc->dtls_client)
		SSL_set_connect_state(pc->ssl);
	else
		SSL_set_accept_state(pc->ssl);
	pc->dtls_timer = g_timeout_add(20, on_dtls_timer, pc);
	if(pc->dtls_client)
		dtls_step(pc);
}

static void on_state(NiceAgent *agent, guint stream, guint comp, guint state, gpointer data) {
	(void)agent;
	(void)stream;
	(void)comp;
	bot_pc *pc = data;
	if((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) && !pc->ice_ok) {
		pc->ice_ok = TRUE;
		if(!bot_opt.stall_dtls) /* --stall-dtls: ICE done, DTLS never starts */
			start_dtls(pc);
	} else if(state == NICE_COMPONENT_STATE_FAILED) {
		pc_fail(pc, pc->ice_ok ? "dtls" : "ice");
	}
}

/* =============================================================================
 * SDP
 * ==========================================================================*/

static void append_transport(bot_pc *pc, GString *s, gboolean with_candidates, const char *setup) {
	gchar *ufrag = NULL, *pwd = NULL;
	nice_agent_get_local_credentials(pc->agent, pc->stream, &ufrag, &pwd);
	g_string_append_printf(s,
		"c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
		"a=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
		ufrag, pwd, local_fp, setup);
	g_free(ufrag);
	g_free(pwd);
	if(!with_candidates)
		return;
	GSList *cands = nice_agent_get_local_candidates(pc->agent, pc->stream, 1);
	for(GSList *l = cands; l != NULL; l = l->next) {
		gchar *line = nice_agent_generate_local_candidate_sdp(pc->agent, l->data);
		g_string_append_printf(s, "%s\r\n", line);
		g_free(line);
	}
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	g_string_append(s, "a=end-of-candidates\r\n");
}

static char *build_offer(bot_pc *pc) {
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
		"v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
		"a=msid-semantic: WMS bot\r\n",
		g_random_int());
	g_string_append_printf(s, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", PT_OPUS);
	append_transport(pc, s, TRUE, "actpass");
	g_string_append_printf(s,
		"a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:%d opus/48000/2\r\n"
		"a=fmtp:%d minptime=10;useinbandfec=1\r\na=ssrc:%u cname:bot\r\na=ssrc:%u msid:bot a0\r\n",
		PT_OPUS, PT_OPUS, pc->ssrc[0], pc->ssrc[0]);
	int vpt = bot_opt.vp8 ? PT_VP8 : PT_H264;
	g_string_append_printf(s, "m=video 9 UDP/TLS/RTP/SAVPF %d\r\n", vpt);
	append_transport(pc, s, FALSE, "actpass");
	g_string_append_printf(s, "a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\n");
	if(bot_opt.vp8)
		g_string_append_printf(s, "a=rtpmap:%d VP8/90000\r\n", vpt);
	else
		g_string_append_printf(s,
			"a=rtpmap:%d H264/90000\r\na=fmtp:%d level-asymmetry-allowed=1;packetization-mode=1;"
			"profile-level-id=42e01f\r\n",
			vpt, vpt);
	g_string_append_printf(s,
		"a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n"
		"a=ssrc:%u cname:bot\r\na=ssrc:%u msid:bot v0\r\n",
		vpt, vpt, vpt, pc->ssrc[1], pc->ssrc[1]);
	pc->pt[0] = PT_OPUS;
	pc->pt[1] = vpt;
	return g_string_free(s, FALSE);
}

static void remote_media_free(gpointer data) {
	remote_media *m = data;
	g_string_free(m->rtpmap, TRUE);
	g_free(m);
}

/* Parses the remote SDP: transport attributes into pc, m-lines into
 * pc->remote_media, candidates into the agent. FALSE if something vital is missing. */
static gboolean parse_remote(bot_pc *pc, const char *sdp) {
	char ufrag[256] = "", pwd[256] = "", setup[32] = "";
	gchar **lines = g_strsplit(sdp, "\n", -1);
	remote_media *cur = NULL;
	GSList *cands = NULL;
	int cand_mline = -1, mline = -1;
	g_ptr_array_set_size(pc->remote_media, 0);
	for(gchar **l = lines; *l != NULL; l++) {
		g_strchomp(*l);
		const char *a = *l;
		if(g_str_has_prefix(a, "m=")) {
			cur = g_new0(remote_media, 1);
			cur->rtpmap = g_string_new(NULL);
			cur->pt[0] = cur->pt[1] = -1;
			sscanf(a + 2, "%15s %d %47s %95[^\n]", cur->kind, &cur->port, cur->proto, cur->fmts);
			g_ptr_array_add(pc->remote_media, cur);
			mline++;
		} else if(sscanf(a, "a=ice-ufrag:%255s", ufrag) == 1 || sscanf(a, "a=ice-pwd:%255s", pwd) == 1) {
			continue;
		} else if(g_str_has_prefix(a, "a=fingerprint:sha-256 ")) {
			g_strlcpy(pc->remote_fp, a + 22, sizeof(pc->remote_fp));
		} else if(sscanf(a, "a=setup:%31s", setup) == 1) {
			continue;
		} else if(cur != NULL && sscanf(a, "a=mid:%31s", cur->mid) == 1) {
			continue;
		} else if(g_str_has_prefix(a, "a=candidate:") && (cand_mline < 0 || cand_mline == mline)) {
			cand_mline = mline;
			NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(pc->agent, pc->stream, a);
			if(c != NULL)
				cands = g_slist_append(cands, c);
		} else if(cur != NULL && g_str_has_prefix(a, "a=rtpmap:")) {
			int pt = atoi(a + 9);
			const char *enc = strchr(a, ' ');
			int want = -1;
			if(enc != NULL && g_ascii_strncasecmp(enc + 1, "opus/", 5) == 0)
				want = 0;
			else if(enc != NULL && (g_ascii_strncasecmp(enc + 1, "H264/", 5) == 0 ||
									   g_ascii_strncasecmp(enc + 1, "VP8/", 4) == 0))
				want = 1;
			if(want >= 0 && cur->pt[want] < 0) {
				cur->pt[want] = pt;
				g_string_append_printf(cur->rtpmap, "%s\r\n", a);
			}
		} else if(cur != NULL && (g_str_has_prefix(a, "a=fmtp:") || g_str_has_prefix(a, "a=rtcp-fb:"))) {
			int pt = atoi(a + (a[2] == 'f' ? 7 : 10));
			if(pt == cur->pt[0] || pt == cur->pt[1])
				g_string_append_printf(cur->rtpmap, "%s\r\n", a);
		}
	}
	g_strfreev(lines);
	if(ufrag[0] == '\0' || pwd[0] == '\0' || pc->remote_fp[0] == '\0' || pc->remote_media->len == 0) {
		g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
		return FALSE;
	}
	/* a=setup: the answerer's "active" makes us the DTLS server; our answers are always active */
	pc->dtls_client = pc->offerer ? strcmp(setup, "active") != 0 : TRUE;
	nice_agent_set_remote_credentials(pc->agent, pc->stream, ufrag, pwd);
	if(cands != NULL)
		nice_agent_set_remote_candidates(pc->agent, pc->stream, 1, cands);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	return TRUE;
}

/* Answer to a remote offer: audio/video recvonly, everything else port 0. */
static char *build_answer(bot_pc *pc) {
	GString *s = g_string_new(NULL);
	GString *bundle = g_string_new("a=group:BUNDLE");
	for(guint i = 0; i < pc->remote_media->len; i++) {
		remote_media *m = g_ptr_array_index(pc->remote_media, i);
		int st = strcmp(m->kind, "audio") == 0 ? 0 : (strcmp(m->kind, "video") == 0 ? 1 : -1);
		if(st >= 0 && m->port != 0 && m->pt[st] >= 0)
			g_string_append_printf(bundle, " %s", m->mid);
	}
	g_string_append_printf(
		s, "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%s\r\n", g_random_int(), bundle->str);
	g_string_free(bundle, TRUE);
	gboolean first = TRUE;
	for(guint i = 0; i < pc->remote_media->len; i++) {
		remote_media *m = g_ptr_array_index(pc->remote_media, i);
		int st = strcmp(m->kind, "audio") == 0 ? 0 : (strcmp(m->kind, "video") == 0 ? 1 : -1);
		if(st < 0 || m->port == 0 || m->pt[st] < 0) {
			g_string_append_printf(s, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind, m->proto, m->fmts);
			if(m->mid[0] != '\0')
				g_string_append_printf(s, "a=mid:%s\r\n", m->mid);
			continue;
		}
		g_string_append_printf(s, "m=%s 9 %s %d\r\n", m->kind, m->proto, m->pt[st]);
		append_transport(pc, s, first, "active");
		first = FALSE;
		g_string_append_printf(s, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\n%s", m->mid, m->rtpmap->str);
		pc->pt[st] = m->pt[st];
	}
	return g_string_free(s, FALSE);
}

/* The answer we got to our offer: is what we send accepted? */
static gboolean check_answer(bot_pc *pc) {
	gboolean any = FALSE;
	for(guint i = 0; i < pc->remote_media->len && i < BOT_STREAMS; i++) {
		remote_media *m = g_ptr_array_index(pc->remote_media, i);
		if(m->port != 0 && m->pt[i] >= 0) {
			pc->pt[i] = m->pt[i];
			any = TRUE;
		} else {
			pc->pt[i] = -1;
		}
	}
	return any;
}

static void on_gathered(NiceAgent *agent, guint stream, gpointer data) {
	(void)agent;
	(void)stream;
	bot_pc *pc = data;
	if(pc->gathered)
		return;
	pc->gathered = TRUE;
	char *sdp = NULL;
	if(pc->offerer) {
		sdp = build_offer(pc);
	} else if(pc->pending_remote != NULL) {
		char *remote = pc->pending_remote;
		pc->pending_remote = NULL;
		if(!bot_pc_set_remote(pc, remote)) {
			g_free(remote);
			return;
		}
		g_free(remote);
		return;
	}
	if(sdp != NULL) {
		pc->ev->local_sdp(pc, sdp, pc->ud);
		g_free(sdp);
	}
}

bot_pc *bot_pc_new(gboolean offerer, const bot_pc_events *ev, void *ud) {
	bot_pc *pc = g_new0(bot_pc, 1);
	pc->offerer = offerer;
	pc->ev = ev;
	pc->ud = ud;
	pc->remote_media = g_ptr_array_new_with_free_func(remote_media_free);
	pc->fast_slot = -1;
	pc->fast_fd = -1;
	for(int i = 0; i < BOT_STREAMS; i++) {
		pc->ssrc[i] = g_random_int();
		pc->rtp_seq[i] = (guint16)g_random_int();
		pc->rtp_ts[i] = g_random_int();
		pc->pt[i] = -1;
	}
	pc->agent =
		nice_agent_new_full(g_main_context_default(), NICE_COMPATIBILITY_RFC5245, NICE_AGENT_OPTION_NONE);
	g_object_set(pc->agent, "controlling-mode", offerer, "ice-tcp", FALSE, "upnp", FALSE, NULL);
	if(bot_opt.ice_ip != NULL) {
		NiceAddress addr;
		nice_address_init(&addr);
		if(nice_address_set_from_string(&addr, bot_opt.ice_ip))
			nice_agent_add_local_address(pc->agent, &addr);
	}
	pc->stream = nice_agent_add_stream(pc->agent, 1);
	g_signal_connect(pc->agent, "candidate-gathering-done", G_CALLBACK(on_gathered), pc);
	g_signal_connect(pc->agent, "component-state-changed", G_CALLBACK(on_state), pc);
	g_signal_connect(pc->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), pc);
	nice_agent_attach_recv(pc->agent, pc->stream, 1, g_main_context_default(), on_recv, pc);
	if(!nice_agent_gather_candidates(pc->agent, pc->stream)) {
		pc->failed = TRUE; /* reported by the caller's timeout */
	}
	return pc;
}

gboolean bot_pc_set_remote(bot_pc *pc, const char *sdp) {
	if(!pc->offerer && !pc->gathered) {
		g_free(pc->pending_remote);
		pc->pending_remote = g_strdup(sdp);
		return TRUE;
	}
	if(pc->remote_set || !parse_remote(pc, sdp)) {
		pc_fail(pc, "bad_answer");
		return FALSE;
	}
	pc->remote_set = TRUE;
	if(pc->offerer) {
		if(!check_answer(pc)) {
			pc_fail(pc, "bad_answer");
			return FALSE;
		}
		return TRUE;
	}
	char *answer = build_answer(pc);
	pc->ev->local_sdp(pc, answer, pc->ud);
	g_free(answer);
	return TRUE;
}

void bot_pc_add_remote_candidate(bot_pc *pc, const char *cand) {
	char *line = g_strdup_printf("a=%s", cand);
	NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(pc->agent, pc->stream, line);
	g_free(line);
	if(c == NULL)
		return;
	GSList *l = g_slist_append(NULL, c);
	nice_agent_set_remote_candidates(pc->agent, pc->stream, 1, l);
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
}

#define TXQ_MAX 64

int bot_pc_flush(bot_pc *pc) {
	int sent = 0;
	while(pc->txq_n > 0 && sent < pc->txq_n) {
		struct mmsghdr msgs[TXQ_MAX];
		struct iovec iov[TXQ_MAX];
		int m = pc->txq_n - sent;
		for(int i = 0; i < m; i++) {
			iov[i].iov_base = pc->txq[sent + i];
			iov[i].iov_len = (size_t)pc->txq_len[sent + i];
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &pc->fast_remote;
			msgs[i].msg_hdr.msg_namelen = pc->fast_remote_len;
		}
		int r = sendmmsg(pc->fast_fd, msgs, (unsigned int)m, 0);
		if(r <= 0)
			break; /* what libnice does with a failed send: drop it */
		sent += r;
		bot_st.tx_syscalls++;
	}
	pc->txq_n = 0;
	return sent;
}

gboolean bot_pc_send(bot_pc *pc, bot_stream st, const guint8 *payload, int len, gboolean marker) {
	if(!pc->srtp_ok || pc->pt[st] < 0 || len > 1400)
		return FALSE;
	guint8 stack_buf[12 + 1400 + SRTP_MAX_TRAILER_LEN];
	guint8 *buf = stack_buf;
	if(pc->fast_slot >= 0) { /* build it in the send queue */
		if(pc->txq == NULL)
			pc->txq = g_malloc(sizeof(*pc->txq) * TXQ_MAX);
		if(pc->txq_n == TXQ_MAX)
			bot_pc_flush(pc);
		buf = pc->txq[pc->txq_n];
	}
	guint16 seq = pc->rtp_seq[st]++;
	if(seq == 0 && pc->tx_any[st])
		pc->tx_roc[st]++; /* RFC 3711 3.3.1: the sequence number wrapped */
	pc->tx_any[st] = TRUE;
	guint32 ts = pc->rtp_ts[st];
	pc->rtp_ts[st] += st == BOT_STREAM_AUDIO ? 960 : 3000;
	buf[0] = 0x80;
	buf[1] = (guint8)((marker ? 0x80 : 0) | pc->pt[st]);
	buf[2] = (guint8)(seq >> 8);
	buf[3] = (guint8)seq;
	buf[4] = (guint8)(ts >> 24);
	buf[5] = (guint8)(ts >> 16);
	buf[6] = (guint8)(ts >> 8);
	buf[7] = (guint8)ts;
	buf[8] = (guint8)(pc->ssrc[st] >> 24);
	buf[9] = (guint8)(pc->ssrc[st] >> 16);
	buf[10] = (guint8)(pc->ssrc[st] >> 8);
	buf[11] = (guint8)pc->ssrc[st];
	memcpy(buf + 12, payload, (size_t)len);
	int n = 12 + len;
	if(pc->otx != NULL ? !bot_srtp_protect(pc->otx, buf, &n, pc->tx_roc[st])
					   : srtp_protect(pc->tx, buf, &n) != srtp_err_status_ok)
		return FALSE;
	if(pc->fast_slot >= 0) { /* the datagram libnice would send, without its locking and look-ups */
		pc->txq_len[pc->txq_n++] = n;
		return TRUE;
	}
	return nice_agent_send(pc->agent, pc->stream, 1, (guint)n, (const gchar *)buf) == n;
}

const char *bot_pc_stuck_phase(const bot_pc *pc) {
	return pc->ice_ok ? "dtls" : "ice";
}

void bot_pc_free(bot_pc *pc) {
	if(pc == NULL)
		return;
	fast_release(pc); /* before the SRTP contexts go: the receive thread may be using them */
	if(pc->dtls_timer != 0)
		g_source_remove(pc->dtls_timer);
	if(pc->ssl != NULL)
		SSL_free(pc->ssl); /* frees the BIOs */
	if(pc->tx != NULL)
		srtp_dealloc(pc->tx);
	if(pc->rx != NULL)
		srtp_dealloc(pc->rx);
	bot_srtp_free(pc->orx);
	bot_srtp_free(pc->otx);
	g_free(pc->txq);
	nice_agent_attach_recv(pc->agent, pc->stream, 1, g_main_context_default(), NULL, NULL);
	g_signal_handlers_disconnect_by_data(pc->agent, pc);
	nice_agent_remove_stream(pc->agent, pc->stream);
	g_object_unref(pc->agent);
	g_ptr_array_free(pc->remote_media, TRUE);
	g_free(pc->pending_remote);
	g_free(pc);
}
