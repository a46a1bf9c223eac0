/*! \file rx.c
 * \brief sfu-bot: the media fast path (see rx.h)
 * \details libnice delivers every packet through a GSource per socket on the GLib
 * main loop: each wake-up polls every socket of the process, then dispatches one
 * packet per recvmsg. Once DTLS is done (ICE has long selected its pair), pc.c
 * hands the selected UDP socket over to this module:
 *  - the main loop's poll function (bot_rx_poll) leaves the socket out, so
 *    libnice never sees it again (it keeps sending its own keepalives on it);
 *  - one receive thread per process waits on an epoll set holding every taken
 *    socket, drains each ready socket with recvmmsg (up to FAST_BATCH datagrams
 *    per call) and demultiplexes by first byte (RFC 7983): RTP is handed to the
 *    peer's rtp handler (SRTP unprotect and counting, in pc.c) right there, DTLS
 *    goes back to the main thread, STUN Binding requests (Janus's consent /
 *    keepalive checks) are answered here with a Binding success response carrying
 *    XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY (HMAC-SHA1 keyed with our ice-pwd) and
 *    FINGERPRINT, as libnice would;
 *  - RTP is sent with sendmmsg() on the same socket to the selected remote
 *    address: the same datagrams libnice would send.
 * The receive thread touches the counters and tracks of bot_st and the peers
 * under fast_lock (bot_rx_lock), which the main thread takes around the
 * window's reset and the summary. --no-fastpath keeps libnice on the media path.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#endif
#include "rx.h"
#include "bot.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

struct bot_rx_peer {
	int fd;
	guint slot;
	struct sockaddr_storage remote;
	socklen_t remote_len;
	char ufrag[260], pwd[260];
	const bot_rx_handlers *h;
	void *ud;
};

/* Held by the media receive thread while it drains sockets and runs the sender */
static GMutex fast_lock;

#define FAST_BATCH 32
#define FAST_BUF   2048

