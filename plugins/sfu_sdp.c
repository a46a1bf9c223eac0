/*! \file    sfu_sdp.c
 * \brief    janus-sfu: publisher answer and subscriber offer (see sfu_sdp.h)
 */
#include <string.h>

#include <debug.h>
#include <rtp.h>
#include <sdp-utils.h>

#include "sfu_sdp.h"

#define OPUS_FMTP        "stereo=0;sprop-stereo=0;usedtx=1"
#define H264_PROFILE     "42e01f"
#define DEFAULT_AUDIO_PT 111
#define DEFAULT_VIDEO_PT 100

/* Which video codec to accept from the m-line \p m of \p offer: H.264 42e01f, else VP8, else none. */
static const char *pick_video_codec(janus_sdp *offer, janus_sdp_mline *m) {
	if(janus_sdp_get_codec_pt_full(offer, m->index, "h264", H264_PROFILE) >= 0)
		return "h264";
	if(janus_sdp_get_codec_pt(offer, m->index, "vp8") >= 0)
		return "vp8";
	return NULL;
}

static void answer_media(janus_sdp *offer, janus_sdp *answer, const char **video_codec) {
	gboolean audio_done = FALSE, video_done = FALSE, data_done = FALSE;
	for(GList *l = offer->m_lines; l != NULL; l = l->next) {
		janus_sdp_mline *m = l->data;
		if(m->port == 0)
			continue;
		if(m->type == JANUS_SDP_AUDIO && !audio_done) {
			audio_done = TRUE;
			janus_sdp_generate_answer_mline(offer, answer, m, JANUS_SDP_OA_MLINE, JANUS_SDP_AUDIO,
				JANUS_SDP_OA_CODEC, "opus", JANUS_SDP_OA_FMTP, OPUS_FMTP, JANUS_SDP_OA_DIRECTION,
				JANUS_SDP_RECVONLY, JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_MID,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_TRANSPORT_WIDE_CC, JANUS_SDP_OA_DONE);
		} else if(m->type == JANUS_SDP_VIDEO && !video_done) {
			const char *codec = pick_video_codec(offer, m);
			if(codec == NULL)
				continue;
			video_done = TRUE;
			*video_codec = codec;
			janus_sdp_generate_answer_mline(offer, answer, m, JANUS_SDP_OA_MLINE, JANUS_SDP_VIDEO,
				JANUS_SDP_OA_CODEC, codec, JANUS_SDP_OA_H264_PROFILE,
				strcmp(codec, "h264") ? NULL : H264_PROFILE, JANUS_SDP_OA_DIRECTION, JANUS_SDP_RECVONLY,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_MID, JANUS_SDP_OA_ACCEPT_EXTMAP,
				JANUS_RTP_EXTMAP_TRANSPORT_WIDE_CC, JANUS_SDP_OA_DONE);
		} else if(m->type == JANUS_SDP_APPLICATION && !data_done) {
			data_done = TRUE;
			janus_sdp_generate_answer_mline(
				offer, answer, m, JANUS_SDP_OA_MLINE, JANUS_SDP_APPLICATION, JANUS_SDP_OA_DONE);
		}
		/* Any other m-line stays rejected (port 0), as generate_answer made it. */
	}
}

static char *subscriber_offer(const char *address, int audio_pt, int video_pt, const char *video_codec) {
	janus_sdp *offer = janus_sdp_generate_offer("janus-sfu", address ? address : "127.0.0.1",
		JANUS_SDP_OA_MLINE, JANUS_SDP_AUDIO, JANUS_SDP_OA_MID, "0", JANUS_SDP_OA_PT,
		audio_pt >= 0 ? audio_pt : DEFAULT_AUDIO_PT, JANUS_SDP_OA_CODEC, "opus", JANUS_SDP_OA_FMTP, OPUS_FMTP,
		JANUS_SDP_OA_DIRECTION, JANUS_SDP_SENDONLY, JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_MID, 1,
		JANUS_SDP_OA_MLINE, JANUS_SDP_VIDEO, JANUS_SDP_OA_MID, "1", JANUS_SDP_OA_PT,
		video_pt >= 0 ? video_pt : DEFAULT_VIDEO_PT, JANUS_SDP_OA_CODEC, video_codec ? video_codec : "h264",
		JANUS_SDP_OA_H264_PROFILE,
		(video_codec == NULL || !strcmp(video_codec, "h264")) ? H264_PROFILE : NULL, JANUS_SDP_OA_DIRECTION,
		JANUS_SDP_SENDONLY, JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_MID, 1, JANUS_SDP_OA_MLINE,
		JANUS_SDP_APPLICATION, JANUS_SDP_OA_MID, "2", JANUS_SDP_OA_DONE);
	if(offer == NULL)
		return NULL;
	char *text = janus_sdp_write(offer);
	janus_sdp_destroy(offer);
	return text;
}

gboolean sfu_sdp_negotiate_publisher(
	const char *offer_sdp, sfu_sdp_result *out, char *error, size_t error_len) {
	memset(out, 0, sizeof(*out));
	out->audio_pt = out->video_pt = -1;
	janus_sdp *offer = janus_sdp_parse(offer_sdp, error, error_len);
	if(offer == NULL)
		return FALSE;
	janus_sdp *answer = janus_sdp_generate_answer(offer);
	if(answer == NULL) {
		g_strlcpy(error, "could not generate an answer", error_len);
		janus_sdp_destroy(offer);
		return FALSE;
	}
	const char *video_codec = NULL;
	answer_media(offer, answer, &video_codec);
	out->audio_pt = janus_sdp_get_codec_pt(answer, -1, "opus");
	if(video_codec != NULL)
		out->video_pt = janus_sdp_get_codec_pt(answer, -1, video_codec);
	out->video_codec = out->video_pt >= 0 ? video_codec : NULL;
	out->answer = janus_sdp_write(answer);
	out->subscriber_offer = subscriber_offer(answer->c_addr, out->audio_pt, out->video_pt, out->video_codec);
	janus_sdp_destroy(answer);
	janus_sdp_destroy(offer);
	if(out->answer == NULL || out->subscriber_offer == NULL) {
		g_strlcpy(error, "could not write the SDP", error_len);
		sfu_sdp_result_clear(out);
		return FALSE;
	}
	return TRUE;
}

void sfu_sdp_result_clear(sfu_sdp_result *r) {
	g_free(r->answer);
	g_free(r->subscriber_offer);
	memset(r, 0, sizeof(*r));
	r->audio_pt = r->video_pt = -1;
}

gboolean sfu_sdp_check(const char *sdp, char *error, size_t error_len) {
	janus_sdp *parsed = janus_sdp_parse(sdp, error, error_len);
	if(parsed == NULL)
		return FALSE;
	janus_sdp_destroy(parsed);
	return TRUE;
}
