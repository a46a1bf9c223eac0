/*! \file pc.c
 * \brief sfu-bot: one PeerConnection as a browser puts it on the wire
 * \details ICE with libnice (one stream, one component: BUNDLE + rtcp-mux), no
 * trickle from our side (all candidates in the SDP), DTLS 1.2 with OpenSSL on
 * memory BIOs (client or server per a=setup, certificate fingerprint checked),
 * SRTP keys from "EXTRACTOR-dtls_srtp", SRTP (AES-CM-SHA1-80 or AEAD-AES-128-GCM,
 * whichever DTLS selected) with OpenSSL contexts keyed once (srtp.c; libsrtp2 with
 * --libsrtp-rx/--libsrtp-tx). The SDP text is sdp.c's. Incoming RTCP is dropped,
 * not decrypted. Once DTLS is done the media leaves libnice for the fast path
 * (rx.c): pc.c hands it the selected socket.
 */
#include "bot.h"
#include "rx.h"
#include "sdp.h"
#include "srtp.h"

#include <agent.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <srtp2/srtp.h>
#include <string.h>
#include <sys/socket.h>

#define MTU 1200

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
	bot_rx_peer *fast;    /* the media fast path (rx.c), NULL while libnice carries the media */
};

static void fast_take(bot_pc *pc);

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
 * the receive thread (fast path, under bot_rx_lock). */
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
		bot_rx_lock();
		rtp_input(pc, (guint8 *)buf, (int)len, bot_now_us());
		bot_rx_unlock();
	}
}

/* =============================================================================
 * Media fast path (rx.c): handing the selected socket over
 * ==========================================================================*/

static void fast_rtp(void *ud, guint8 *p, int len, gint64 arrival_us) {
	rtp_input(ud, p, len, arrival_us);
}

static void fast_dtls(void *ud, const guint8 *p, int len) {
	dtls_input(ud, p, len);
}

static const bot_rx_handlers fast_handlers = {fast_rtp, fast_dtls};

/* Takes the selected UDP socket away from libnice. Main thread, once DTLS is done. */
static void fast_take(bot_pc *pc) {
	if(bot_opt.no_fastpath || pc->fast != NULL)
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
	struct sockaddr_storage remote;
	memset(&remote, 0, sizeof(remote));
	nice_address_copy_to_sockaddr(&rc->addr, (struct sockaddr *)&remote);
	socklen_t remote_len =
		remote.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	gchar *ufrag = NULL, *pwd = NULL;
	if(nice_agent_get_local_credentials(pc->agent, pc->stream, &ufrag, &pwd)) /* else libnice keeps it */
		bot_rx_take(&pc->fast, fd, (struct sockaddr *)&remote, remote_len, ufrag, pwd, &fast_handlers, pc);
	g_free(ufrag);
	g_free(pwd);
}

static void on_selected_pair(
	NiceAgent *agent, guint stream, guint comp, NiceCandidate *l, NiceCandidate *r, gpointer data) {
	(void)agent;
	(void)stream;
	(void)comp;
	(void)l;
	(void)r;
	bot_pc *pc = data;
	if(pc->fast == NULL)
		return;
	BOT_LOG("selected pair changed after the fast path took over: re-taking\n");
	bot_rx_release(&pc->fast);
	fast_take(pc);
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
 * SDP (sdp.c): our transport in, the peer's out
 * ==========================================================================*/

/* Our transport as sdp.c writes it: ICE credentials, fingerprint, candidate lines (owned here). */
typedef struct local_transport {
	gchar *ufrag, *pwd, *candidates;
	bot_sdp_local l;
} local_transport;

static void local_get(bot_pc *pc, local_transport *lt) {
	nice_agent_get_local_credentials(pc->agent, pc->stream, &lt->ufrag, &lt->pwd);
	GString *c = g_string_new(NULL);
	GSList *cands = nice_agent_get_local_candidates(pc->agent, pc->stream, 1);
	for(GSList *l = cands; l != NULL; l = l->next) {
		gchar *line = nice_agent_generate_local_candidate_sdp(pc->agent, l->data);
		g_string_append_printf(c, "%s\r\n", line);
		g_free(line);
	}
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
	lt->candidates = g_string_free(c, FALSE);
	lt->l = (bot_sdp_local){lt->ufrag, lt->pwd, local_fp, lt->candidates};
}

static void local_clear(local_transport *lt) {
	g_free(lt->ufrag);
	g_free(lt->pwd);
	g_free(lt->candidates);
}

/* The peer's transport: fingerprint and DTLS role into pc, credentials and candidates into the agent. */
static void remote_apply(bot_pc *pc, const bot_sdp_remote *r) {
	const bot_sdp_transport *t = bot_sdp_remote_transport(r);
	g_strlcpy(pc->remote_fp, t->fingerprint, sizeof(pc->remote_fp));
	/* a=setup: the answerer's "active" makes us the DTLS server; our answers are always active */
	pc->dtls_client = pc->offerer ? strcmp(t->setup, "active") != 0 : TRUE;
	nice_agent_set_remote_credentials(pc->agent, pc->stream, t->ufrag, t->pwd);
	GSList *cands = NULL;
	for(gchar **line = t->candidates; *line != NULL; line++) {
		NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(pc->agent, pc->stream, *line);
		if(c != NULL)
			cands = g_slist_append(cands, c);
	}
	if(cands != NULL)
		nice_agent_set_remote_candidates(pc->agent, pc->stream, 1, cands);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
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
		local_transport lt = {0};
		local_get(pc, &lt);
		sdp = bot_sdp_offer(&lt.l, pc->ssrc, bot_opt.vp8, pc->pt);
		local_clear(&lt);
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
	bot_sdp_remote *r = pc->remote_set ? NULL : bot_sdp_parse(sdp);
	if(r == NULL) {
		pc_fail(pc, "bad_answer");
		return FALSE;
	}
	remote_apply(pc, r);
	pc->remote_set = TRUE;
	if(pc->offerer) {
		gboolean ok = bot_sdp_check_answer(r, pc->pt);
		bot_sdp_remote_free(r);
		if(!ok) {
			pc_fail(pc, "bad_answer");
			return FALSE;
		}
		return TRUE;
	}
	local_transport lt = {0};
	local_get(pc, &lt);
	char *answer = bot_sdp_answer(r, &lt.l, pc->pt);
	local_clear(&lt);
	bot_sdp_remote_free(r);
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
	struct iovec iov[TXQ_MAX];
	for(int i = 0; i < pc->txq_n; i++) {
		iov[i].iov_base = pc->txq[i];
		iov[i].iov_len = (size_t)pc->txq_len[i];
	}
	int sent = pc->txq_n > 0 && pc->fast != NULL ? bot_rx_send(pc->fast, iov, pc->txq_n) : 0;
	pc->txq_n = 0;
	return sent;
}

gboolean bot_pc_send(bot_pc *pc, bot_stream st, const guint8 *payload, int len, gboolean marker) {
	if(!pc->srtp_ok || pc->pt[st] < 0 || len > 1400)
		return FALSE;
	guint8 stack_buf[12 + 1400 + SRTP_MAX_TRAILER_LEN];
	guint8 *buf = stack_buf;
	if(pc->fast != NULL) { /* build it in the send queue */
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
	if(pc->fast != NULL) { /* the datagram libnice would send, without its locking and look-ups */
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
	bot_rx_release(&pc->fast); /* before the SRTP contexts go: the receive thread may be using them */
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
	g_free(pc->pending_remote);
	g_free(pc);
}
