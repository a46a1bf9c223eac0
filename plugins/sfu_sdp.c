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
#define H264_FMTP        "profile-level-id=42e01f;packetization-mode=1"
#define DEFAULT_AUDIO_PT 111
#define DEFAULT_H264_PT  100
#define DEFAULT_VP8_PT   96

/* The first video m-line with a port, or NULL. */
static janus_sdp_mline *active_video(janus_sdp *sdp) {
	for(GList *l = sdp->m_lines; l != NULL; l = l->next) {
		janus_sdp_mline *m = l->data;
		if(m->type == JANUS_SDP_VIDEO && m->port != 0)
			return m;
	}
	return NULL;
}

static void read_video(janus_sdp *sdp, sfu_sdp_video *out) {
	memset(out, 0, sizeof(*out));
	out->h264_pt = out->vp8_pt = -1;
	out->o_version = sdp->o_version;
	janus_sdp_mline *m = active_video(sdp);
	if(m == NULL)
		return;
	out->present = TRUE;
	out->h264_pt = janus_sdp_get_codec_pt_full(sdp, m->index, "h264", H264_PROFILE);
	out->vp8_pt = janus_sdp_get_codec_pt(sdp, m->index, "vp8");
	if(out->h264_pt >= 0)
		out->caps |= SFU_VCAP_H264;
	if(out->vp8_pt >= 0)
		out->caps |= SFU_VCAP_VP8;
}

gboolean sfu_sdp_read_video(const char *sdp, sfu_sdp_video *out, char *error, size_t error_len) {
	janus_sdp *parsed = janus_sdp_parse(sdp, error, error_len);
	if(parsed == NULL)
		return FALSE;
	read_video(parsed, out);
	janus_sdp_destroy(parsed);
	return TRUE;
}

/* Answers the offer's first audio, video (with \p codec; none: refused) and data m-lines; others stay refused. */
static void answer_media(janus_sdp *offer, janus_sdp *answer, sfu_vcodec codec) {
	gboolean audio_done = FALSE, video_done = FALSE, data_done = FALSE;
	const char *name = sfu_vcodec_name(codec);
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
			/* Only the first video m-line may be answered: a refused one stays port 0. */
			video_done = TRUE;
			if(name == NULL)
				continue;
			janus_sdp_generate_answer_mline(offer, answer, m, JANUS_SDP_OA_MLINE, JANUS_SDP_VIDEO,
				JANUS_SDP_OA_CODEC, name, JANUS_SDP_OA_H264_PROFILE,
				codec == SFU_VCODEC_H264 ? H264_PROFILE : NULL, JANUS_SDP_OA_DIRECTION, JANUS_SDP_RECVONLY,
				JANUS_SDP_OA_ACCEPT_EXTMAP, JANUS_RTP_EXTMAP_MID, JANUS_SDP_OA_ACCEPT_EXTMAP,
				JANUS_RTP_EXTMAP_TRANSPORT_WIDE_CC, JANUS_SDP_OA_DONE);
		} else if(m->type == JANUS_SDP_APPLICATION && !data_done) {
			data_done = TRUE;
			janus_sdp_generate_answer_mline(
				offer, answer, m, JANUS_SDP_OA_MLINE, JANUS_SDP_APPLICATION, JANUS_SDP_OA_DONE);
		}
	}
}

/* Adds \p codec with payload type \p pt to the video m-line \p m (after the ones it has). */
static void add_video_codec(janus_sdp_mline *m, sfu_vcodec codec, int pt) {
	m->ptypes = g_list_append(m->ptypes, GINT_TO_POINTER(pt));
	janus_sdp_attribute_add_to_mline(m,
		janus_sdp_attribute_create("rtpmap", "%d %s/90000", pt, codec == SFU_VCODEC_H264 ? "H264" : "VP8"));
	const char *fb[] = {"ccm fir", "nack", "nack pli", "goog-remb"};
	for(size_t i = 0; i < G_N_ELEMENTS(fb); i++)
		janus_sdp_attribute_add_to_mline(m, janus_sdp_attribute_create("rtcp-fb", "%d %s", pt, fb[i]));
	if(codec == SFU_VCODEC_H264)
		janus_sdp_attribute_add_to_mline(m, janus_sdp_attribute_create("fmtp", "%d %s", pt, H264_FMTP));
}

/* The payload type the publisher uses for \p codec, else a default that differs from \p taken. */
static int codec_pt(const sfu_sdp_video *pub, sfu_vcodec codec, int taken) {
	int pt = codec == SFU_VCODEC_H264 ? pub->h264_pt : pub->vp8_pt;
	if(pt >= 0)
		return pt;
	pt = codec == SFU_VCODEC_H264 ? DEFAULT_H264_PT : DEFAULT_VP8_PT;
	return pt == taken ? pt + 1 : pt;
}

/* The subscriber offer: audio (mid 0) with the publisher's Opus payload type, video (mid 1) with \p sub's
 * codecs at the publisher's payload types, data (mid 2). Each m-line is added on its own because Janus
 * 1.1.2's janus_sdp_generate_offer() drops JANUS_SDP_OA_PT for audio (it always wrote 111, Chromium's Opus
 * payload type, so a Firefox publisher's audio, 109, was never heard). */
