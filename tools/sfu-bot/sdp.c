/*! \file sdp.c
 * \brief sfu-bot: the SDP a browser would write, and reading the peer's (see sdp.h)
 */
#include "sdp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_OPUS 111
#define PT_H264 102
#define PT_VP8  96

typedef struct remote_media {
	char kind[16];
	int port;
	char proto[48];
	char fmts[96];
	char mid[32];
	int pt[BOT_STREAMS]; /* chosen payload type for audio/video */
	GString *rtpmap;     /* a=rtpmap/fmtp/rtcp-fb lines of the chosen pt */
} remote_media;

struct bot_sdp_remote {
	bot_sdp_transport t;
	GPtrArray *media; /* remote_media, one per m-line */
};

static void remote_media_free(gpointer data) {
	remote_media *m = data;
	g_string_free(m->rtpmap, TRUE);
	g_free(m);
}

static void append_transport(
	const bot_sdp_local *l, GString *s, gboolean with_candidates, const char *setup) {
	g_string_append_printf(s,
		"c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
		"a=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
		l->ufrag, l->pwd, l->fingerprint, setup);
	if(!with_candidates)
		return;
	g_string_append(s, l->candidates);
	g_string_append(s, "a=end-of-candidates\r\n");
}

char *bot_sdp_offer(
	const bot_sdp_local *local, const guint32 ssrc[BOT_STREAMS], gboolean vp8, int pt[BOT_STREAMS]) {
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
		"v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
		"a=msid-semantic: WMS bot\r\n",
		g_random_int());
	g_string_append_printf(s, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", PT_OPUS);
	append_transport(local, s, TRUE, "actpass");
	g_string_append_printf(s,
		"a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:%d opus/48000/2\r\n"
		"a=fmtp:%d minptime=10;useinbandfec=1\r\na=ssrc:%u cname:bot\r\na=ssrc:%u msid:bot a0\r\n",
		PT_OPUS, PT_OPUS, ssrc[0], ssrc[0]);
	int vpt = vp8 ? PT_VP8 : PT_H264;
	g_string_append_printf(s, "m=video 9 UDP/TLS/RTP/SAVPF %d\r\n", vpt);
	append_transport(local, s, FALSE, "actpass");
	g_string_append_printf(s, "a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\n");
	if(vp8)
		g_string_append_printf(s, "a=rtpmap:%d VP8/90000\r\n", vpt);
	else
		g_string_append_printf(s,
			"a=rtpmap:%d H264/90000\r\na=fmtp:%d level-asymmetry-allowed=1;packetization-mode=1;"
			"profile-level-id=42e01f\r\n",
			vpt, vpt);
	g_string_append_printf(s,
		"a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n"
		"a=ssrc:%u cname:bot\r\na=ssrc:%u msid:bot v0\r\n",
		vpt, vpt, vpt, ssrc[1], ssrc[1]);
	pt[0] = PT_OPUS;
	pt[1] = vpt;
	return g_string_free(s, FALSE);
}

void bot_sdp_remote_free(bot_sdp_remote *r) {
	if(r == NULL)
		return;
	g_ptr_array_free(r->media, TRUE);
	g_strfreev(r->t.candidates);
	g_free(r);
}

const bot_sdp_transport *bot_sdp_remote_transport(const bot_sdp_remote *r) {
	return &r->t;
}

