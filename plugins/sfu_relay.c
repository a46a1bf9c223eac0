/*! \file    sfu_relay.c
 * \brief    janus-sfu: media fan-out (see sfu_relay.h)
 */
#include <glib.h>
#include <rtcp.h>

#include "sfu_core.h"
#include "sfu_relay.h"
#include "sfu_sdp.h"

static guint64 rtp_packets, rtp_bytes, data_messages, data_bytes, muted_packets, muted_bytes;

static inline void count(guint64 *counter, guint64 n) {
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline gboolean flag(volatile gint *f) {
	return g_atomic_int_get(f);
}

void sfu_relay_rtp(sfu_handle *h, janus_plugin_rtp *packet) {
	if(g_atomic_int_get(&h->destroyed) || !flag(&h->auth.publish_media))
		return;
	/* An owner's mute: the flag of this handle (set under the registry lock), checked per packet. */
	if(G_UNLIKELY((guint)g_atomic_int_get(&h->muted) & (packet->video ? SFU_MUTE_VIDEO : SFU_MUTE_AUDIO))) {
		count(&muted_packets, 1);
		count(&muted_bytes, packet->length);
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
		count(&rtp_packets, sent);
		count(&rtp_bytes, (guint64)sent * packet->length);
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
	count(&data_messages, sent);
	count(&data_bytes, (guint64)sent * packet->length);
	sfu_snapshot_release(pubs);
}

void sfu_relay_stats_get(sfu_relay_stats *out) {
	out->rtp_packets = __atomic_load_n(&rtp_packets, __ATOMIC_RELAXED);
	out->rtp_bytes = __atomic_load_n(&rtp_bytes, __ATOMIC_RELAXED);
	out->data_messages = __atomic_load_n(&data_messages, __ATOMIC_RELAXED);
	out->data_bytes = __atomic_load_n(&data_bytes, __ATOMIC_RELAXED);
	out->muted_packets = __atomic_load_n(&muted_packets, __ATOMIC_RELAXED);
	out->muted_bytes = __atomic_load_n(&muted_bytes, __ATOMIC_RELAXED);
}
