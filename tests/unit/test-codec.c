/*! \file    test-codec.c
 * \brief    Unit tests for sfu_codec: the room video codec rules of the video_codec policy
 *           (docs/PROTOCOL.md §4), and the video_codec setting as sfu_config reads it.
 */
#include <string.h>
#include <glib.h>

#include "sfu_codec.h"
#include "sfu_config.h"

#define H264 SFU_VCODEC_H264
#define VP8  SFU_VCODEC_VP8
#define NONE SFU_VCODEC_NONE
#define BOTH (SFU_VCAP_H264 | SFU_VCAP_VP8)

static void test_names(void) {
	g_assert_cmpstr(sfu_vcodec_name(H264), ==, "h264");
	g_assert_cmpstr(sfu_vcodec_name(VP8), ==, "vp8");
	g_assert_null(sfu_vcodec_name(NONE));
	g_assert_cmpuint(sfu_vcodec_cap(H264), ==, SFU_VCAP_H264);
	g_assert_cmpuint(sfu_vcodec_cap(VP8), ==, SFU_VCAP_VP8);
	g_assert_cmpuint(sfu_vcodec_cap(NONE), ==, 0);
}

static void test_initial(void) {
	/* auto starts where every current client and every room of the old plugin was: H.264. */
	g_assert_cmpint(sfu_codec_room_initial(SFU_VIDEO_AUTO), ==, H264);
	g_assert_cmpint(sfu_codec_room_initial(SFU_VIDEO_H264), ==, H264);
	g_assert_cmpint(sfu_codec_room_initial(SFU_VIDEO_VP8), ==, VP8);
}

static void test_switch(void) {
	/* auto: a participant showing VP8 without H.264 (Firefox without OpenH264) switches an H.264 room. */
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_AUTO, H264, SFU_VCAP_VP8), ==, VP8);
	/* ... not one that decodes H.264, nor one showing nothing (no video m-line yet), nor one that decodes
	 * neither (no codec serves it; the others keep H.264). */
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_AUTO, H264, BOTH), ==, NONE);
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_AUTO, H264, SFU_VCAP_H264), ==, NONE);
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_AUTO, H264, 0), ==, NONE);
	/* One way: a VP8 room stays VP8, even for an H.264-only participant. */
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_AUTO, VP8, SFU_VCAP_H264), ==, NONE);
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_AUTO, VP8, SFU_VCAP_VP8), ==, NONE);
	/* Forced policies never switch. */
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_H264, H264, SFU_VCAP_VP8), ==, NONE);
	g_assert_cmpint(sfu_codec_room_switch(SFU_VIDEO_VP8, VP8, SFU_VCAP_H264), ==, NONE);
}

static void test_publisher(void) {
	/* The room's codec when offered. */
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_AUTO, H264, BOTH), ==, H264);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_AUTO, VP8, BOTH), ==, VP8);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_H264, H264, BOTH), ==, H264);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_VP8, VP8, BOTH), ==, VP8);
	/* No room yet (a publisher's offer before its join): the policy's initial codec. */
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_AUTO, NONE, BOTH), ==, H264);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_VP8, NONE, BOTH), ==, VP8);
	/* auto: the other codec rather than no video at all. */
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_AUTO, VP8, SFU_VCAP_H264), ==, H264);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_AUTO, H264, SFU_VCAP_VP8), ==, VP8);
	/* Forced: refused (audio and data still flow). */
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_H264, H264, SFU_VCAP_VP8), ==, NONE);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_VP8, VP8, SFU_VCAP_H264), ==, NONE);
	/* No video codec we relay (VP9/AV1 only, or no video m-line). */
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_AUTO, H264, 0), ==, NONE);
	g_assert_cmpint(sfu_codec_publisher(SFU_VIDEO_H264, H264, 0), ==, NONE);
}

static void test_subscriber(void) {
	sfu_vcodec out[2] = {NONE, NONE};
	/* auto: what the publisher sends first, then the other codec it offered, ready for a switch. */
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_AUTO, H264, H264, BOTH, out), ==, 2);
	g_assert_cmpint(out[0], ==, H264);
	g_assert_cmpint(out[1], ==, VP8);
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_AUTO, VP8, VP8, BOTH, out), ==, 2);
	g_assert_cmpint(out[0], ==, VP8);
	g_assert_cmpint(out[1], ==, H264);
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_AUTO, H264, VP8, SFU_VCAP_VP8, out), ==, 1);
	g_assert_cmpint(out[0], ==, VP8);
	/* Forced: that codec only. */
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_H264, H264, H264, BOTH, out), ==, 1);
	g_assert_cmpint(out[0], ==, H264);
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_VP8, VP8, VP8, BOTH, out), ==, 1);
	g_assert_cmpint(out[0], ==, VP8);
	/* A publisher without video: the room's codec (the subscriber offer always has a video m-line). */
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_AUTO, VP8, NONE, 0, out), ==, 1);
	g_assert_cmpint(out[0], ==, VP8);
	g_assert_cmpuint(sfu_codec_subscriber(SFU_VIDEO_AUTO, NONE, NONE, 0, out), ==, 1);
	g_assert_cmpint(out[0], ==, H264);
}

