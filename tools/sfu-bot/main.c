/*! \file main.c
 * \brief sfu-bot: options, ramp-up, sender, measurement window and JSON summary
 * \details Timeline: (1) for VideoRoom, create the rooms; (2) start peers
 * (publishers and join-only participants first, each publisher's subscribers
 * once it is up) at --ramp per second with at most --concurrency in setup;
 * (3) once every peer is up or failed (or --ramp-timeout), and --settle
 * seconds later, open the window: reset delay/CPU counters (and with --settle
 * the delivery counts), read Janus's CPU and RSS, threads, UDP drops and the
 * machine's load (--watch-pid; procstat.c);
 * (4) after --duration, stop sending, drain 0.5 s, close the window, print the
 * summary on stdout (and --json), destroy the sessions and exit.
 * Exit status: 0 when every peer came up, 1 otherwise, 2 on bad usage.
 * Long runs: --duration 0 keeps the window open until SIGINT/SIGTERM (either
 * signal also ends a timed window early: summary, then exit as usual), and
 * --progress N prints one compact JSON line {"progress":{...}} every N s
 * (cumulative delivery of the subscribers that are up, and the one-way delay
 * of the last interval), before the final summary.
 */
#include "bot.h"
#include "rx.h"

#include <glib-unix.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bot_options bot_opt = {
	.url = NULL,
	.plugin = BOT_PLUGIN_SFU,
	.audio_pps = 50,
	.video_pps = 50,
	.audio_size = 160,
	.video_size = 1000,
	.duration_s = 5,
	.concurrency = 20,
	.timeout_s = 10,
	.ramp_timeout_s = 120,
	.tick_ms = 5,
	.rx_batch_us = 1000,
};

static GMainLoop *loop;
static bot_peer *pubs, *subs, *joiners;
static GQueue startq = G_QUEUE_INIT;
static int total_peers, finished, in_setup, started_count;
static gint64 ramp_start_us;
static gboolean window_open, window_closed, sending;
static guint pump_timer, send_timer, window_timer, progress_timer;
static gboolean window_ending;
static int exit_code;

/* window measurements */
static gint64 win_start_us, win_end_us;
static double cpu_start, cpu_end;
static guint64 janus_ticks_start, janus_ticks_end, win_tx_start;
static long rss_before_kb, rss_ready_kb, rss_end_kb;

bot_peer *bot_publisher(int index) {
	return &pubs[index];
}

/* =============================================================================
 * Janus process readings (/proc)
 * ==========================================================================*/

