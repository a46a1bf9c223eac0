/*! \file sdp.h
 * \brief sfu-bot: the SDP a browser would write, and reading the peer's
 * \details Offers are sendonly audio (Opus) and video (H.264 42e01f or VP8) with
 * BUNDLE and rtcp-mux, every local candidate in the first m-line; answers accept
 * audio and video recvonly (a=setup:active) and reject every other m-line with
 * port 0. Pure text: the ICE credentials, the fingerprint and the candidate lines
 * come from pc.c (libnice, OpenSSL). Main thread only.
 */
#ifndef SFU_BOT_SDP_H
#define SFU_BOT_SDP_H

#include "bot.h"

/*! \brief Our side of the transport, borrowed for the call. */
typedef struct bot_sdp_local {
	const char *ufrag, *pwd; /* ICE credentials */
	const char *fingerprint; /* sha-256 of our DTLS certificate, "AB:CD:..." */
	const char *candidates;  /* "a=candidate:...\r\n" lines, written in the first m-line only */
} bot_sdp_local;

/*! \brief The transport of the peer's SDP; the last value wins where a line repeats. */
typedef struct bot_sdp_transport {
	char ufrag[256], pwd[256], setup[32], fingerprint[128];
	/* "a=candidate:..." lines of the first m-line that has any (and session-level ones), NULL-terminated */
	gchar **candidates;
} bot_sdp_transport;

/*! \brief The peer's SDP: its transport and its m-lines. */
typedef struct bot_sdp_remote bot_sdp_remote;

/*! \brief Our offer. pt gets the payload types offered (audio, video).
 * @returns a new string (g_free) */
char *bot_sdp_offer(
	const bot_sdp_local *local, const guint32 ssrc[BOT_STREAMS], gboolean vp8, int pt[BOT_STREAMS]);

/*! \brief Parses the peer's offer or answer.
 * @returns a new bot_sdp_remote (bot_sdp_remote_free), or NULL if ICE credentials, the fingerprint or
 *          every m-line is missing */
bot_sdp_remote *bot_sdp_parse(const char *sdp);
/*! \brief The transport of r, valid while r lives. */
const bot_sdp_transport *bot_sdp_remote_transport(const bot_sdp_remote *r);
void bot_sdp_remote_free(bot_sdp_remote *r);

/*! \brief Our answer to the offer r: audio and video recvonly, everything else port 0.
 * pt gets the payload types accepted (left alone for a stream that is not).
 * @returns a new string (g_free) */
char *bot_sdp_answer(const bot_sdp_remote *r, const bot_sdp_local *local, int pt[BOT_STREAMS]);

/*! \brief The answer r to our offer: is what we send accepted? pt gets the payload types the answer keeps
 * (-1 for a stream it rejects). */
gboolean bot_sdp_check_answer(const bot_sdp_remote *r, int pt[BOT_STREAMS]);

#endif
