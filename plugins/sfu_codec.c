/*! \file    sfu_codec.c
 * \brief    janus-sfu: the room video codec policy (see sfu_codec.h)
 */
#include "sfu_codec.h"

const char *sfu_vcodec_name(sfu_vcodec codec) {
	switch(codec) {
		case SFU_VCODEC_H264:
			return "h264";
		case SFU_VCODEC_VP8:
			return "vp8";
		case SFU_VCODEC_NONE:
		default:
			return NULL;
	}
}

guint sfu_vcodec_cap(sfu_vcodec codec) {
	switch(codec) {
		case SFU_VCODEC_H264:
			return SFU_VCAP_H264;
		case SFU_VCODEC_VP8:
			return SFU_VCAP_VP8;
		case SFU_VCODEC_NONE:
		default:
			return 0;
	}
}

static sfu_vcodec other(sfu_vcodec codec) {
	return codec == SFU_VCODEC_H264 ? SFU_VCODEC_VP8 : SFU_VCODEC_H264;
}

sfu_vcodec sfu_codec_room_initial(sfu_video_policy policy) {
	return policy == SFU_VIDEO_VP8 ? SFU_VCODEC_VP8 : SFU_VCODEC_H264;
}

sfu_vcodec sfu_codec_room_switch(sfu_video_policy policy, sfu_vcodec room, guint caps) {
	if(policy != SFU_VIDEO_AUTO || room != SFU_VCODEC_H264)
		return SFU_VCODEC_NONE;
	if((caps & SFU_VCAP_H264) || !(caps & SFU_VCAP_VP8))
		return SFU_VCODEC_NONE;
	return SFU_VCODEC_VP8;
}

sfu_vcodec sfu_codec_publisher(sfu_video_policy policy, sfu_vcodec room, guint offered) {
	if(room == SFU_VCODEC_NONE)
		room = sfu_codec_room_initial(policy);
	if(offered & sfu_vcodec_cap(room))
		return room;
	if(policy == SFU_VIDEO_AUTO && (offered & sfu_vcodec_cap(other(room))))
		return other(room);
	return SFU_VCODEC_NONE;
}

guint sfu_codec_subscriber(
	sfu_video_policy policy, sfu_vcodec room, sfu_vcodec sending, guint offered, sfu_vcodec *out) {
	if(room == SFU_VCODEC_NONE)
		room = sfu_codec_room_initial(policy);
	if(sending == SFU_VCODEC_NONE) {
		out[0] = room;
		return 1;
	}
	out[0] = sending;
	if(policy == SFU_VIDEO_AUTO && (offered & sfu_vcodec_cap(other(sending)))) {
		out[1] = other(sending);
		return 2;
	}
	return 1;
}