static guint64 janus_ticks(void) {
	if(bot_opt.watch_pid <= 0)
		return 0;
	char path[64], buf[2048];
	g_snprintf(path, sizeof(path), "/proc/%d/stat", bot_opt.watch_pid);
	FILE *f = fopen(path, "r");
	if(f == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces */
	unsigned long long ut = 0, st = 0;
	if(p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

static long janus_rss_kb(void) {
	if(bot_opt.watch_pid <= 0)
		return 0;
	char path[64], line[256];
	long kb = 0;
	g_snprintf(path, sizeof(path), "/proc/%d/status", bot_opt.watch_pid);
	FILE *f = fopen(path, "r");
	if(f == NULL)
		return 0;
	while(fgets(line, sizeof(line), f) != NULL)
		if(sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* =============================================================================
 * Sender
 * ==========================================================================*/

/* One sender tick over every publisher. Runs with bot_rx_lock held: on the
 * main loop (on_send_tick) until the media receive thread exists, then on that
 * thread (bot_rx_set_sender), so that the main loop no longer wakes up every
 * tick. */
static void send_all(void) {
	if(!g_atomic_int_get(&sending))
		return;
	gint64 now = bot_now_us();
	const int pps[BOT_STREAMS] = {bot_opt.audio_pps, bot_opt.video_pps};
	const int size[BOT_STREAMS] = {bot_opt.audio_size, bot_opt.video_size};
	guint8 payload[1400];
	for(int i = 0; i < bot_opt.publishers; i++) {
		bot_peer *p = &pubs[i];
		if(!g_atomic_int_get(&p->media_up) || p->pc == NULL)
			continue;
		for(int st = 0; st < BOT_STREAMS; st++) {
			if(pps[st] <= 0)
				continue;
			guint64 due = (guint64)((now - p->send_start_us) * pps[st] / 1000000) + 1;
			int burst = 0;
			while(p->sent[st] < due && burst++ < 50) {
				/* codec byte: an Opus TOC, an H.264 non-IDR NAL header, or a VP8 descriptor */
				guint8 cb = st == 0 ? 0x78 : (bot_opt.vp8 ? 0x10 : 0x41);
				bot_payload_fill(payload, size[st], cb, p->index, st, p->seq[st]);
				if(bot_pc_send(p->pc, (bot_stream)st, payload, size[st], st == 1)) {
					bot_st.tx_packets++;
					bot_st.win_tx_packets++;
					bot_st.tx_bytes += (guint64)size[st];
				}
				p->seq[st]++;
				p->sent[st]++;
			}
			if(p->sent[st] < due)
				p->sent[st] = p->seq[st] = (guint32)due; /* we fell behind: skip, do not burst */
		}
		bot_pc_flush(p->pc); /* this tick's packets of this publisher: one sendmmsg */
	}
}

static gboolean on_send_tick(gpointer data) {
	(void)data;
	if(bot_rx_sender_in_thread()) {
		send_timer = 0;
		return G_SOURCE_REMOVE;
	}
	bot_rx_lock();
	send_all();
	bot_rx_unlock();
	return G_SOURCE_CONTINUE;
}

/* =============================================================================
 * Summary
 * ==========================================================================*/

static json_t *delivery_json(void) {
	guint64 expected = 0, unique = 0, dups = 0, reordered = 0;
	int n = bot_opt.publishers * bot_opt.subscribers;
	for(int i = 0; i < n; i++) {
		bot_peer *s = &subs[i];
		if(!s->is_up)
			continue;
		bot_peer *p = &pubs[s->pub];
		for(int st = 0; st < BOT_STREAMS; st++) {
			bot_track *t = &s->track[st];
			guint32 first = t->seen ? MIN(t->first_seq, s->seq[st]) : s->seq[st];
			if(p->sent[st] > first)
				expected += p->sent[st] - first;
			unique += t->unique;
			dups += t->dups;
			reordered += t->reordered;
		}
	}
	return json_pack("{sIsIsIsIsIsf}", "expected", (json_int_t)expected, "received", (json_int_t)unique,
		"lost", (json_int_t)(expected > unique ? expected - unique : 0), "duplicates", (json_int_t)dups,
		"reordered", (json_int_t)reordered, "delivered_pct",
		expected ? 100.0 * (double)unique / (double)expected : 0.0);
}

static void print_summary(void) {
	double win_s = (double)(win_end_us - win_start_us) / 1e6;
	double cpu = cpu_end - cpu_start;
	guint64 rx = bot_st.win_rx_packets, tx = bot_st.win_tx_packets - win_tx_start;
	json_t *extra = json_object();
	json_object_set_new(extra, "plugin", json_string(bot_opt.plugin == BOT_PLUGIN_SFU ? "sfu" : "videoroom"));
	json_object_set_new(extra, "config",
		json_pack("{sisisisisisisisfsf}", "publishers", bot_opt.publishers, "subscribers_per_publisher",
			bot_opt.subscribers, "join_only", bot_opt.join_only, "audio_pps", bot_opt.audio_pps, "video_pps",
			bot_opt.video_pps, "audio_size", bot_opt.audio_size, "video_size", bot_opt.video_size,
			"duration_s", bot_opt.duration_s, "ramp", bot_opt.ramp));
	json_object_set_new(json_object_get(extra, "config"), "settle_s", json_real(bot_opt.settle_s));
	if(bot_opt.mesh > 0) {
		json_t *c = json_object_get(extra, "config");
		json_object_set_new(c, "mesh", json_integer(bot_opt.mesh));
		json_object_set_new(c, "rooms", json_integer(bot_opt.publishers / bot_opt.mesh));
	}
	json_object_set_new(json_object_get(extra, "config"), "srtp_only", json_boolean(bot_opt.srtp_only));
	json_object_set_new(extra, "window_s", json_real(win_s));
	json_object_set_new(extra, "delivery", delivery_json());
	double setup_s = (double)(bot_st.last_join_us - bot_st.first_start_us) / 1e6;
	int ups = bot_st.up[0] + bot_st.up[1] + bot_st.up[2];
	json_object_set_new(extra, "joins_per_s", json_real(setup_s > 0 ? ups / setup_s : 0));
	json_object_set_new(extra, "bot",
		json_pack("{sfsfsfsIsI}", "cpu_us", cpu, "cpu_us_per_rx_packet", rx ? cpu / (double)rx : 0.0,
			"cpu_us_per_packet", (rx + tx) ? cpu / (double)(rx + tx) : 0.0, "window_rx_packets",
			(json_int_t)rx, "window_tx_packets", (json_int_t)tx));
	{
		json_t *b = json_object_get(extra, "bot");
		guint64 wk = bot_st.rx_wakeups - bot_st.win_rx_wakeups,
				sc = bot_st.rx_syscalls - bot_st.win_rx_syscalls;
		json_object_set_new(b, "fastpath", json_boolean(!bot_opt.no_fastpath));
		json_object_set_new(b, "fastpath_peers", json_integer((json_int_t)bot_st.fast_peers));
		json_object_set_new(b, "window_rx_wakeups", json_integer((json_int_t)wk));
		json_object_set_new(b, "window_rx_recvmmsg", json_integer((json_int_t)sc));
		json_object_set_new(b, "rx_packets_per_wakeup", json_real(wk ? (double)rx / (double)wk : 0.0));
		json_object_set_new(b, "stun_requests_answered", json_integer((json_int_t)bot_st.stun_answered));
		json_object_set_new(b, "stun_requests_rejected", json_integer((json_int_t)bot_st.stun_rejected));
		json_object_set_new(b, "stun_other", json_integer((json_int_t)bot_st.stun_other));
		json_object_set_new(b, "srtp_profiles",
			json_pack("{sisi}", "aes_cm_sha1_80", bot_st.srtp_cm, "aead_aes_128_gcm", bot_st.srtp_gcm));
		json_object_set_new(b, "srtp_rx", json_string(bot_opt.libsrtp_rx ? "libsrtp2" : "openssl"));
		json_object_set_new(b, "srtp_tx", json_string(bot_opt.libsrtp_tx ? "libsrtp2" : "openssl"));
		json_object_set_new(
			b, "window_tx_sendmmsg", json_integer((json_int_t)(bot_st.tx_syscalls - bot_st.win_tx_syscalls)));
	}
	if(bot_opt.watch_pid > 0) {
		double jus = (double)(janus_ticks_end - janus_ticks_start) * 1e6 / (double)sysconf(_SC_CLK_TCK);
		json_object_set_new(extra, "janus",
			json_pack("{sisfsfsfsisisisf}", "pid", bot_opt.watch_pid, "cpu_us", jus, "cpu_pct",
				win_s > 0 ? 100.0 * jus / (win_s * 1e6) : 0.0, "cpu_us_per_forwarded_packet",
				rx ? jus / (double)rx : 0.0, "rss_before_kb", (int)rss_before_kb, "rss_ready_kb",
				(int)rss_ready_kb, "rss_end_kb", (int)rss_end_kb, "rss_per_participant_kb",
				ups ? (double)(rss_ready_kb - rss_before_kb) / ups : 0.0));
	}
	bot_proc_summary(extra);
	json_t *out = bot_stats_summary(extra);
	json_decref(extra);
	char *text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	fflush(stdout);
	if(bot_opt.json_path != NULL && !g_file_set_contents(bot_opt.json_path, text, -1, NULL))
		g_printerr("sfu-bot: cannot write %s\n", bot_opt.json_path);
	g_free(text);
	json_decref(out);
}

/* =============================================================================
 * Timeline
 * ==========================================================================*/

static gboolean on_quit(gpointer data) {
	(void)data;
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

static gboolean on_drained(gpointer data) {
	(void)data;
	bot_rx_lock(); /* the media receive thread updates the counters and tracks */
	win_end_us = bot_now_us();
	cpu_end = bot_cpu_us();
	janus_ticks_end = janus_ticks();
	rss_end_kb = janus_rss_kb();
	bot_proc_window_end();
	window_closed = TRUE;
	print_summary();
	bot_rx_unlock();
	int n = bot_opt.publishers * (1 + bot_opt.subscribers) + bot_opt.join_only;
	for(int i = 0; i < n; i++) {
		bot_peer *p = i < bot_opt.publishers
						  ? &pubs[i]
						  : (i < bot_opt.publishers * (1 + bot_opt.subscribers)
									? &subs[i - bot_opt.publishers]
									: &joiners[i - bot_opt.publishers * (1 + bot_opt.subscribers)]);
		bot_flow_stop(p);
	}
	g_timeout_add(500, on_quit, NULL); /* let the destroy requests go out */
	return G_SOURCE_REMOVE;
}

static gboolean on_window_end(gpointer data) {
	(void)data;
	window_timer = 0;
	if(window_ending)
		return G_SOURCE_REMOVE;
	window_ending = TRUE;
	if(progress_timer != 0) {
		g_source_remove(progress_timer);
		progress_timer = 0;
	}
	g_atomic_int_set(&sending, FALSE);
	g_timeout_add(500, on_drained, NULL);
	return G_SOURCE_REMOVE;
}

/* --settle: delivery counts from the window's start, not from each
 * subscriber's first packet (rx lock held). */
static void restart_delivery(void) {
	for(int i = 0; i < bot_opt.publishers * bot_opt.subscribers; i++) {
		bot_peer *s = &subs[i];
		if(!s->is_up)
			continue;
		for(int st = 0; st < BOT_STREAMS; st++) {
			memset(&s->track[st], 0, sizeof(s->track[st]));
			s->seq[st] = (guint32)pubs[s->pub].sent[st];
		}
	}
}

static void open_window(void) {
	if(window_open)
		return;
	window_open = TRUE;
	int wanted = total_peers, ups = bot_st.up[0] + bot_st.up[1] + bot_st.up[2];
	if(ups < wanted)
		exit_code = 1;
	g_printerr("sfu-bot: %d/%d peers up in %.2f s; measuring for %.1f s (0: until signalled)\n", ups, wanted,
		(double)(bot_now_us() - ramp_start_us) / 1e6, bot_opt.duration_s);
	rss_ready_kb = janus_rss_kb();
	bot_rx_lock();
	bot_stats_reset_window();
	if(bot_opt.settle_s > 0)
		restart_delivery();
	win_tx_start = 0;
	win_start_us = bot_now_us();
	cpu_start = bot_cpu_us();
	janus_ticks_start = janus_ticks();
	bot_rx_unlock();
	bot_proc_window_start();
	if(bot_opt.duration_s > 0)
		window_timer = g_timeout_add((guint)(bot_opt.duration_s * 1000), on_window_end, NULL);
}

/* SIGINT/SIGTERM: end the window now (open it first if the ramp is still going). */
static gboolean on_stop_signal(gpointer data) {
	(void)data;
	if(!window_open)
		open_window();
	if(window_timer != 0) {
		g_source_remove(window_timer);
		window_timer = 0;
	}
	on_window_end(NULL);
	return G_SOURCE_CONTINUE; /* a second signal changes nothing */
}

/* =============================================================================
 * Progress lines (--progress)
 * ==========================================================================*/

static guint32 prog_hist[G_N_ELEMENTS(bot_st.delay_hist)]; /* delay_hist at the previous line */
static guint64 prog_n;

static gboolean on_progress(gpointer data) {
	(void)data;
	bot_rx_lock();
	if(bot_st.delay_n < prog_n) { /* the window opened: its histogram starts from zero */
		memset(prog_hist, 0, sizeof(prog_hist));
		prog_n = 0;
	}
	guint64 n = bot_st.delay_n - prog_n, acc = 0;
	double p50 = 0, p99 = 0, max = 0;
	for(guint i = 0; i < G_N_ELEMENTS(prog_hist) && n > 0; i++) {
		guint32 d = bot_st.delay_hist[i] - prog_hist[i];
		if(d == 0)
			continue;
		double ms = (i * 10 + 5) / 1000.0;
		if(acc <= n / 2 && acc + d > n / 2)
			p50 = ms;
		if(acc <= n * 99 / 100 && acc + d > n * 99 / 100)
			p99 = ms;
		acc += d;
		max = ms;
	}
	memcpy(prog_hist, bot_st.delay_hist, sizeof(prog_hist));
	prog_n = bot_st.delay_n;
	int failed[3];
	for(int r = 0; r < 3; r++)
		failed[r] = bot_st.failed_signalling[r] + bot_st.failed_ice[r] + bot_st.failed_dtls[r] +
					bot_st.bad_answer[r] + bot_st.timeouts[r];
	json_t *line = json_pack("{s{sfs{sisisi}s{sisisi}sosIsIs{sIsfsfsf}}}", "progress", "t_s",
		(double)(bot_now_us() - ramp_start_us) / 1e6, "up", "publishers", bot_st.up[ROLE_PUB], "subscribers",
		bot_st.up[ROLE_SUB], "joiners", bot_st.up[ROLE_JOIN], "failed", "publishers", failed[ROLE_PUB],
		"subscribers", failed[ROLE_SUB], "joiners", failed[ROLE_JOIN], "delivery", delivery_json(),
		"tx_packets", (json_int_t)bot_st.tx_packets, "rx_packets", (json_int_t)bot_st.rx_packets, "interval",
		"delay_n", (json_int_t)n, "delay_p50_ms", p50, "delay_p99_ms", p99, "delay_max_ms", max);
	bot_rx_unlock();
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", text);
	fflush(stdout);
	free(text);
	json_decref(line);
	return G_SOURCE_CONTINUE;
}

static gboolean on_settled(gpointer data) {
	(void)data;
	open_window();
	return G_SOURCE_REMOVE;
}

/* --settle S: media flows S seconds before the window opens, so that it
 * measures the steady state, not the backlog of the setup. */
static void settle_then_open_window(void) {
	static gboolean settling;
	if(bot_opt.settle_s <= 0) {
		open_window();
	} else if(!settling) {
		settling = TRUE;
		g_printerr("sfu-bot: every peer finished setup; settling for %.1f s\n", bot_opt.settle_s);
		g_timeout_add((guint)(bot_opt.settle_s * 1000), on_settled, NULL);
	}
}

void bot_flow_finished(bot_peer *p) {
	finished++;
	in_setup--;
	if(p->role == ROLE_PUB && p->is_up) {
		for(int j = 0; j < bot_opt.subscribers; j++)
			g_queue_push_tail(&startq, &subs[p->index * bot_opt.subscribers + j]);
	} else if(p->role == ROLE_PUB) {
		finished += bot_opt.subscribers; /* its subscribers will never start */
	} else if(p->role == ROLE_SUB && p->is_up) {
		bot_peer *pub = &pubs[p->pub];
		for(int st = 0; st < BOT_STREAMS; st++)
			p->seq[st] = (guint32)pub->sent[st]; /* first packet it may expect */
	}
	if(finished >= total_peers)
		settle_then_open_window();
}

static gboolean on_pump(gpointer data) {
	(void)data;
	gint64 now = bot_now_us();
	while(!g_queue_is_empty(&startq)) {
		if(bot_opt.concurrency > 0 && in_setup >= bot_opt.concurrency)
			break;
		if(bot_opt.ramp > 0 && started_count >= (now - ramp_start_us) * bot_opt.ramp / 1e6 + 1)
			break;
		bot_peer *p = g_queue_pop_head(&startq);
		started_count++;
		in_setup++;
		bot_flow_start(p);
	}
	if(!window_open && (now - ramp_start_us) / 1e6 > bot_opt.ramp_timeout_s) {
		g_printerr("sfu-bot: ramp timeout, %d peers never finished setup\n", total_peers - finished);
		settle_then_open_window();
	}
	if(window_open || window_closed) {
		pump_timer = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static char *mint_token(const char *room, const char *user) {
	if(bot_opt.token_cmd == NULL)
		return g_strdup(bot_opt.token);
	GString *cmd = g_string_new(NULL);
	for(const char *c = bot_opt.token_cmd; *c; c++) {
		if(c[0] == '%' && c[1] == 'r') {
			g_string_append(cmd, room);
			c++;
		} else if(c[0] == '%' && c[1] == 'u') {
			g_string_append(cmd, user);
			c++;
		} else {
			g_string_append_c(cmd, *c);
		}
	}
	char *out = NULL;
	int status = 0;
	GError *err = NULL;
	if(!g_spawn_command_line_sync(cmd->str, &out, NULL, &status, &err) || status != 0) {
		g_printerr("sfu-bot: token command failed: %s\n", err ? err->message : cmd->str);
		g_clear_error(&err);
		g_free(out);
		out = NULL;
	} else {
		g_strstrip(out);
	}
	g_string_free(cmd, TRUE);
	return out;
}

static void init_peer(bot_peer *p, int role, int index, const char *room, const char *user) {
	p->role = role;
	p->index = index;
	p->room = g_strdup(room);
	p->user = g_strdup(user);
	p->token = mint_token(room, user);
}

static char *room_of(int k) {
	if(bot_opt.plugin == BOT_PLUGIN_VIDEOROOM)
		return g_strdup_printf("%" G_GINT64_FORMAT, g_ascii_strtoll(bot_opt.room, NULL, 10) + k);
	return k == 0 ? g_strdup(bot_opt.room) : g_strdup_printf("%s-%d", bot_opt.room, k);
}

static int joiner_rooms(void) {
	if(bot_opt.join_only == 0)
		return 0;
	return bot_opt.room_size > 0 ? (bot_opt.join_only + bot_opt.room_size - 1) / bot_opt.room_size : 1;
}

/* --mesh N: publisher i is participant i of room i / N. Its N-1 subscribers
 * are the other participants of that room, each joining under its own user id
 * (the publisher's user id and token are shared by all handles of one
 * participant, as naf-janus-adapter does). */
static void init_mesh(void) {
	int N = bot_opt.mesh, S = bot_opt.subscribers;
	for(int i = 0; i < bot_opt.publishers; i++) {
		char *room = room_of(i / N), *user = g_strdup_printf("%spub-%d", bot_opt.user_prefix, i);
		init_peer(&pubs[i], ROLE_PUB, i, room, user);
		g_free(user);
		g_free(room);
	}
	for(int i = 0; i < bot_opt.publishers; i++) {
		int first = i / N * N;
		for(int j = 0; j < S; j++) {
			bot_peer *s = &subs[i * S + j], *who = &pubs[first + (first + j < i ? j : j + 1)];
			s->role = ROLE_SUB;
			s->index = i * S + j;
			s->pub = i;
			s->room = g_strdup(pubs[i].room);
			s->user = g_strdup(who->user);
			s->token = g_strdup(who->token);
		}
	}
}

static void start_all(void) {
	ramp_start_us = bot_now_us();
	rss_before_kb = janus_rss_kb();
	for(int i = 0; i < bot_opt.publishers; i++)
		g_queue_push_tail(&startq, &pubs[i]);
	for(int i = 0; i < bot_opt.join_only; i++)
		g_queue_push_tail(&startq, &joiners[i]);
	pump_timer = g_timeout_add(2, on_pump, NULL);
	bot_rx_set_sender(send_all, bot_opt.tick_ms);
	send_timer = g_timeout_add((guint)bot_opt.tick_ms, on_send_tick, NULL);
	g_atomic_int_set(&sending, TRUE);
	if(bot_opt.progress_s > 0)
		progress_timer = g_timeout_add((guint)(bot_opt.progress_s * 1000), on_progress, NULL);
	if(total_peers == 0)
		open_window();
}

static void on_rooms(gboolean ok, void *ud) {
	(void)ud;
	if(!ok) {
		g_printerr("sfu-bot: cannot create the VideoRoom rooms\n");
		exit_code = 1;
		g_main_loop_quit(loop);
		return;
	}
	start_all();
}

/* =============================================================================
 * Options
 * ==========================================================================*/

/* --batch-us: sleep before each blocking poll so that one main-loop iteration
 * serves many sockets. Trades up to N us of added (measured) delay for far
 * fewer wake-ups: GLib polls every fd on each iteration. */
static gint batch_poll(GPollFD *fds, guint nfds, gint timeout) {
	if(timeout != 0 && g_atomic_int_get(&sending) && window_open) {
		struct timespec ts = {0, (long)bot_opt.batch_us * 1000};
		nanosleep(&ts, NULL);
		gint n = g_poll(fds, nfds, 0);
		if(n != 0)
			return n;
		if(timeout > 0)
			timeout = MAX(0, timeout - bot_opt.batch_us / 1000);
	}
	return g_poll(fds, nfds, timeout);
}

/* Leaves out the sockets of the media fast path (rx.c), then batch_poll or g_poll. */
static gint main_poll(GPollFD *fds, guint nfds, gint timeout) {
	return bot_rx_poll(fds, nfds, timeout, bot_opt.batch_us > 0 ? batch_poll : g_poll);
}

static gboolean parse_options(int argc, char **argv) {
	char *plugin = NULL, *srtp = NULL, *vcodec = NULL;
	GOptionEntry entries[] = {
		{"url", 0, 0, G_OPTION_ARG_STRING, &bot_opt.url, "Janus HTTP API (http://10.99.0.1:8088/janus)",
			"URL"},
		{"plugin", 0, 0, G_OPTION_ARG_STRING, &plugin, "sfu (janus.plugin.sfu) or videoroom", "NAME"},
		{"room", 0, 0, G_OPTION_ARG_STRING, &bot_opt.room, "room (sfu) or first numeric room id (videoroom)",
			"R"},
		{"publishers", 'P', 0, G_OPTION_ARG_INT, &bot_opt.publishers, "publishers sending media", "P"},
		{"subscribers", 'S', 0, G_OPTION_ARG_INT, &bot_opt.subscribers, "subscribers per publisher", "S"},
		{"join-only", 'J', 0, G_OPTION_ARG_INT, &bot_opt.join_only,
			"participants that only join (join storm)", "N"},
		{"room-size", 0, 0, G_OPTION_ARG_INT, &bot_opt.room_size,
			"join-only participants per room (0: one room)", "N"},
		{"mesh", 0, 0, G_OPTION_ARG_INT, &bot_opt.mesh,
			"full-mesh rooms of N participants: the P publishers fill P/N rooms and each subscribes "
			"to the N-1 others of its room under its own user id, as naf-janus-adapter does "
			"(-S is then N-1)",
			"N"},
		{"audio-pps", 0, 0, G_OPTION_ARG_INT, &bot_opt.audio_pps, "audio packets/s per publisher (50)", "N"},
		{"video-pps", 0, 0, G_OPTION_ARG_INT, &bot_opt.video_pps, "video packets/s per publisher (50)", "N"},
		{"audio-size", 0, 0, G_OPTION_ARG_INT, &bot_opt.audio_size, "audio payload bytes (160)", "B"},
		{"video-size", 0, 0, G_OPTION_ARG_INT, &bot_opt.video_size, "video payload bytes (1000)", "B"},
		{"video-codec", 0, 0, G_OPTION_ARG_STRING, &vcodec, "h264 (default) or vp8", "C"},
		{"srtp", 0, 0, G_OPTION_ARG_STRING, &srtp, "preferred SRTP profile: cm (default) or gcm", "P"},
		{"srtp-only", 0, 0, G_OPTION_ARG_NONE, &bot_opt.srtp_only,
			"offer only the --srtp profile, so that every leg uses it (by default the legs "
			"where Janus is the DTLS server get Janus's choice, GCM)",
			NULL},
		{"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &bot_opt.duration_s,
			"measurement window, seconds (5; 0: until SIGINT/SIGTERM)", "S"},
		{"ramp", 0, 0, G_OPTION_ARG_DOUBLE, &bot_opt.ramp, "peer starts per second (0: no pacing)", "N"},
		{"settle", 0, 0, G_OPTION_ARG_DOUBLE, &bot_opt.settle_s,
			"once every peer is up, let media flow S seconds before the window opens; delivery "
			"is then counted in the window only (0: open at once, delivery since each "
			"subscriber came up)",
			"S"},
		{"concurrency", 'c', 0, G_OPTION_ARG_INT, &bot_opt.concurrency, "peers in setup at once (20; 0: all)",
			"N"},
		{"timeout", 0, 0, G_OPTION_ARG_DOUBLE, &bot_opt.timeout_s, "per request / per ICE+DTLS phase (10)",
			"S"},
		{"ramp-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &bot_opt.ramp_timeout_s, "max setup time overall (120)",
			"S"},
		{"token", 0, 0, G_OPTION_ARG_STRING, &bot_opt.token, "token for every join", "JWT"},
		{"token-cmd", 0, 0, G_OPTION_ARG_STRING, &bot_opt.token_cmd,
			"command printing a token; %r = room, %u = user (e.g. tools/sfu-token mint ...)", "CMD"},
		{"ice-ip", 0, 0, G_OPTION_ARG_STRING, &bot_opt.ice_ip, "local address for ICE", "IP"},
		{"json", 0, 0, G_OPTION_ARG_FILENAME, &bot_opt.json_path, "also write the summary here", "FILE"},
		{"watch-pid", 0, 0, G_OPTION_ARG_INT, &bot_opt.watch_pid, "Janus pid: CPU and RSS in the summary",
			"PID"},
		{"batch-us", 0, 0, G_OPTION_ARG_INT, &bot_opt.batch_us,
			"sleep before each poll in the window (fewer wake-ups, adds up to N us delay)", "US"},
		{"rx-batch-us", 0, 0, G_OPTION_ARG_INT, &bot_opt.rx_batch_us,
			"media receive thread: sleep N us after each round so that packets accumulate (delay is measured "
			"from the kernel's receive time, so it is not affected; default 1000)",
			"US"},
		{"libsrtp-rx", 0, 0, G_OPTION_ARG_NONE, &bot_opt.libsrtp_rx,
			"unprotect with libsrtp2 (default: OpenSSL, keyed once per PeerConnection)", NULL},
		{"libsrtp-tx", 0, 0, G_OPTION_ARG_NONE, &bot_opt.libsrtp_tx,
			"protect with libsrtp2 (default: OpenSSL, keyed once per PeerConnection)", NULL},
		{"no-fastpath", 0, 0, G_OPTION_ARG_NONE, &bot_opt.no_fastpath,
			"keep libnice on the media path (no receive thread, no direct socket I/O)", NULL},
		{"tick", 0, 0, G_OPTION_ARG_INT, &bot_opt.tick_ms, "sender tick, ms (5)", "MS"},
		{"verbose", 'v', 0, G_OPTION_ARG_NONE, &bot_opt.verbose, "log failures", NULL},
		{"progress", 0, 0, G_OPTION_ARG_DOUBLE, &bot_opt.progress_s,
			"print a one-line JSON {\"progress\":...} every S seconds (delivery so far, delay of the "
			"interval)",
			"S"},
		{"user-prefix", 0, 0, G_OPTION_ARG_STRING, &bot_opt.user_prefix,
			"prefix of every user id (several bots in one room)", "STR"},
		{"stall-dtls", 0, 0, G_OPTION_ARG_NONE, &bot_opt.stall_dtls,
			"fault injection: complete ICE, then never start or answer DTLS", NULL},
		{NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	GOptionContext *ctx = g_option_context_new("- headless WebRTC load client for Janus");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	gboolean ok = g_option_context_parse(ctx, &argc, &argv, &err);
	g_option_context_free(ctx);
	if(!ok) {
		g_printerr("sfu-bot: %s\n", err->message);
		g_error_free(err);
		return FALSE;
	}
	if(bot_opt.url == NULL)
		bot_opt.url = g_strdup("http://127.0.0.1:8088/janus");
	if(plugin != NULL && strcmp(plugin, "videoroom") == 0)
		bot_opt.plugin = BOT_PLUGIN_VIDEOROOM;
	else if(plugin != NULL && strcmp(plugin, "sfu") != 0) {
		g_printerr("sfu-bot: --plugin must be sfu or videoroom\n");
		return FALSE;
	}
	if(bot_opt.user_prefix == NULL)
		bot_opt.user_prefix = g_strdup("");
	if(bot_opt.room == NULL)
		bot_opt.room = g_strdup(bot_opt.plugin == BOT_PLUGIN_SFU ? "bot" : "4242");
	bot_opt.gcm = srtp != NULL && strcmp(srtp, "gcm") == 0;
	bot_opt.vp8 = vcodec != NULL && strcmp(vcodec, "vp8") == 0;
	if(bot_opt.audio_size < BOT_HDR_LEN || bot_opt.video_size < BOT_HDR_LEN || bot_opt.audio_size > 1400 ||
		bot_opt.video_size > 1400 || bot_opt.tick_ms < 1 || bot_opt.publishers < 0 ||
		bot_opt.subscribers < 0 || bot_opt.join_only < 0) {
		g_printerr("sfu-bot: payload sizes must be %d..1400 bytes, counts >= 0, tick >= 1\n", BOT_HDR_LEN);
		return FALSE;
	}
	if(bot_opt.mesh != 0) {
		if(bot_opt.mesh < 2 || bot_opt.publishers % bot_opt.mesh != 0) {
			g_printerr("sfu-bot: --mesh N needs N >= 2 and -P a multiple of N\n");
			return FALSE;
		}
		bot_opt.subscribers = bot_opt.mesh - 1;
	}
	g_free(plugin);
	g_free(srtp);
	g_free(vcodec);
	return TRUE;
}

int main(int argc, char **argv) {
	if(!parse_options(argc, argv))
		return 2;
	bot_http_init();
	bot_pc_global_init();
	loop = g_main_loop_new(NULL, FALSE);
	g_main_context_set_poll_func(NULL, main_poll);
	g_unix_signal_add(SIGINT, on_stop_signal, NULL);
	g_unix_signal_add(SIGTERM, on_stop_signal, NULL);

	int P = bot_opt.publishers, S = bot_opt.subscribers, J = bot_opt.join_only;
	pubs = g_new0(bot_peer, MAX(P, 1));
	subs = g_new0(bot_peer, MAX(P * S, 1));
	joiners = g_new0(bot_peer, MAX(J, 1));
	char *room0 = room_of(0);
	for(int i = 0; i < P && bot_opt.mesh == 0; i++) {
		char *user = g_strdup_printf("%spub-%d", bot_opt.user_prefix, i);
		init_peer(&pubs[i], ROLE_PUB, i, room0, user);
		g_free(user);
		for(int j = 0; j < S; j++) {
			bot_peer *s = &subs[i * S + j];
			user = g_strdup_printf("%ssub-%d-%d", bot_opt.user_prefix, i, j);
			init_peer(s, ROLE_SUB, i * S + j, room0, user);
			s->pub = i;
			g_free(user);
		}
	}
	if(bot_opt.mesh > 0)
		init_mesh();
	int mesh_rooms = bot_opt.mesh > 0 ? P / bot_opt.mesh : 1;
	for(int i = 0; i < J; i++) {
		char *room = room_of(mesh_rooms + (bot_opt.room_size > 0 ? i / bot_opt.room_size : 0));
		char *user = g_strdup_printf("%sjoin-%d", bot_opt.user_prefix, i);
		init_peer(&joiners[i], ROLE_JOIN, i, room, user);
		g_free(room);
		g_free(user);
	}
	g_free(room0);
	total_peers = P * (1 + S) + J;

	if(bot_opt.plugin == BOT_PLUGIN_VIDEOROOM) {
		int max_pub =
			MAX(bot_opt.mesh > 0 ? bot_opt.mesh : P, bot_opt.room_size > 0 ? bot_opt.room_size : J) + 1;
		bot_videoroom_setup(mesh_rooms + joiner_rooms(), max_pub, on_rooms, NULL);
	} else {
		start_all();
	}
	g_main_loop_run(loop);
	bot_http_cleanup();
	return exit_code;
}
