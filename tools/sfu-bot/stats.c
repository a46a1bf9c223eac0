/*! \file stats.c
 * \brief sfu-bot: payload format, loss/duplicate/reorder tracking, delay histogram, JSON summary
 */
#include "bot.h"

#include <string.h>
#include <sys/resource.h>

bot_stats bot_st;
const char *const bot_role_names[3] = {"publishers", "subscribers", "joiners"};

/* =============================================================================
 * Payload
 * ==========================================================================*/

static void put32(guint8 *p, guint32 v) {
	p[0] = (guint8)(v >> 24);
	p[1] = (guint8)(v >> 16);
	p[2] = (guint8)(v >> 8);
	p[3] = (guint8)v;
}

static guint32 get32(const guint8 *p) {
	return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

void bot_payload_fill(guint8 *p, int len, guint8 codec_byte, int pub, int stream, guint32 seq) {
	guint64 now = (guint64)bot_now_us();
	p[0] = codec_byte;
	put32(p + 1, BOT_MAGIC);
	put32(p + 5, (guint32)pub);
	p[9] = (guint8)stream;
	put32(p + 10, seq);
	put32(p + 14, (guint32)(now >> 32));
	put32(p + 18, (guint32)now);
	if(len > BOT_HDR_LEN)
		memset(p + BOT_HDR_LEN, 0xa5, (size_t)(len - BOT_HDR_LEN));
}

int bot_payload_parse(const guint8 *p, int len, int *stream, guint32 *seq, gint64 *sent_us) {
	if(len < BOT_HDR_LEN || get32(p + 1) != BOT_MAGIC || p[9] >= BOT_STREAMS)
		return -1;
	*stream = p[9];
	*seq = get32(p + 10);
	*sent_us = (gint64)(((guint64)get32(p + 14) << 32) | get32(p + 18));
	return (int)get32(p + 5);
}

/* =============================================================================
 * Tracks: sequence numbers are 32-bit and never wrap within a run
 * ==========================================================================*/

static gboolean bit_test_set(bot_track *t, guint32 back) {
	guint64 *w = &t->bits[back / 64];
	guint64 m = (guint64)1 << (back % 64);
	gboolean was = (*w & m) != 0;
	*w |= m;
	return was;
}

void bot_track_add(bot_track *t, guint32 seq) {
	if(!t->seen) {
		t->seen = TRUE;
		t->first_seq = t->max_seq = seq;
		t->unique = 1;
		memset(t->bits, 0, sizeof(t->bits));
		bit_test_set(t, 0);
		return;
	}
	if(seq > t->max_seq) {
		guint32 shift = seq - t->max_seq;
		if(shift >= 1024) {
			memset(t->bits, 0, sizeof(t->bits));
		} else {
			/* shift the window: bit k means max_seq - k (bits[] is one 1024-bit
			 * little-endian number; shift it left by whole words, then bits) */
			guint32 ws = shift / 64, bs = shift % 64;
			for(int i = 15; i >= 0; i--) {
				guint64 v = 0;
				if(i >= (int)ws) {
					v = t->bits[i - (int)ws] << bs;
					if(bs != 0 && i - (int)ws - 1 >= 0)
						v |= t->bits[i - (int)ws - 1] >> (64 - bs);
				}
				t->bits[i] = v;
			}
		}
		t->max_seq = seq;
		bit_test_set(t, 0);
		t->unique++;
		return;
	}
	if(seq < t->first_seq)
		return; /* older than the first packet seen: ignore */
	guint32 back = t->max_seq - seq;
	if(back >= 1024) {
		t->reordered++;
		t->unique++;
		return;
	}
	if(bit_test_set(t, back)) {
		t->dups++;
	} else {
		t->reordered++;
		t->unique++;
	}
}

void bot_delay_add(gint64 us) {
	if(us < 0)
		us = 0;
	guint64 b = (guint64)us / 10;
	if(b > 20000)
		b = 20000;
	bot_st.delay_hist[b]++;
	bot_st.delay_n++;
	if((guint64)us > bot_st.delay_max_us)
		bot_st.delay_max_us = (guint64)us;
	if(us > 50000 && bot_st.win_start_us > 0) {
		gint64 sec = (bot_now_us() - bot_st.win_start_us) / 1000000;
		bot_st.late_per_s[CLAMP(sec, 0, BOT_LATE_SECONDS - 1)]++;
	}
}

static double delay_pct(double q) {
	if(bot_st.delay_n == 0)
		return 0;
	guint64 want = (guint64)(q * (double)bot_st.delay_n), acc = 0;
	for(int i = 0; i <= 20000; i++) {
		acc += bot_st.delay_hist[i];
		if(acc > want)
			return (i * 10 + 5) / 1000.0;
	}
	return 200.0;
}

void bot_latency_add(bot_latency *l, double ms) {
	if(l->ms == NULL)
		l->ms = g_array_new(FALSE, FALSE, sizeof(double));
	g_array_append_val(l->ms, ms);
}

static int cmp_double(gconstpointer a, gconstpointer b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : (x > y ? 1 : 0);
}

static json_t *latency_json(bot_latency *l) {
	if(l->ms == NULL || l->ms->len == 0)
		return json_null();
	g_array_sort(l->ms, cmp_double);
	guint n = l->ms->len;
	double *v = (double *)(void *)l->ms->data;
	return json_pack("{sIsfsfsfsf}", "n", (json_int_t)n, "p50_ms", v[n / 2], "p99_ms",
		v[MIN(n - 1, (guint)((double)n * 0.99))], "max_ms", v[n - 1], "min_ms", v[0]);
}

double bot_cpu_us(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
		   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

void bot_stats_reset_window(void) {
	memset(bot_st.delay_hist, 0, sizeof(bot_st.delay_hist));
	bot_st.delay_n = 0;
	bot_st.delay_max_us = 0;
	bot_st.win_rx_packets = 0;
	bot_st.win_tx_packets = 0;
	bot_st.win_rx_wakeups = bot_st.rx_wakeups;
	bot_st.win_rx_syscalls = bot_st.rx_syscalls;
	bot_st.win_tx_syscalls = bot_st.tx_syscalls;
	bot_st.win_start_us = bot_now_us();
	memset(bot_st.late_per_s, 0, sizeof(bot_st.late_per_s));
}

json_t *bot_stats_summary(json_t *extra) {
	json_t *roles = json_object();
	for(int r = 0; r < 3; r++) {
		if(bot_st.started[r] == 0)
			continue;
		json_object_set_new(roles, bot_role_names[r],
			json_pack("{sisisisisisisisoso}", "started", bot_st.started[r], "up", bot_st.up[r],
				"failed_signalling", bot_st.failed_signalling[r], "failed_ice", bot_st.failed_ice[r],
				"failed_dtls", bot_st.failed_dtls[r], "bad_answer", bot_st.bad_answer[r], "timeouts",
				bot_st.timeouts[r], "join_latency", latency_json(&bot_st.join_ms[r]), "connect_latency",
				latency_json(&bot_st.connect_ms[r])));
		if(r != ROLE_JOIN)
			json_object_set_new(json_object_get(roles, bot_role_names[r]), "media_latency",
				latency_json(&bot_st.media_ms[r]));
	}
	json_t *media = json_pack("{sIsIsIsIsIsIsIsfsfsf}", "tx_packets", (json_int_t)bot_st.tx_packets,
		"tx_bytes", (json_int_t)bot_st.tx_bytes, "rx_packets", (json_int_t)bot_st.rx_packets, "rx_bytes",
		(json_int_t)bot_st.rx_bytes, "rx_bad_payload", (json_int_t)bot_st.rx_bad, "rx_foreign",
		(json_int_t)bot_st.rx_foreign, "srtp_unprotect_failures", (json_int_t)bot_st.unprotect_fail,
		"delay_p50_ms", delay_pct(0.50), "delay_p99_ms", delay_pct(0.99), "delay_max_ms",
		(double)bot_st.delay_max_us / 1000.0);
	/* when the late packets came: spread over the window (saturation) or in one burst (a stall) */
	int last = -1;
	for(int i = 0; i < BOT_LATE_SECONDS; i++)
		if(bot_st.late_per_s[i] != 0)
			last = i;
	json_t *late = json_array();
	for(int i = 0; i <= last; i++)
		json_array_append_new(late, json_integer(bot_st.late_per_s[i]));
	json_object_set_new(media, "late_50ms_per_s", late);
	json_t *out = json_pack("{soso}", "roles", roles, "media", media);
	if(extra != NULL)
		json_object_update(out, extra);
	return out;
}
