/*! \file    test-stats.c
 * \brief    Unit tests for sfu_stats: counting, reading, out-of-range ids, concurrent counting.
 */
#include <glib.h>

#include "sfu_stats.h"

static void test_add_and_get(void) {
	guint64 before = sfu_stats_get(SFU_STAT_RTP_BYTES);
	sfu_stats_add(SFU_STAT_RTP_BYTES, 1200);
	sfu_stats_inc(SFU_STAT_RTP_BYTES);
	g_assert_cmpuint(sfu_stats_get(SFU_STAT_RTP_BYTES), ==, before + 1201);
	/* Counters are independent. */
	guint64 kicks = sfu_stats_get(SFU_STAT_KICKS);
	sfu_stats_inc(SFU_STAT_ADMIN_KICKS);
	g_assert_cmpuint(sfu_stats_get(SFU_STAT_KICKS), ==, kicks);
}

static void test_out_of_range(void) {
	sfu_stats_inc(SFU_STAT_COUNT);
	sfu_stats_add((sfu_stat)-1, 5);
	g_assert_cmpuint(sfu_stats_get(SFU_STAT_COUNT), ==, 0);
	g_assert_cmpuint(sfu_stats_get((sfu_stat)-1), ==, 0);
}

#define THREADS    4
#define PER_THREAD 100000

static gpointer counting(gpointer unused) {
	(void)unused;
	for(int i = 0; i < PER_THREAD; i++)
		sfu_stats_inc(SFU_STAT_REQUESTS);
	return NULL;
}

static void test_concurrent(void) {
	guint64 before = sfu_stats_get(SFU_STAT_REQUESTS);
	GThread *threads[THREADS];
	for(int i = 0; i < THREADS; i++)
		threads[i] = g_thread_new("count", counting, NULL);
	for(int i = 0; i < THREADS; i++)
		g_thread_join(threads[i]);
	g_assert_cmpuint(sfu_stats_get(SFU_STAT_REQUESTS), ==, before + (guint64)THREADS * PER_THREAD);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stats/add-and-get", test_add_and_get);
	g_test_add_func("/stats/out-of-range", test_out_of_range);
	g_test_add_func("/stats/concurrent", test_concurrent);
	return g_test_run();
}