bot_sdp_remote *bot_sdp_parse(const char *sdp) {
	bot_sdp_remote *r = g_new0(bot_sdp_remote, 1);
	bot_sdp_transport *t = &r->t;
	r->media = g_ptr_array_new_with_free_func(remote_media_free);
	gchar **lines = g_strsplit(sdp, "\n", -1);
	remote_media *cur = NULL;
	GPtrArray *cands = g_ptr_array_new();
	int cand_mline = -1, mline = -1;
	for(gchar **l = lines; *l != NULL; l++) {
		g_strchomp(*l);
		const char *a = *l;
		if(g_str_has_prefix(a, "m=")) {
			cur = g_new0(remote_media, 1);
			cur->rtpmap = g_string_new(NULL);
			cur->pt[0] = cur->pt[1] = -1;
			sscanf(a + 2, "%15s %d %47s %95[^\n]", cur->kind, &cur->port, cur->proto, cur->fmts);
			g_ptr_array_add(r->media, cur);
			mline++;
		} else if(sscanf(a, "a=ice-ufrag:%255s", t->ufrag) == 1 ||
				  sscanf(a, "a=ice-pwd:%255s", t->pwd) == 1) {
			continue;
		} else if(g_str_has_prefix(a, "a=fingerprint:sha-256 ")) {
			g_strlcpy(t->fingerprint, a + 22, sizeof(t->fingerprint));
		} else if(sscanf(a, "a=setup:%31s", t->setup) == 1) {
			continue;
		} else if(cur != NULL && sscanf(a, "a=mid:%31s", cur->mid) == 1) {
			continue;
		} else if(g_str_has_prefix(a, "a=candidate:") && (cand_mline < 0 || cand_mline == mline)) {
			cand_mline = mline;
			g_ptr_array_add(cands, g_strdup(a));
		} else if(cur != NULL && g_str_has_prefix(a, "a=rtpmap:")) {
			int pt = atoi(a + 9);
			const char *enc = strchr(a, ' ');
			int want = -1;
			if(enc != NULL && g_ascii_strncasecmp(enc + 1, "opus/", 5) == 0)
				want = 0;
			else if(enc != NULL && (g_ascii_strncasecmp(enc + 1, "H264/", 5) == 0 ||
									   g_ascii_strncasecmp(enc + 1, "VP8/", 4) == 0))
				want = 1;
			if(want >= 0 && cur->pt[want] < 0) {
				cur->pt[want] = pt;
				g_string_append_printf(cur->rtpmap, "%s\r\n", a);
			}
		} else if(cur != NULL && (g_str_has_prefix(a, "a=fmtp:") || g_str_has_prefix(a, "a=rtcp-fb:"))) {
			int pt = atoi(a + (a[2] == 'f' ? 7 : 10));
			if(pt == cur->pt[0] || pt == cur->pt[1])
				g_string_append_printf(cur->rtpmap, "%s\r\n", a);
		}
	}
	g_strfreev(lines);
	g_ptr_array_add(cands, NULL);
	t->candidates = (gchar **)g_ptr_array_free(cands, FALSE);
	if(t->ufrag[0] == '\0' || t->pwd[0] == '\0' || t->fingerprint[0] == '\0' || r->media->len == 0) {
		bot_sdp_remote_free(r);
		return NULL;
	}
	return r;
}

char *bot_sdp_answer(const bot_sdp_remote *r, const bot_sdp_local *local, int pt[BOT_STREAMS]) {
	GString *s = g_string_new(NULL);
	GString *bundle = g_string_new("a=group:BUNDLE");
	for(guint i = 0; i < r->media->len; i++) {
		const remote_media *m = g_ptr_array_index(r->media, i);
		int st = strcmp(m->kind, "audio") == 0 ? 0 : (strcmp(m->kind, "video") == 0 ? 1 : -1);
		if(st >= 0 && m->port != 0 && m->pt[st] >= 0)
			g_string_append_printf(bundle, " %s", m->mid);
	}
	g_string_append_printf(
		s, "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n%s\r\n", g_random_int(), bundle->str);
	g_string_free(bundle, TRUE);
	gboolean first = TRUE;
	for(guint i = 0; i < r->media->len; i++) {
		const remote_media *m = g_ptr_array_index(r->media, i);
		int st = strcmp(m->kind, "audio") == 0 ? 0 : (strcmp(m->kind, "video") == 0 ? 1 : -1);
		if(st < 0 || m->port == 0 || m->pt[st] < 0) {
			g_string_append_printf(s, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind, m->proto, m->fmts);
			if(m->mid[0] != '\0')
				g_string_append_printf(s, "a=mid:%s\r\n", m->mid);
			continue;
		}
		g_string_append_printf(s, "m=%s 9 %s %d\r\n", m->kind, m->proto, m->pt[st]);
		append_transport(local, s, first, "active");
		first = FALSE;
		g_string_append_printf(s, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\n%s", m->mid, m->rtpmap->str);
		pt[st] = m->pt[st];
	}
	return g_string_free(s, FALSE);
}

gboolean bot_sdp_check_answer(const bot_sdp_remote *r, int pt[BOT_STREAMS]) {
	gboolean any = FALSE;
	for(guint i = 0; i < r->media->len && i < BOT_STREAMS; i++) {
		const remote_media *m = g_ptr_array_index(r->media, i);
		if(m->port != 0 && m->pt[i] >= 0) {
			pt[i] = m->pt[i];
			any = TRUE;
		} else {
			pt[i] = -1;
		}
	}
	return any;
}
