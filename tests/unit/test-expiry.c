/*! \file    test-expiry.c
 * \brief    Unit tests for sfu_expiry, the deadline scheduler (bans: test-bans.c).
 */
#include <string.h>
#include <glib.h>

#include "sfu_expiry.h"
#include "sfu_lock.h"

typedef struct fired {
	char *room, *user;
	sfu_expiry_kind kind;
	gint64 deadline, late;
} fired;

/* pthread (sfu_lock.h), not GMutex/GCond: ThreadSanitizer cannot see GLib's futex-based locks. */
static sfu_mutex lock = SFU_MUTEX_INIT;
static sfu_cond cond;
static GPtrArray *log_fired = NULL;

static void fired_free(gpointer p) {
	fired *f = p;
	g_free(f->room);
	g_free(f->user);
	g_free(f);
}

static void on_fire(const char *room, const char *user, sfu_expiry_kind kind, gint64 deadline, gint64 late) {
	fired *f = g_new0(fired, 1);
	f->room = g_strdup(room);
	f->user = g_strdup(user);
	f->kind = kind;
	f->deadline = deadline;
	f->late = late;
	sfu_mutex_lock(&lock);
	g_ptr_array_add(log_fired, f);
	sfu_cond_broadcast(&cond);
	sfu_mutex_unlock(&lock);
	/* The callback may schedule again (ejections cancel other deadlines): no lock is held here. */
	sfu_expiry_set(room, user, SFU_EXPIRY_WARN, 0);
}

static guint wait_fired(guint n, gint64 timeout_ms) {
	gint64 end = g_get_monotonic_time() + timeout_ms * 1000;
	sfu_mutex_lock(&lock);
	while(log_fired->len < n && g_get_monotonic_time() < end)
		sfu_cond_wait_until(&cond, &lock, end);
	guint got = log_fired->len;
	sfu_mutex_unlock(&lock);
	return got;
}

static void setup(void) {
	sfu_cond_init(&cond);
	log_fired = g_ptr_array_new_with_free_func(fired_free);
	g_assert_cmpint(sfu_expiry_start(on_fire), ==, 0);
}

static void teardown(void) {
	sfu_expiry_stop();
	g_ptr_array_unref(log_fired);
	log_fired = NULL;
	sfu_cond_clear(&cond);
}

static void test_fires_in_order_on_time(void) {
	setup();
	gint64 now = g_get_real_time();
	sfu_expiry_set("r", "c", SFU_EXPIRY_TOKEN, now + 300000);
	sfu_expiry_set("r", "a", SFU_EXPIRY_TOKEN, now + 100000);
	sfu_expiry_set("r", "b", SFU_EXPIRY_SESSION, now + 200000);
	g_assert_cmpuint(sfu_expiry_count(), ==, 3);
	g_assert_cmpuint(wait_fired(3, 2000), ==, 3);
	const char *order[] = {"a", "b", "c"};
	for(guint i = 0; i < 3; i++) {
		fired *f = log_fired->pdata[i];
		g_assert_cmpstr(f->user, ==, order[i]);
		g_assert_cmpstr(f->room, ==, "r");
		g_assert_cmpint(f->late, >=, 0);
		g_assert_cmpint(f->late, <, 200000); /* well within the 1 s the issue allows */
	}
	g_assert_cmpint(((fired *)log_fired->pdata[1])->kind, ==, SFU_EXPIRY_SESSION);
	g_assert_cmpuint(sfu_expiry_count(), ==, 0);
	teardown();
}

