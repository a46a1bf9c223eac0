/*! \file    janus-stubs.c
 * \brief    The Janus executable's globals and logger, for binaries that run without Janus
 * \details  Janus exports these from /usr/bin/janus, not from a library (see
 * docs/DESIGN.md). Unit tests, fuzz replays and sfu-token link this file
 * instead. Log output goes to stderr when SFU_TEST_LOG is set, and is always
 * kept in a ring the tests can inspect (sfu_test_log_contains) so they can
 * assert what was, and was not, logged (e.g. that no token is ever logged).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include <debug.h>
#include <mutex.h>
#include <refcount.h>

#include "janus-stubs.h"
#include "sfu_lock.h"

int janus_log_level = LOG_VERB;
gboolean janus_log_timestamps = FALSE;
gboolean janus_log_colors = FALSE;
char *janus_log_global_prefix = NULL;
int lock_debug = 0;
int refcount_debug = 0;
GHashTable *counters = NULL;
janus_mutex counters_mutex;

static GString *captured = NULL;
static sfu_mutex captured_mutex = SFU_MUTEX_INIT; /* pthread: ThreadSanitizer sees it */

void janus_vprintf(const char *format, ...) {
	va_list ap;
	va_start(ap, format);
	char *line = g_strdup_vprintf(format, ap);
	va_end(ap);
	sfu_mutex_lock(&captured_mutex);
	if(captured == NULL)
		captured = g_string_new(NULL);
	if(captured->len > (1 << 20))
		g_string_truncate(captured, 0);
	g_string_append(captured, line);
	sfu_mutex_unlock(&captured_mutex);
	if(g_getenv("SFU_TEST_LOG") != NULL)
		fputs(line, stderr);
	g_free(line);
}

gboolean sfu_test_log_contains(const char *needle) {
	sfu_mutex_lock(&captured_mutex);
	gboolean found = captured != NULL && strstr(captured->str, needle) != NULL;
	sfu_mutex_unlock(&captured_mutex);
	return found;
}

guint sfu_test_log_count(const char *needle) {
	guint n = 0;
	sfu_mutex_lock(&captured_mutex);
	for(const char *p = captured ? captured->str : NULL; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	sfu_mutex_unlock(&captured_mutex);
	return n;
}

void sfu_test_log_clear(void) {
	sfu_mutex_lock(&captured_mutex);
	if(captured != NULL)
		g_string_truncate(captured, 0);
	sfu_mutex_unlock(&captured_mutex);
}
