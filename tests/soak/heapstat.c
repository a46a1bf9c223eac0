/*! \file heapstat.c
 * \brief The soak's heap probe (tests/soak/soak.mjs): LD_PRELOADed into Janus, it writes glibc's malloc
 * accounting to $SOAK_HEAP_FILE once a second, as one line "<bytes in use> <bytes held from the system>".
 * \details RSS is what an operator sees, but in a young process it keeps creeping for minutes (per-thread
 * malloc arenas reaching their high-water marks one by one, fragmentation), which hides a small leak in a
 * short run. The bytes malloc has handed out and not been given back (mallinfo2: uordblks + hblkhd) do not
 * move with that: a leak of a few hundred bytes per handle shows within a minute. The file is replaced
 * atomically (write, then rename), so a reader never sees a torn line.
 *
 *   cc -O2 -shared -fPIC -o heapstat.so tests/soak/heapstat.c -pthread
 *   SOAK_HEAP_FILE=/tmp/heap LD_PRELOAD=./heapstat.so janus ...
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[4096], tmp[4100];

static void *probe(void *arg) {
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* Janus's signal handlers run on its own threads */
	for(;;) {
		struct mallinfo2 mi = mallinfo2();
		FILE *f = fopen(tmp, "w");
		if(f != NULL) {
			fprintf(f, "%zu %zu\n", mi.uordblks + mi.hblkhd, mi.arena + mi.hblkhd);
			fclose(f);
			rename(tmp, path);
		}
		sleep(1);
	}
	return NULL;
}

__attribute__((constructor)) static void heapstat_start(void) {
	const char *p = getenv("SOAK_HEAP_FILE");
	if(p == NULL || *p == '\0' || strlen(p) >= sizeof(path))
		return;
	strcpy(path, p);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&t, &attr, probe, NULL);
	pthread_attr_destroy(&attr);
}
