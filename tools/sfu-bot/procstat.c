/*! \file procstat.c
 * \brief sfu-bot: what limits a run, read from /proc over the measurement window
 * \details Three readings, each taken when the window opens and when it closes:
 * - Janus's threads (/proc/PID/task/TID/{stat,status}): CPU and involuntary
 *   context switches per thread, grouped by thread name with its trailing
 *   number dropped ("hloop 12" -> "hloop"), so that a saturated event loop, the
 *   plugins' own threads or the HTTP transport show up by name;
 * - the network namespace's UDP counters (/proc/net/snmp) and the per-socket
 *   drop counts of /proc/net/udp, split into Janus's sockets and the bot's
 *   (socket inodes of /proc/PID/fd), so that a receive queue overflow is
 *   blamed on the side it happened on;
 * - the machine: load average, busy and steal time of each CPU (/proc/stat),
 *   and the processes other than Janus and the bot that used CPU in the window
 *   (the machine is shared: the noise is recorded next to the result).
 */
#include "bot.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CPUS 64

typedef struct thread_sample {
	char name[32];
	guint64 ticks, nvcsw;
} thread_sample;

typedef struct cpu_sample {
	guint64 busy, irq, steal, total;
} cpu_sample;

typedef struct proc_snapshot {
	GHashTable *threads; /* tid -> thread_sample */
	GHashTable *procs;   /* pid -> thread_sample (name, ticks) of every process */
	cpu_sample cpu[MAX_CPUS];
	int ncpu;
	double loadavg;
	guint64 udp[9];                 /* Udp: line of /proc/net/snmp */
	guint64 drops_janus, drops_bot; /* sum of per-socket drops */
	guint64 rxq_janus, rxq_bot;     /* bytes queued in receive buffers */
	gint64 at_us;
} proc_snapshot;

static proc_snapshot snap_start, snap_end;
static const char *const udp_fields[9] = {"InDatagrams", "NoPorts", "InErrors", "OutDatagrams",
	"RcvbufErrors", "SndbufErrors", "InCsumErrors", "IgnoredMulti", "MemErrors"};

/* =============================================================================
 * Readers
 * ==========================================================================*/

static gboolean read_text(const char *path, char *buf, size_t size) {
	FILE *f = fopen(path, "r");
	if(f == NULL)
		return FALSE;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n > 0;
}