/* A mixed room under the default policy, step by step: every participant ends up decoding every publisher. */
static void test_mixed_room_story(void) {
	sfu_video_policy p = SFU_VIDEO_AUTO;
	sfu_vcodec room = sfu_codec_room_initial(p);
	/* Two Chromium publishers (H.264 and VP8): H.264. */
	sfu_vcodec c1 = sfu_codec_publisher(p, room, BOTH), c2 = sfu_codec_publisher(p, room, BOTH);
	g_assert_cmpint(c1, ==, H264);
	g_assert_cmpint(c2, ==, H264);
	/* A Firefox without H.264 offers VP8 only: the room switches before its answer... */
	sfu_vcodec to = sfu_codec_room_switch(p, room, SFU_VCAP_VP8);
	g_assert_cmpint(to, ==, VP8);
	room = to;
	g_assert_cmpint(sfu_codec_publisher(p, room, SFU_VCAP_VP8), ==, VP8);
	/* ... and the Chromium publishers are offered VP8, which they offered. */
	g_assert_cmpint(sfu_codec_publisher(p, room, BOTH), ==, VP8);
	/* Everybody decodes VP8; a later H.264-only publisher still sends H.264 to those who can see it. */
	g_assert_cmpint(sfu_codec_room_switch(p, room, SFU_VCAP_H264), ==, NONE);
	g_assert_cmpint(sfu_codec_publisher(p, room, SFU_VCAP_H264), ==, H264);
}

/* The video_codec setting: default auto, the three values in both formats, anything else refused by name. */
static void test_config(void) {
	sfu_config *cfg = sfu_config_new_defaults();
	g_assert_cmpint(cfg->video_codec, ==, SFU_VIDEO_AUTO);
	sfu_config_free(cfg);
	const struct {
		const char *text;
		gboolean ini;
		sfu_video_policy want;
	} ok[] = {
		{"general: { video_codec = \"h264\" }", FALSE, SFU_VIDEO_H264},
		{"general: { video_codec = \"vp8\" }", FALSE, SFU_VIDEO_VP8},
		{"general: { video_codec = \"auto\" }", FALSE, SFU_VIDEO_AUTO},
		{"general: { max_room_size = 3 }", FALSE, SFU_VIDEO_AUTO},
		{"[general]\nvideo_codec = vp8\n", TRUE, SFU_VIDEO_VP8},
		{"[general]\nvideo_codec = \"h264\" ; comment\n", TRUE, SFU_VIDEO_H264},
		{"[general]\nmax_room_size = 3\n", TRUE, SFU_VIDEO_AUTO},
	};
	for(size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		GError *error = NULL;
		cfg = sfu_config_parse(ok[i].text, ok[i].ini, "test.cfg", &error);
		g_assert_no_error(error);
		g_assert_nonnull(cfg);
		g_assert_cmpint(cfg->video_codec, ==, ok[i].want);
		sfu_config_free(cfg);
	}
	const char *bad[] = {"general: { video_codec = \"H264\" }", "general: { video_codec = \"vp9\" }",
		"general: { video_codec = \"\" }", "general: { video_codec = 1 }", "general: { video_codec = true }"};
	for(size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		GError *error = NULL;
		cfg = sfu_config_parse(bad[i], FALSE, "test.jcfg", &error);
		g_assert_null(cfg);
		g_assert_nonnull(error);
		g_assert_nonnull(strstr(error->message, "video_codec"));
		g_error_free(error);
	}
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/codec/names", test_names);
	g_test_add_func("/codec/initial", test_initial);
	g_test_add_func("/codec/switch", test_switch);
	g_test_add_func("/codec/publisher", test_publisher);
	g_test_add_func("/codec/subscriber", test_subscriber);
	g_test_add_func("/codec/mixed-room-story", test_mixed_room_story);
	g_test_add_func("/codec/config", test_config);
	return g_test_run();
}
