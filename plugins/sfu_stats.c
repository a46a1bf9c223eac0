/*! \file    sfu_stats.c
 * \brief    janus-sfu: the plugin's counters (see sfu_stats.h)
 */
#include "sfu_stats.h"

static guint64 counters[SFU_STAT_COUNT];

void sfu_stats_add(sfu_stat which, guint64 n) {
	if((unsigned)which < SFU_STAT_COUNT)
		__atomic_fetch_add(&counters[which], n, __ATOMIC_RELAXED);
}

void sfu_stats_inc(sfu_stat which) {
	sfu_stats_add(which, 1);
}

guint64 sfu_stats_get(sfu_stat which) {
	return (unsigned)which < SFU_STAT_COUNT ? __atomic_load_n(&counters[which], __ATOMIC_RELAXED) : 0;
}
