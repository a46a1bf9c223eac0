/*! \file rx.h
 * \brief sfu-bot: the media fast path (one receive thread, recvmmsg/sendmmsg, RFC 7983 demux, STUN answers)
 * \details Once a PeerConnection's DTLS is done, its selected UDP socket is taken away
 * from libnice and handed to this module (bot_rx_take): one receive thread per
 * process waits on an epoll set holding every taken socket, drains each ready one
 * with recvmmsg and demultiplexes by first byte (RFC 7983). RTP/RTCP goes to the
 * peer's rtp handler right there, DTLS to its dtls handler on the main thread,
 * and STUN Binding requests carrying our ufrag and a valid MESSAGE-INTEGRITY are
 * answered here, as libnice would. The same thread runs the sender ticks
 * (bot_rx_set_sender). The main loop's poll function (bot_rx_poll) leaves the
 * taken sockets out, so libnice never reads them again.
 *
 * Threads and locks: bot_rx_take, bot_rx_release and bot_rx_poll are for the main
 * thread. The receive thread holds the rx lock (bot_rx_lock) while it calls the
 * rtp handler and the sender, and updates bot_st; the main thread takes it to
 * read or reset bot_st and the peers' tracks. bot_rx_take and bot_rx_release take
 * it themselves: call them without it.
 */
#ifndef SFU_BOT_RX_H
#define SFU_BOT_RX_H

#include <glib.h>
#include <sys/socket.h>
#include <sys/uio.h>

typedef struct bot_rx_peer bot_rx_peer;

typedef struct bot_rx_handlers {
	/*! An RTP or RTCP datagram (first byte 128..191), writable in place; arrival_us is the kernel's
	 * receive time on the bot_now_us() clock. Receive thread, rx lock held. */
	void (*rtp)(void *ud, guint8 *p, int len, gint64 arrival_us);
	/*! A DTLS record (first byte 20..63). Main thread, only while the peer is still taken. */
	void (*dtls)(void *ud, const guint8 *p, int len);
} bot_rx_handlers;

/*! \brief Hands a connected UDP socket over to the receive thread (started on first use).
 * @param[out] out set to the new peer under the rx lock (so the sender never sees a half-made one)
 * @param[in] fd the socket; it stays libnice's, which keeps sending its keepalives on it
 * @param[in] remote,remote_len the selected remote address: where bot_rx_send sends, to whom STUN answers go
 * @param[in] ufrag,pwd our ICE credentials (copied): STUN requests are checked against them
 * @param[in] h,ud the handlers (h must outlive the peer) and their argument
 * @returns FALSE (and *out untouched) if the socket cannot be added: libnice keeps carrying the media */
gboolean bot_rx_take(bot_rx_peer **out, int fd, const struct sockaddr *remote, socklen_t remote_len,
	const char *ufrag, const char *pwd, const bot_rx_handlers *h, void *ud);

/*! \brief Gives the socket back to libnice and frees the peer; sets *peer to NULL under the rx lock.
 * No handler of this peer runs after it returns. NULL *peer is fine. Main thread, rx lock not held. */
void bot_rx_release(bot_rx_peer **peer);

/*! \brief Sends n datagrams to the peer's remote address with sendmmsg, as libnice would send them.
 * @returns how many left; a failed send drops the rest (what libnice does with a failed send) */
int bot_rx_send(bot_rx_peer *peer, struct iovec *iov, int n);

/*! \brief The rx lock: held by the receive thread while it updates bot_st and the peers' tracks. */
void bot_rx_lock(void);
void bot_rx_unlock(void);

/*! \brief Once the receive thread runs, it calls fn every tick_ms with the rx lock held (a timerfd in
 * its epoll set); bot_rx_sender_in_thread() then says so, and the main loop's sender timer stops. */
void bot_rx_set_sender(void (*fn)(void), int tick_ms);
gboolean bot_rx_sender_in_thread(void);

/*! \brief The main loop's poll function: leaves out the taken sockets, then calls next
 * (g_poll or a batching wrapper). */
gint bot_rx_poll(GPollFD *fds, guint nfds, gint timeout, GPollFunc next);

#endif
