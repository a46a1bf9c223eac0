/*! \file    sfu_sdp.h
 * \brief    janus-sfu: SDP offer/answer for publishers and the offer for their subscribers
 * \details  Uses Janus's multistream SDP helpers (symbols of the Janus
 * executable, so this module is linked into the plugin only). A publisher's
 * offer is answered recvonly with Opus and H.264 42e01f (VP8 when the offer has
 * no H.264, e.g. browsers built without it) plus the first data channel; the
 * subscriber offer is always audio (mindex 0) + video (mindex 1) + data
 * (mindex 2), sendonly, with the publisher's payload types so RTP can be
 * relayed byte for byte (docs/PROTOCOL.md §7).
 */
#ifndef SFU_SDP_H
#define SFU_SDP_H

#include <glib.h>

#define SFU_SUB_MINDEX_AUDIO 0
#define SFU_SUB_MINDEX_VIDEO 1

/*! \brief What negotiating a publisher's offer produced. All strings owned; clear with sfu_sdp_result_clear. */
typedef struct sfu_sdp_result {
	char *answer;            /*!< SDP answer for the publisher */
	char *subscriber_offer;  /*!< SDP offer for its subscribers */
	int audio_pt, video_pt;  /*!< negotiated payload types, -1 when the medium was not accepted */
	const char *video_codec; /*!< "h264", "vp8" or NULL (static string) */
} sfu_sdp_result;

/*! \brief Answer a publisher's offer and derive the subscriber offer.
 * @param[in] offer_sdp The offer as the core handed it over
 * @param[out] out Filled on success
 * @param[out] error Buffer for a one-line reason on failure
 * @returns TRUE on success */
gboolean sfu_sdp_negotiate_publisher(
	const char *offer_sdp, sfu_sdp_result *out, char *error, size_t error_len);
void sfu_sdp_result_clear(sfu_sdp_result *r);

/*! \brief TRUE when \p answer_sdp parses (a subscriber's answer). */
gboolean sfu_sdp_check(const char *sdp, char *error, size_t error_len);

#endif
