/*! \file srtp.h
 * \brief sfu-bot: SRTP with OpenSSL (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM), RTP only
 * \details One bot_srtp protects or unprotects the RTP packets of one direction
 * of a PeerConnection, byte for byte as libsrtp2 does (tests/unit/test-bot-srtp.c
 * holds it to that and to the RFC 3711 / RFC 7714 test vectors). Keys are
 * derived and the OpenSSL contexts keyed once, in bot_srtp_new. No RTCP, no MKI,
 * no key derivation rate other than 0.
 *
 * Threads: a bot_srtp is not locked; one thread at a time may use it (in
 * sfu-bot: the receive thread or the main thread, under bot_rx_lock).
 */
#ifndef SFU_BOT_SRTP_H
#define SFU_BOT_SRTP_H

#include <glib.h>

/*! \brief Bytes an SRTP packet is longer than its RTP packet, at the most (the GCM tag). */
#define BOT_SRTP_MAX_TRAILER 16
/*! \brief Replay window of the receiving side, in packets (libsrtp2's window_size as sfu-bot sets it). */
#define BOT_SRTP_WINDOW      1024

typedef struct bot_srtp bot_srtp;

/*! \brief New context from the master key and master salt, as DTLS-SRTP exports them.
 * @param[in] key 16-byte master key followed by the master salt: 14 bytes (AES-CM), 12 bytes (GCM;
 *            zero-padded to 14 for the key derivation, as libsrtp2 does)
 * @param[in] gcm TRUE for AEAD_AES_128_GCM, FALSE for AES_CM_128_HMAC_SHA1_80
 * @param[in] enc TRUE to protect (sending side), FALSE to unprotect (receiving side)
 * @returns a new context (bot_srtp_free), or NULL when OpenSSL fails */
bot_srtp *bot_srtp_new(const guint8 *key, gboolean gcm, gboolean enc);

/*! \brief New context from session keys, skipping the key derivation (the RFC test vectors give these).
 * @param[in] ek 16-byte session encryption key
 * @param[in] ak 20-byte session authentication key (AES-CM); ignored for GCM, may be NULL
 * @param[in] salt session salt: 14 bytes (AES-CM), 12 bytes (GCM)
 * @returns a new context (bot_srtp_free), or NULL when OpenSSL fails */
bot_srtp *bot_srtp_new_session(
	const guint8 *ek, const guint8 *ak, const guint8 *salt, gboolean gcm, gboolean enc);

/*! \brief Frees ctx and wipes its keys; NULL is fine. */
void bot_srtp_free(bot_srtp *ctx);

/*! \brief Protects an RTP packet in place (header without extension: CSRCs are fine).
 * @param[in,out] p the packet; the buffer has room for BOT_SRTP_MAX_TRAILER more bytes
 * @param[in,out] len RTP length in, SRTP length out
 * @param[in] roc the sender's rollover counter for the packet's sequence number (RFC 3711 3.3.1)
 * @returns FALSE if the packet has an extension header or OpenSSL fails */
gboolean bot_srtp_protect(bot_srtp *ctx, guint8 *p, int *len, guint32 roc) G_GNUC_WARN_UNUSED_RESULT;

/*! \brief Unprotects an SRTP packet in place: estimates the ROC per SSRC (RFC 3711 3.3.1), checks
 * the 1024-packet replay window, authenticates, decrypts; the state only moves on success.
 * A first packet of an SSRC starts a stream at ROC 0, as libsrtp2's ssrc_any_inbound does.
 * @param[in,out] len SRTP length in, RTP length out
 * @returns FALSE if too short, replayed, too old or not authentic */
gboolean bot_srtp_unprotect(bot_srtp *ctx, guint8 *p, int *len) G_GNUC_WARN_UNUSED_RESULT;

/*! \brief RFC 3711 4.3.3 AES-CM PRF with key derivation rate 0: len (at most 32) bytes for label.
 * @param[in] mkey 16-byte master key
 * @param[in] msalt 14-byte master salt
 * @returns FALSE when OpenSSL fails or len is out of range */
gboolean bot_srtp_kdf(const guint8 *mkey, const guint8 *msalt, guint8 label, guint8 *out, int len);

#endif
