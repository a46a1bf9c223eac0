/*! \file    sfu_relay.c
 * \brief    janus-sfu: media fan-out (see sfu_relay.h)
 */
#include <glib.h>
#include <rtcp.h>

#include "sfu_core.h"
#include "sfu_relay.h"
#include "sfu_sdp.h"
#include "sfu_stats.h"

static inline gboolean flag(volatile gint *f) {
	return g_atomic_int_get(f);
}

void sfu_relay_rtp(sfu_handle *h, janus_plugin_rtp *packet) {
	if(g_atomic_int_get(&h->destroyed) || !flag(&h->auth.publish_media))
		return;
	/* An owner's mute: the flag of this handle (set under the registry lock), checked per packet. */
	if(G_UNLIKELY((guint)g_atomic_int_get(&h->muted) & (packet->video ? SFU_MUTE_VIDEO : SFU_MUTE_AUDIO))) {
		sfu_stats_add(SFU_STAT_MUTED_RTP_PACKETS, 1);
		sfu_stats_add(SFU_STAT_MUTED_RTP_BYTES, packet->length);
		return;
	}
	GPtrArray *subs = sfu_handle_subscribers(h);
	if(subs->len > 0) {
		/* Subscriber offers are always audio (mindex 0) + video (mindex 1). */
		janus_plugin_rtp out = *packet;
		out.mindex = packet->video ? SFU_SUB_MINDEX_VIDEO : SFU_SUB_MINDEX_AUDIO;
		guint sent = 0;
		for(guint i = 0; i < subs->len; i++) {
			sfu_handle *s = subs->pdata[i];
			/* The block flag is kept per subscription by the registry: no block table lookup here. */
			if(g_atomic_int_get(&s->destroyed) || g_atomic_int_get(&s->blocked))
				continue;
			sfu_core_relay_rtp(s->jh, &out);
			sent++;
		}
		sfu_stats_add(SFU_STAT_RTP_PACKETS, sent);
		sfu_stats_add(SFU_STAT_RTP_BYTES, (guint64)sent * packet->length);
	}
	sfu_snapshot_release(subs);
}

void sfu_relay_request_keyframe(sfu_handle *pub) {
	char buf[20];
	int seq = g_atomic_int_add((gint *)&pub->fir_seq, 1);
	if(janus_rtcp_fir(buf, sizeof(buf), &seq) < 0)
		return;
	janus_plugin_rtcp rtcp = {.mindex = -1, .video = TRUE, .buffer = buf, .length = sizeof(buf)};
	sfu_core_relay_rtcp(pub->jh, &rtcp);
}

void sfu_relay_rtcp(sfu_handle *h, janus_plugin_rtcp *packet) {
	if(!packet->video || g_atomic_int_get(&h->destroyed))
		return;
	gboolean pli = janus_rtcp_has_pli(packet->buffer, packet->length);
	if(!pli && !janus_rtcp_has_fir(packet->buffer, packet->length))
		return;
	/* Known from here: a keyframe request from a subscriber, for the publisher it receives. */
	sfu_handle *pub = sfu_handle_publisher(h);
	if(pub == NULL)
		return;
	if(!g_atomic_int_get(&pub->destroyed) && !g_atomic_int_get(&h->blocked)) {
		if(pli)
			sfu_core_send_pli(pub->jh);
		else
			sfu_relay_request_keyframe(pub);
	}
	sfu_handle_unref(pub);
}

void sfu_relay_data(sfu_handle *h, janus_plugin_data *packet) {
	if(g_atomic_int_get(&h->destroyed) || !flag(&h->auth.send_data))
		return;
	GPtrArray *pubs = sfu_room_publishers(h);
	if(pubs == NULL)
		return;
	guint sent = 0;
	for(guint i = 0; i < pubs->len; i++) {
		sfu_handle *p = pubs->pdata[i];
		if(p == h || g_atomic_int_get(&p->destroyed) ||
			sfu_registry_is_blocked(h->room_id, h->user_id, p->user_id))
			continue;
		sfu_core_relay_data(p->jh, packet);
		sent++;
	}
	sfu_stats_add(SFU_STAT_DATA_MESSAGES, sent);
	sfu_stats_add(SFU_STAT_DATA_BYTES, (guint64)sent * packet->length);
	sfu_snapshot_release(pubs);
}