/* utime + stime and the name of a /proc/.../stat line; FALSE if unreadable. */
static gboolean parse_stat(const char *path, char *name, size_t namelen, guint64 *ticks) {
	char buf[1024];
	if(!read_text(path, buf, sizeof(buf)))
		return FALSE;
	char *open = strchr(buf, '('), *close = strrchr(buf, ')'); /* the name may hold spaces and ')' */
	if(open == NULL || close == NULL || close < open)
		return FALSE;
	size_t n = MIN((size_t)(close - open - 1), namelen - 1);
	memcpy(name, open + 1, n);
	name[n] = '\0';
	unsigned long long ut = 0, st = 0;
	if(sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return FALSE;
	*ticks = ut + st;
	return TRUE;
}

static guint64 read_nvcsw(const char *path) {
	char buf[4096];
	if(!read_text(path, buf, sizeof(buf)))
		return 0;
	const char *p = strstr(buf, "nonvoluntary_ctxt_switches:");
	return p != NULL ? g_ascii_strtoull(p + strlen("nonvoluntary_ctxt_switches:"), NULL, 10) : 0;
}

static void read_threads(GHashTable *out, int pid) {
	char dir[64];
	g_snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	DIR *d = opendir(dir);
	if(d == NULL)
		return;
	struct dirent *e;
	while((e = readdir(d)) != NULL) {
		if(e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[128];
		thread_sample *t = g_new0(thread_sample, 1);
		g_snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
		if(!parse_stat(path, t->name, sizeof(t->name), &t->ticks)) {
			g_free(t);
			continue;
		}
		g_snprintf(path, sizeof(path), "%s/%s/status", dir, e->d_name);
		t->nvcsw = read_nvcsw(path);
		g_hash_table_insert(out, GINT_TO_POINTER(atoi(e->d_name)), t);
	}
	closedir(d);
}

static void read_procs(GHashTable *out) {
	DIR *d = opendir("/proc");
	if(d == NULL)
		return;
	struct dirent *e;
	while((e = readdir(d)) != NULL) {
		if(e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[128];
		thread_sample *t = g_new0(thread_sample, 1);
		g_snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if(parse_stat(path, t->name, sizeof(t->name), &t->ticks))
			g_hash_table_insert(out, GINT_TO_POINTER(atoi(e->d_name)), t);
		else
			g_free(t);
	}
	closedir(d);
}

static void read_cpus(proc_snapshot *s) {
	char buf[8192];
	s->ncpu = 0;
	if(!read_text("/proc/stat", buf, sizeof(buf)))
		return;
	for(char *line = buf; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long long v[8] = {0};
		int id;
		if(strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9')
			continue;
		if(sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5], &v[6], &v[7]) != 9 ||
			id < 0 || id >= MAX_CPUS)
			continue;
		/* user nice system idle iowait irq softirq steal */
		cpu_sample *c = &s->cpu[id];
		c->busy = v[0] + v[1] + v[2] + v[5] + v[6];
		c->irq = v[5] + v[6]; /* interrupts and softirqs: not charged to any process */
		c->steal = v[7];
		c->total = c->busy + v[3] + v[4] + v[7];
		s->ncpu = MAX(s->ncpu, id + 1);
	}
}

/* Socket inodes held open by a process ("socket:[N]" links of /proc/PID/fd). */
static GHashTable *socket_inodes(const char *pid) {
	GHashTable *set = g_hash_table_new(g_int64_hash, g_int64_equal);
	char dir[64];
	g_snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	DIR *d = opendir(dir);
	if(d == NULL)
		return set;
	struct dirent *e;
	while((e = readdir(d)) != NULL) {
		char path[128], link[64];
		g_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if(n <= 0)
			continue;
		link[n] = '\0';
		if(strncmp(link, "socket:[", 8) != 0)
			continue;
		gint64 *ino = g_new(gint64, 1);
		*ino = g_ascii_strtoll(link + 8, NULL, 10);
		g_hash_table_add(set, ino);
	}
	closedir(d);
	return set;
}

static void read_udp(proc_snapshot *s) {
	char buf[2048];
	memset(s->udp, 0, sizeof(s->udp));
	if(read_text("/proc/net/snmp", buf, sizeof(buf))) {
		const char *p = strstr(buf, "\nUdp: ");
		p = p != NULL ? strstr(p + 1, "\nUdp: ") : NULL; /* the second Udp: line holds the values */
		if(p != NULL) {
			char *end = NULL;
			p += strlen("\nUdp: ");
			for(int i = 0; i < 9; i++, p = end)
				s->udp[i] = g_ascii_strtoull(p, &end, 10);
		}
	}
	char pid[16];
	g_snprintf(pid, sizeof(pid), "%d", bot_opt.watch_pid);
	GHashTable *janus = socket_inodes(pid), *self = socket_inodes("self");
	s->drops_janus = s->drops_bot = s->rxq_janus = s->rxq_bot = 0;
	const char *files[2] = {"/proc/net/udp", "/proc/net/udp6"};
	for(int f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "r");
		if(fp == NULL)
			continue;
		char line[512];
		if(fgets(line, sizeof(line), fp) == NULL) { /* header */
			fclose(fp);
			continue;
		}
		while(fgets(line, sizeof(line), fp) != NULL) {
			/* sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ref pointer drops */
			char queues[64];
			unsigned long long ino = 0, drops = 0;
			if(sscanf(line, "%*s %*s %*s %*s %63s %*s %*s %*s %*s %llu %*s %*s %llu", queues, &ino, &drops) !=
				3)
				continue;
			const char *colon = strchr(queues, ':');
			guint64 rxq = colon != NULL ? g_ascii_strtoull(colon + 1, NULL, 16) : 0;
			gint64 key = (gint64)ino;
			if(g_hash_table_contains(janus, &key)) {
				s->drops_janus += drops;
				s->rxq_janus += rxq;
			} else if(g_hash_table_contains(self, &key)) {
				s->drops_bot += drops;
				s->rxq_bot += rxq;
			}
		}
		fclose(fp);
	}
	g_hash_table_destroy(janus);
	g_hash_table_destroy(self);
}

static void snapshot(proc_snapshot *s) {
	if(s->threads == NULL) {
		s->threads = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
		s->procs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	}
	g_hash_table_remove_all(s->threads);
	g_hash_table_remove_all(s->procs);
	s->at_us = bot_now_us();
	if(bot_opt.watch_pid > 0)
		read_threads(s->threads, bot_opt.watch_pid);
	read_procs(s->procs);
	read_cpus(s);
	double la[1] = {0};
	s->loadavg = getloadavg(la, 1) == 1 ? la[0] : -1;
	if(bot_opt.watch_pid > 0)
		read_udp(s);
}

void bot_proc_window_start(void) {
	snapshot(&snap_start);
}

void bot_proc_window_end(void) {
	snapshot(&snap_end);
}

/* =============================================================================
 * Summary
 * ==========================================================================*/

typedef struct thread_class {
	char name[32];
	int threads;
	double cpu_pct, max_pct;
	guint64 nvcsw;
} thread_class;

/* "hloop 12" -> "hloop", "sfu-signal-1" -> "sfu-signal": the name without its trailing number. */
static void class_of(const char *name, char *out, size_t outlen) {
	g_strlcpy(out, name, outlen);
	size_t n = strlen(out);
	while(n > 0 && g_ascii_isdigit(out[n - 1]))
		n--;
	while(n > 1 && (out[n - 1] == ' ' || out[n - 1] == '-' || out[n - 1] == '#'))
		n--;
	out[n] = '\0';
}

static int by_cpu_desc(gconstpointer a, gconstpointer b) {
	double x = ((const thread_class *)a)->cpu_pct, y = ((const thread_class *)b)->cpu_pct;
	return x > y ? -1 : (x < y ? 1 : 0);
}

static double pct(guint64 ticks, double win_s) {
	return win_s > 0 ? 100.0 * (double)ticks / (double)sysconf(_SC_CLK_TCK) / win_s : 0.0;
}

static json_t *threads_json(double win_s) {
	GArray *classes = g_array_new(FALSE, TRUE, sizeof(thread_class));
	GArray *top = g_array_new(FALSE, TRUE, sizeof(thread_class));
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, snap_end.threads);
	while(g_hash_table_iter_next(&it, &key, &value)) {
		thread_sample *e = value, *s = g_hash_table_lookup(snap_start.threads, key);
		guint64 dt = e->ticks - (s != NULL && s->ticks <= e->ticks ? s->ticks : 0);
		guint64 dcs = e->nvcsw - (s != NULL && s->nvcsw <= e->nvcsw ? s->nvcsw : 0);
		double p = pct(dt, win_s);
		char cname[32];
		class_of(e->name, cname, sizeof(cname));
		thread_class *c = NULL;
		for(guint i = 0; i < classes->len && c == NULL; i++)
			if(strcmp(g_array_index(classes, thread_class, i).name, cname) == 0)
				c = &g_array_index(classes, thread_class, i);
		if(c == NULL) {
			thread_class z = {0};
			g_strlcpy(z.name, cname, sizeof(z.name));
			g_array_append_val(classes, z);
			c = &g_array_index(classes, thread_class, classes->len - 1);
		}
		c->threads++;
		c->cpu_pct += p;
		c->max_pct = MAX(c->max_pct, p);
		c->nvcsw += dcs;
		thread_class t = {0};
		g_snprintf(t.name, sizeof(t.name), "%s", e->name);
		t.cpu_pct = p;
		t.nvcsw = dcs;
		g_array_append_val(top, t);
	}
	g_array_sort(classes, by_cpu_desc);
	g_array_sort(top, by_cpu_desc);
	json_t *jc = json_array(), *jt = json_array();
	for(guint i = 0; i < classes->len; i++) {
		thread_class *c = &g_array_index(classes, thread_class, i);
		json_array_append_new(
			jc, json_pack("{sssisfsfsI}", "name", c->name, "threads", c->threads, "cpu_pct", c->cpu_pct,
					"max_thread_cpu_pct", c->max_pct, "involuntary_switches", (json_int_t)c->nvcsw));
	}
	for(guint i = 0; i < MIN(top->len, 5u); i++) {
		thread_class *t = &g_array_index(top, thread_class, i);
		json_array_append_new(jt, json_pack("{sssf}", "name", t->name, "cpu_pct", t->cpu_pct));
	}
	json_t *out =
		json_pack("{sisoso}", "threads", g_hash_table_size(snap_end.threads), "classes", jc, "top", jt);
	g_array_free(classes, TRUE);
	g_array_free(top, TRUE);
	return out;
}

