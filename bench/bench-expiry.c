/*! \file    bench-expiry.c
 * \brief    Benchmark of the participant deadline scheduler (sfu_expiry)
 * \details  Tracks N participants (default 10,000) with random expiries spread
 * over a window (default 5 s), refreshes a fraction of them while running (each
 * refresh moves a deadline, as an in-band token refresh does), and prints the
 * lateness of every firing: p50, p99 and max, in milliseconds, plus the cost of
 * a scheduling operation. Usage: bench-expiry [participants] [window_ms]
 */
#include <stdio.h>
#include <stdlib.h>

#include "sfu_expiry.h"

static GMutex lock;
static GArray *lateness = NULL; /* gint64 µs */
static volatile gint fired = 0;

static void on_fire(
	const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us, gint64 late_us) {
	(void)room_id;
	(void)user_id;
	(void)kind;
	(void)deadline_us;
	g_mutex_lock(&lock);
	g_array_append_val(lateness, late_us);
	g_mutex_unlock(&lock);
	g_atomic_int_inc(&fired);
}

static int cmp64(const void *a, const void *b) {
	gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	int window_ms = argc > 2 ? atoi(argv[2]) : 5000;
	if(n <= 0 || window_ms <= 0)
		return 2;
	lateness = g_array_sized_new(FALSE, FALSE, sizeof(gint64), n);
	GRand *rng = g_rand_new_with_seed(42);
	if(sfu_expiry_start(on_fire) < 0)
		return 1;
	gint64 start = g_get_real_time() + 500 * 1000;
	gint64 t0 = g_get_monotonic_time();
	for(int i = 0; i < n; i++) {
		char user[32];
		g_snprintf(user, sizeof(user), "user-%d", i);
		sfu_expiry_set(
			"bench-room", user, SFU_EXPIRY_TOKEN, start + g_rand_int_range(rng, 0, window_ms * 1000));
	}
	gint64 t1 = g_get_monotonic_time();
	/* Refresh 20% of them once: each moves its deadline later, like an in-band refresh. */
	int refreshed = 0;
	for(int i = 0; i < n; i += 5) {
		char user[32];
		g_snprintf(user, sizeof(user), "user-%d", i);
		sfu_expiry_set("bench-room", user, SFU_EXPIRY_TOKEN,
			start + g_rand_int_range(rng, window_ms * 500, window_ms * 1000));
		refreshed++;
	}
	gint64 t2 = g_get_monotonic_time();
	while(g_atomic_int_get(&fired) < n && g_get_monotonic_time() - t0 < (gint64)(window_ms + 10000) * 1000)
		g_usleep(10000);
	sfu_expiry_stop();
	g_array_sort(lateness, cmp64);
	guint m = lateness->len;
	gint64 p50 = m ? g_array_index(lateness, gint64, m / 2) : -1;
	gint64 p99 = m ? g_array_index(lateness, gint64, (m * 99) / 100) : -1;
	gint64 max = m ? g_array_index(lateness, gint64, m - 1) : -1;
	printf("{\"participants\": %d, \"window_ms\": %d, \"fired\": %u, \"insert_us_per_op\": %.3f, "
		   "\"refresh_us_per_op\": %.3f, \"lateness_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
		n, window_ms, m, (double)(t1 - t0) / n, refreshed ? (double)(t2 - t1) / refreshed : 0.0, p50 / 1000.0,
		p99 / 1000.0, max / 1000.0);
	g_array_free(lateness, TRUE);
	g_rand_free(rng);
	return m == (guint)n ? 0 : 1;
}