static void test_move_and_cancel(void) {
	setup();
	gint64 now = g_get_real_time();
	sfu_expiry_set("r", "moved", SFU_EXPIRY_TOKEN, now + 100000);
	sfu_expiry_set("r", "moved", SFU_EXPIRY_TOKEN, now + 400000); /* a refresh moves it later */
	sfu_expiry_set("r", "gone", SFU_EXPIRY_TOKEN, now + 100000);
	sfu_expiry_set("r", "gone", SFU_EXPIRY_WARN, now + 50000);
	g_assert_cmpint(sfu_expiry_get("r", "moved", SFU_EXPIRY_TOKEN), ==, now + 400000);
	sfu_expiry_cancel_user("r", "gone");
	g_assert_cmpint(sfu_expiry_get("r", "gone", SFU_EXPIRY_TOKEN), ==, 0);
	g_usleep(250000);
	g_assert_cmpuint(wait_fired(1, 10), ==, 0); /* nothing yet: moved is at +400 ms, gone was cancelled */
	g_assert_cmpuint(wait_fired(1, 2000), ==, 1);
	fired *f = log_fired->pdata[0];
	g_assert_cmpstr(f->user, ==, "moved");
	g_assert_cmpint(f->deadline, ==, now + 400000);
	teardown();
}

static void test_earlier_deadline_wakes_the_thread(void) {
	setup();
	gint64 now = g_get_real_time();
	sfu_expiry_set("r", "late", SFU_EXPIRY_TOKEN, now + 10 * G_USEC_PER_SEC);
	g_usleep(20000); /* the thread now sleeps until +10 s */
	sfu_expiry_set("r", "early", SFU_EXPIRY_TOKEN, g_get_real_time() + 50000);
	g_assert_cmpuint(wait_fired(1, 1000), ==, 1);
	g_assert_cmpstr(((fired *)log_fired->pdata[0])->user, ==, "early");
	teardown();
}

static void test_many_participants(void) {
	setup();
	gint64 start = g_get_real_time() + 2 * G_USEC_PER_SEC; /* room for a slow (valgrind) insert loop */
	const guint n = 1000;
	for(guint i = 0; i < n; i++) {
		char user[32];
		g_snprintf(user, sizeof(user), "u%u", i);
		sfu_expiry_set("big", user, SFU_EXPIRY_TOKEN, start + (i % 500) * 1000);
	}
	g_assert_cmpuint(sfu_expiry_count(), ==, n);
	g_assert_cmpuint(wait_fired(n, 10000), ==, n);
	gint64 worst = 0;
	for(guint i = 0; i < n; i++)
		worst = MAX(worst, ((fired *)log_fired->pdata[i])->late);
	g_assert_cmpint(worst, <, G_USEC_PER_SEC); /* every ejection within 1 s of its deadline */
	teardown();
}

/* Keys are compared field by field: ids holding any byte (the old key's separator 0x1f among them) never
 * collide (issue 10). */
static void test_keys_never_collide(void) {
	setup();
	gint64 far = g_get_real_time() + (gint64)3600 * G_USEC_PER_SEC;
	sfu_expiry_set("a\x1f"
				   "b",
		"c", SFU_EXPIRY_TOKEN, far);
	sfu_expiry_set("a",
		"b\x1f"
		"c",
		SFU_EXPIRY_TOKEN, far + 1);
	sfu_expiry_set("a",
		"b\x1f"
		"c",
		SFU_EXPIRY_WARN, far + 2);
	g_assert_cmpuint(sfu_expiry_count(), ==, 3);
	g_assert_cmpint(sfu_expiry_get("a\x1f"
								   "b",
						"c", SFU_EXPIRY_TOKEN),
		==, far);
	g_assert_cmpint(sfu_expiry_get("a",
						"b\x1f"
						"c",
						SFU_EXPIRY_TOKEN),
		==, far + 1);
	sfu_expiry_cancel_user("a", "b\x1f"
								"c");
	g_assert_cmpuint(sfu_expiry_count(), ==, 1);
	g_assert_cmpint(sfu_expiry_get("a\x1f"
								   "b",
						"c", SFU_EXPIRY_TOKEN),
		==, far);
	teardown();
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/expiry/fires_in_order_on_time", test_fires_in_order_on_time);
	g_test_add_func("/expiry/move_and_cancel", test_move_and_cancel);
	g_test_add_func("/expiry/earlier_deadline_wakes_the_thread", test_earlier_deadline_wakes_the_thread);
	g_test_add_func("/expiry/many_participants", test_many_participants);
	g_test_add_func("/expiry/keys_never_collide", test_keys_never_collide);
	return g_test_run();
}
