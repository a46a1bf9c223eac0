/*! \file    sfu_sdp.h
 * \brief    janus-sfu: SDP offer/answer for publishers and the offer for their subscribers
 * \details  Uses Janus's multistream SDP helpers (symbols of the Janus
 * executable, so this module is linked into the plugin only). A publisher's
 * offer is answered recvonly with Opus and the one video codec the room's
 * policy chose (sfu_codec.h) plus the first data channel; the same answer,
 * with the codec of a switched room and a new o= version, is the offer the
 * plugin sends a publisher to renegotiate. The subscriber offer is always
 * audio (mindex 0) + video (mindex 1) + data (mindex 2), sendonly, with the
 * publisher's payload types so RTP can be relayed byte for byte
 * (docs/PROTOCOL.md §4).
 */
#ifndef SFU_SDP_H
#define SFU_SDP_H

#include <glib.h>

#include "sfu_codec.h"

#define SFU_SUB_MINDEX_AUDIO 0
#define SFU_SUB_MINDEX_VIDEO 1

/*! \brief The video of an SDP: the codecs of its first active video m-line (SFU_VCAP_*) and their payload
 * types. For a publisher's offer, what it can send and decode; for an answer, what was accepted. */
typedef struct sfu_sdp_video {
	gboolean present;  /*!< there is an active (port != 0) video m-line */
	guint caps;        /*!< SFU_VCAP_H264 (42e01f, packetization-mode 1) and/or SFU_VCAP_VP8 */
	int h264_pt;       /*!< payload type of H.264 42e01f, -1 when absent */
	int vp8_pt;        /*!< payload type of VP8, -1 when absent */
	guint64 o_version; /*!< the o= line's version */
} sfu_sdp_video;

/*! \brief Read the video of \p sdp (an offer or an answer). @returns FALSE with \p error set when it does not parse */
gboolean sfu_sdp_read_video(const char *sdp, sfu_sdp_video *out, char *error, size_t error_len);

/*! \brief What the subscriber offer of a publisher lists for video, in order of preference (sfu_codec_subscriber). */
typedef struct sfu_sdp_sub_video {
	sfu_vcodec codecs[2];
	guint n;
} sfu_sdp_sub_video;

/*! \brief What negotiating a publisher's offer produced. All strings owned; clear with sfu_sdp_result_clear. */
typedef struct sfu_sdp_result {
	char *answer; /*!< SDP answer for the publisher (or, from sfu_sdp_publisher_reoffer, an offer) */
	char *subscriber_offer;  /*!< SDP offer for its subscribers */
	int audio_pt, video_pt;  /*!< negotiated payload types, -1 when the medium was not accepted */
	const char *video_codec; /*!< "h264", "vp8" or NULL (static string) */
	sfu_vcodec vcodec;       /*!< the same as an sfu_vcodec */
} sfu_sdp_result;

/*! \brief Answer a publisher's offer with \p codec for video (SFU_VCODEC_NONE: refuse the video m-line)
 * and derive the subscriber offer, which lists \p sub's codecs with the payload types of the offer.
 * @param[in] offer_sdp The offer as the core handed it over
 * @param[out] out Filled on success
 * @param[out] error Buffer for a one-line reason on failure
 * @returns TRUE on success */
gboolean sfu_sdp_negotiate_publisher(const char *offer_sdp, sfu_vcodec codec, const sfu_sdp_sub_video *sub,
	sfu_sdp_result *out, char *error, size_t error_len);

/*! \brief The offer that renegotiates a publisher to \p codec: the answer its last offer \p offer_sdp would get
 * with \p codec (same m-lines, mids and extensions, recvonly), with o= version \p o_version. out->answer holds
 * it; out->subscriber_offer is the subscriber offer that goes with it. */
gboolean sfu_sdp_publisher_reoffer(const char *offer_sdp, sfu_vcodec codec, const sfu_sdp_sub_video *sub,
	guint64 o_version, sfu_sdp_result *out, char *error, size_t error_len);

void sfu_sdp_result_clear(sfu_sdp_result *r);

/*! \brief TRUE when two SDPs the plugin generated say the same thing but for their o= line (a new session id
 * and version each time): offering the second after the first would change nothing. NULL differs. */
gboolean sfu_sdp_same_but_origin(const char *a, const char *b);

/*! \brief TRUE when \p answer_sdp parses (a subscriber's answer). */
gboolean sfu_sdp_check(const char *sdp, char *error, size_t error_len);

#endif
