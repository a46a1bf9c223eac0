/*! \file    sfu_codec.h
 * \brief    janus-sfu: the room video codec policy (\c video_codec), as pure rules
 * \details  A room's participants must all decode the video its publishers
 * send, and the plugin relays RTP byte for byte, so each room has one video
 * codec: H.264 (profile 42e01f, packetization-mode 1) or VP8. The policy
 * (sfu_config.video_codec) fixes it (\c h264, \c vp8) or lets the room pick
 * (\c auto): H.264 while every participant has shown it decodes H.264, VP8
 * from the moment one has shown it does not (a Firefox without OpenH264);
 * the room then stays VP8 until it empties. What a participant decodes is
 * read from the video codecs of its publisher offer or its subscriber answer
 * (sfu_sdp). These functions hold no state and take no lock: sfu_signal
 * applies them to the room's codec kept by the registry (docs/PROTOCOL.md §4).
 */
#ifndef SFU_CODEC_H
#define SFU_CODEC_H

#include <glib.h>

/*! \brief The room video codec policy: the \c video_codec setting (sfu_config). */
typedef enum sfu_video_policy {
	SFU_VIDEO_AUTO = 0, /*!< H.264 while every participant decodes it, else VP8 (default) */
	SFU_VIDEO_H264,     /*!< H.264 42e01f only */
	SFU_VIDEO_VP8       /*!< VP8 only */
} sfu_video_policy;

/*! \brief A video codec of the policy. 0 means "none" (video refused, or not negotiated yet). */
typedef enum sfu_vcodec {
	SFU_VCODEC_NONE = 0,
	SFU_VCODEC_H264, /*!< H.264 profile-level-id 42e01f, packetization-mode 1 */
	SFU_VCODEC_VP8
} sfu_vcodec;

/*! \brief Capability bits: the codecs a participant decodes (or a publisher offers). */
#define SFU_VCAP_H264 (1u << 0)
#define SFU_VCAP_VP8  (1u << 1)

/*! \brief "h264", "vp8", or NULL for SFU_VCODEC_NONE (static strings, also the SDP codec names of Janus). */
const char *sfu_vcodec_name(sfu_vcodec codec);

/*! \brief The capability bit of \p codec (0 for SFU_VCODEC_NONE). */
guint sfu_vcodec_cap(sfu_vcodec codec);

/*! \brief The codec a room starts with under \p policy: VP8 for \c vp8, else H.264. */
sfu_vcodec sfu_codec_room_initial(sfu_video_policy policy);

/*! \brief Whether a participant decoding \p caps makes a room whose codec is \p room switch.
 * Only \c auto switches, only from H.264 to VP8, and only for a participant that shows VP8 and no H.264
 * (a participant showing neither cannot be helped; one showing nothing is not known yet).
 * @returns the room's new codec, or SFU_VCODEC_NONE to keep it */
sfu_vcodec sfu_codec_room_switch(sfu_video_policy policy, sfu_vcodec room, guint caps);

/*! \brief The codec a publisher whose offer has \p offered is answered with, in a room whose codec is \p room:
 * the room's codec when offered. Otherwise, under \c auto, the other codec when offered (some participants
 * still see that publisher; the room cannot switch to a codec everyone decodes), else SFU_VCODEC_NONE: its
 * video m-line is refused (audio and data still flow). Under \c h264 or \c vp8, SFU_VCODEC_NONE. */
sfu_vcodec sfu_codec_publisher(sfu_video_policy policy, sfu_vcodec room, guint offered);

/*! \brief The video codecs a subscriber offer lists for a publisher that sends \p sending and offered \p offered,
 * in order of preference: \p sending first; under \c auto also the other codec the publisher offered, so
 * that its subscribers have it negotiated already if the room switches (the publisher then changes payload
 * type without any subscriber renegotiation). With \p sending NONE: the room's codec only.
 * @param[out] out At least 2 entries
 * @returns the number of codecs written (1 or 2) */
guint sfu_codec_subscriber(
	sfu_video_policy policy, sfu_vcodec room, sfu_vcodec sending, guint offered, sfu_vcodec *out);

#endif