typedef struct fast_slot_t {
	bot_rx_peer *peer;
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

void bot_rx_set_sender(void (*fn)(void), int tick_ms) {
	fast_sender = fn;
	fast_tick_ms = tick_ms;
}

gboolean bot_rx_sender_in_thread(void) {
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

void bot_rx_lock(void) {
	g_mutex_lock(&fast_lock);
}

void bot_rx_unlock(void) {
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
static void stun_hmac(
	const bot_rx_peer *pr, const guint8 *msg, size_t len, guint16 stun_len, guint8 out[20]) {
	guint8 tmp[FAST_BUF];
	memcpy(tmp, msg, len);
	wr16(tmp + 2, stun_len);
	unsigned int olen = 20;
	HMAC(EVP_sha1(), pr->pwd, (int)strlen(pr->pwd), tmp, len, out, &olen);
}

/* A STUN message on a taken socket. Binding requests from the peer that carry
 * our ufrag and a valid MESSAGE-INTEGRITY get a success response; indications
 * and anything else are dropped (libnice on our side sends only indications as
 * keepalives, so no response is expected back). Receive thread, fast_lock held. */
static void stun_input(
	bot_rx_peer *pr, const guint8 *m, int len, const struct sockaddr *from, socklen_t fromlen) {
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
	size_t ul = strlen(pr->ufrag);
	gboolean ok = mi >= 0 && user != NULL && (size_t)user_len > ul && user[ul] == ':' &&
				  memcmp(user, pr->ufrag, ul) == 0;
	if(ok && fp >= 0)
		ok = (crc32_buf(m, (size_t)fp) ^ STUN_FP_XOR) == rd32(m + fp + 4);
	if(ok) {
		guint8 mac[20];
		stun_hmac(pr, m, (size_t)mi, (guint16)(mi + 24 - 20), mac);
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
	stun_hmac(pr, r, (size_t)o, (guint16)(o + 24 - 20), r + o + 4);
	o += 24;
	wr16(r + o, STUN_FINGERPRINT);
	wr16(r + o + 2, 4);
	wr16(r + 2, (guint16)(o + 8 - 20));
	wr32(r + o + 4, crc32_buf(r, (size_t)o) ^ STUN_FP_XOR);
	o += 8;
	wr16(r + 2, (guint16)(o - 20));
	if(sendto(pr->fd, r, (size_t)o, 0, from, fromlen) == o)
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
		if(s->peer != NULL && s->gen == d->gen)
			s->peer->h->dtls(s->peer->ud, d->data, d->len);
	}
	return G_SOURCE_REMOVE;
}

/* Reads everything pending on one taken socket. fast_lock held. */
static void fast_drain(bot_rx_peer *pr, guint slot, guint32 gen) {
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
		int n = recvmmsg(pr->fd, msgs, FAST_BATCH, MSG_DONTWAIT, NULL);
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
				pr->h->rtp(pr->ud, b, len, arrival);
			} else if(b0 <= 3) {
				stun_input(pr, b, len, (struct sockaddr *)&from[i], msgs[i].msg_hdr.msg_namelen);
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
			if(s->peer != NULL && s->gen == gen) /* else released since epoll_wait returned */
				fast_drain(s->peer, slot, gen);
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

/* =============================================================================
 * Taking and releasing sockets; sending
 * ==========================================================================*/

gboolean bot_rx_take(bot_rx_peer **out, int fd, const struct sockaddr *remote, socklen_t remote_len,
	const char *ufrag, const char *pwd, const bot_rx_handlers *h, void *ud) {
	int on = 1; /* the kernel's receive time, for the one-way delay */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	bot_rx_peer *pr = g_new0(bot_rx_peer, 1);
	pr->fd = fd;
	memcpy(&pr->remote, remote, MIN((size_t)remote_len, sizeof(pr->remote)));
	pr->remote_len = remote_len;
	g_strlcpy(pr->ufrag, ufrag, sizeof(pr->ufrag));
	g_strlcpy(pr->pwd, pwd, sizeof(pr->pwd));
	pr->h = h;
	pr->ud = ud;

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
	if(fast_epfd < 0 || epoll_ctl(fast_epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		g_array_append_val(fast_free, slot);
		g_mutex_unlock(&fast_lock);
		OPENSSL_cleanse(pr->pwd, sizeof(pr->pwd));
		g_free(pr);
		return FALSE;
	}
	s->peer = pr;
	pr->slot = slot;
	*out = pr;
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
	return TRUE;
}

void bot_rx_release(bot_rx_peer **peer) {
	bot_rx_peer *pr = *peer;
	if(pr == NULL)
		return;
	g_mutex_lock(&fast_lock);
	epoll_ctl(fast_epfd, EPOLL_CTL_DEL, pr->fd, NULL);
	fast_slot_t *s = &g_array_index(fast_slots, fast_slot_t, pr->slot);
	s->peer = NULL;
	s->gen++;
	g_array_append_val(fast_free, pr->slot);
	fast_taken[pr->fd] = 0;
	fast_taken_count--;
	*peer = NULL;
	g_mutex_unlock(&fast_lock);
	OPENSSL_cleanse(pr->pwd, sizeof(pr->pwd));
	g_free(pr);
}

#define SEND_BATCH 64

int bot_rx_send(bot_rx_peer *pr, struct iovec *iov, int n) {
	int sent = 0;
	while(sent < n) {
		struct mmsghdr msgs[SEND_BATCH];
		int m = MIN(n - sent, SEND_BATCH);
		for(int i = 0; i < m; i++) {
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[sent + i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &pr->remote;
			msgs[i].msg_hdr.msg_namelen = pr->remote_len;
		}
		int r = sendmmsg(pr->fd, msgs, (unsigned int)m, 0);
		if(r <= 0)
			break; /* what libnice does with a failed send: drop it */
		sent += r;
		bot_st.tx_syscalls++;
	}
	return sent;
}

gint bot_rx_poll(GPollFD *fds, guint nfds, gint timeout, GPollFunc next) {
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