static char *subscriber_offer(
	const char *address, int audio_pt, const sfu_sdp_video *pub, const sfu_sdp_sub_video *sub) {
	janus_sdp *offer =
		janus_sdp_generate_offer("janus-sfu", address ? address : "127.0.0.1", JANUS_SDP_OA_DONE);
	if(offer == NULL)
		return NULL;
	int first_pt = codec_pt(pub, sub->codecs[0], -1);
	int rc = janus_sdp_generate_offer_mline(offer, JANUS_SDP_OA_MLINE, JANUS_SDP_AUDIO, JANUS_SDP_OA_MID, "0",
		JANUS_SDP_OA_PT, audio_pt >= 0 ? audio_pt : DEFAULT_AUDIO_PT, JANUS_SDP_OA_CODEC, "opus",
		JANUS_SDP_OA_FMTP, OPUS_FMTP, JANUS_SDP_OA_DIRECTION, JANUS_SDP_SENDONLY, JANUS_SDP_OA_EXTENSION,
		JANUS_RTP_EXTMAP_MID, 1, JANUS_SDP_OA_DONE);
	if(rc == 0)
		rc = janus_sdp_generate_offer_mline(offer, JANUS_SDP_OA_MLINE, JANUS_SDP_VIDEO, JANUS_SDP_OA_MID, "1",
			JANUS_SDP_OA_PT, first_pt, JANUS_SDP_OA_CODEC, sfu_vcodec_name(sub->codecs[0]),
			JANUS_SDP_OA_H264_PROFILE, sub->codecs[0] == SFU_VCODEC_H264 ? H264_PROFILE : NULL,
			JANUS_SDP_OA_DIRECTION, JANUS_SDP_SENDONLY, JANUS_SDP_OA_EXTENSION, JANUS_RTP_EXTMAP_MID, 1,
			JANUS_SDP_OA_DONE);
	if(rc == 0)
		rc = janus_sdp_generate_offer_mline(
			offer, JANUS_SDP_OA_MLINE, JANUS_SDP_APPLICATION, JANUS_SDP_OA_MID, "2", JANUS_SDP_OA_DONE);
	janus_sdp_mline *video = rc == 0 ? janus_sdp_mline_find(offer, JANUS_SDP_VIDEO) : NULL;
	if(video != NULL && sub->n > 1)
		add_video_codec(video, sub->codecs[1], codec_pt(pub, sub->codecs[1], first_pt));
	char *text = rc == 0 ? janus_sdp_write(offer) : NULL;
	janus_sdp_destroy(offer);
	return text;
}

static gboolean negotiate(const char *offer_sdp, sfu_vcodec codec, const sfu_sdp_sub_video *sub,
	guint64 o_version, sfu_sdp_result *out, char *error, size_t error_len) {
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
	sfu_sdp_video pub;
	read_video(offer, &pub);
	answer_media(offer, answer, pub.caps & sfu_vcodec_cap(codec) ? codec : SFU_VCODEC_NONE);
	out->audio_pt = janus_sdp_get_codec_pt(answer, -1, "opus");
	janus_sdp_mline *video = active_video(answer);
	if(video != NULL) {
		out->vcodec = codec;
		out->video_pt = codec == SFU_VCODEC_H264 ? pub.h264_pt : pub.vp8_pt;
		out->video_codec = sfu_vcodec_name(codec);
	}
	if(o_version != 0)
		answer->o_version = o_version;
	out->answer = janus_sdp_write(answer);
	out->subscriber_offer = subscriber_offer(answer->c_addr, out->audio_pt, &pub, sub);
	janus_sdp_destroy(answer);
	janus_sdp_destroy(offer);
	if(out->answer == NULL || out->subscriber_offer == NULL) {
		g_strlcpy(error, "could not write the SDP", error_len);
		sfu_sdp_result_clear(out);
		return FALSE;
	}
	return TRUE;
}

gboolean sfu_sdp_negotiate_publisher(const char *offer_sdp, sfu_vcodec codec, const sfu_sdp_sub_video *sub,
	sfu_sdp_result *out, char *error, size_t error_len) {
	return negotiate(offer_sdp, codec, sub, 0, out, error, error_len);
}

gboolean sfu_sdp_publisher_reoffer(const char *offer_sdp, sfu_vcodec codec, const sfu_sdp_sub_video *sub,
	guint64 o_version, sfu_sdp_result *out, char *error, size_t error_len) {
	return negotiate(offer_sdp, codec, sub, o_version, out, error, error_len);
}

void sfu_sdp_result_clear(sfu_sdp_result *r) {
	g_free(r->answer);
	g_free(r->subscriber_offer);
	memset(r, 0, sizeof(*r));
	r->audio_pt = r->video_pt = -1;
}

/* The next line at *\p cursor that is not an o= line (without its line end), or NULL at the end; \p len
 * receives its length and *\p cursor moves past it. */
static const char *next_line(const char **cursor, size_t *len) {
	const char *p = *cursor;
	while(*p != '\0') {
		size_t n = strcspn(p, "\n");
		const char *line = p;
		p += n;
		if(*p == '\n')
			p++;
		if(strncmp(line, "o=", 2) != 0) {
			*cursor = p;
			*len = n;
			return line;
		}
	}
	*cursor = p;
	*len = 0;
	return NULL;
}

gboolean sfu_sdp_same_but_origin(const char *a, const char *b) {
	if(a == NULL || b == NULL)
		return FALSE;
	size_t na, nb;
	const char *la, *lb;
	do {
		la = next_line(&a, &na);
		lb = next_line(&b, &nb);
		if((la == NULL) != (lb == NULL) || na != nb || (la != NULL && memcmp(la, lb, na) != 0))
			return FALSE;
	} while(la != NULL);
	return TRUE;
}

gboolean sfu_sdp_check(const char *sdp, char *error, size_t error_len) {
	janus_sdp *parsed = janus_sdp_parse(sdp, error, error_len);
	if(parsed == NULL)
		return FALSE;
	janus_sdp_destroy(parsed);
	return TRUE;
}