static json_t *net_json(void) {
	json_t *snmp = json_object();
	for(int i = 0; i < 9; i++)
		json_object_set_new(
			snmp, udp_fields[i], json_integer((json_int_t)(snap_end.udp[i] - snap_start.udp[i])));
	return json_pack("{sosIsIsIsI}", "udp_snmp", snmp, "janus_socket_drops",
		(json_int_t)(snap_end.drops_janus - MIN(snap_start.drops_janus, snap_end.drops_janus)),
		"bot_socket_drops", (json_int_t)(snap_end.drops_bot - MIN(snap_start.drops_bot, snap_end.drops_bot)),
		"janus_rx_queue_bytes_end", (json_int_t)snap_end.rxq_janus, "bot_rx_queue_bytes_end",
		(json_int_t)snap_end.rxq_bot);
}

static json_t *machine_json(double win_s) {
	json_t *cpus = json_array();
	guint64 busy_all = 0;
	for(int i = 0; i < snap_end.ncpu; i++) {
		cpu_sample *a = &snap_start.cpu[i], *b = &snap_end.cpu[i];
		guint64 total = b->total - a->total, busy = b->busy - a->busy, steal = b->steal - a->steal,
				irq = b->irq - a->irq;
		busy_all += busy - irq;
		json_array_append_new(cpus,
			json_pack("{sisfsfsf}", "cpu", i, "busy_pct", total ? 100.0 * (double)busy / (double)total : 0.0,
				"irq_pct", total ? 100.0 * (double)irq / (double)total : 0.0, "steal_pct",
				total ? 100.0 * (double)steal / (double)total : 0.0));
	}
	/* other processes: all the CPU time of the machine in the window but Janus's,
	 * ours and interrupts/softirqs (the network stack's work for our packets is
	 * there); this counts processes that started or ended within the window;
	 * the named ones are those alive all along */
	int self = (int)getpid();
	guint64 ours = 0;
	for(int k = 0; k < 2; k++) {
		gpointer pid = GINT_TO_POINTER(k == 0 ? self : bot_opt.watch_pid);
		thread_sample *e = g_hash_table_lookup(snap_end.procs, pid),
					  *s = g_hash_table_lookup(snap_start.procs, pid);
		if(e != NULL && s != NULL && e->ticks >= s->ticks)
			ours += e->ticks - s->ticks;
	}
	double others_pct = pct(busy_all > ours ? busy_all - ours : 0, win_s);
	GArray *others = g_array_new(FALSE, TRUE, sizeof(thread_class));
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, snap_end.procs);
	while(g_hash_table_iter_next(&it, &key, &value)) {
		int pid = GPOINTER_TO_INT(key);
		thread_sample *e = value, *s = g_hash_table_lookup(snap_start.procs, key);
		if(pid == self || pid == bot_opt.watch_pid || s == NULL || e->ticks <= s->ticks)
			continue;
		thread_class t = {0};
		g_strlcpy(t.name, e->name, sizeof(t.name));
		t.cpu_pct = pct(e->ticks - s->ticks, win_s);
		g_array_append_val(others, t);
	}
	g_array_sort(others, by_cpu_desc);
	json_t *top = json_array();
	for(guint i = 0; i < MIN(others->len, 5u); i++) {
		thread_class *t = &g_array_index(others, thread_class, i);
		json_array_append_new(top, json_pack("{sssf}", "name", t->name, "cpu_pct", t->cpu_pct));
	}
	g_array_free(others, TRUE);
	return json_pack("{sfsfsososfsf}", "loadavg_start", snap_start.loadavg, "loadavg_end", snap_end.loadavg,
		"cpus", cpus, "other_processes", top, "other_processes_cpu_pct", others_pct,
		"process_cpu_all_cpus_pct", pct(busy_all, win_s));
}

void bot_proc_summary(json_t *out) {
	if(snap_start.threads == NULL || snap_end.threads == NULL)
		return;
	double win_s = (double)(snap_end.at_us - snap_start.at_us) / 1e6;
	if(bot_opt.watch_pid > 0) {
		json_object_set_new(out, "janus_threads", threads_json(win_s));
		json_object_set_new(out, "net", net_json());
	}
	json_object_set_new(out, "machine_load", machine_json(win_s));
}
