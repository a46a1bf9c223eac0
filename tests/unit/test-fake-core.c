/*! \file    test-fake-core.c
 * \brief    Self-tests of the recording fake core (tests/unit/support/fake-core.c), which every test of
 *           code that calls the Janus core relies on: per-handle counters, push and notify recordings and
 *           who owns what, the events switch, the hooks, reset, and the lock probe.
 */
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "sfu_core.h"
#include "sfu_registry.h"
#include "support/fake-core.h"

#define MAX_JH 8

static janus_plugin_session jhs[MAX_JH];

static void jh_free(const janus_refcount *ref) {
	(void)ref;
}

static void setup(void) {
	for(int i = 0; i < MAX_JH; i++)
		janus_refcount_init(&jhs[i].ref, jh_free);
	fake_core_install();
}

/* Every test ends here: the violations are the ones the test expected. */
static void teardown(guint violations_expected) {
	g_assert_cmpuint(sfu_core_lock_violations(), ==, violations_expected);
	fake_core_uninstall();
}

static void test_fake_core_records(void) {
	/* The recording fake itself: counts per handle, notify ownership, events switch. */
	setup();
	guint v0 = sfu_core_lock_violations();
	janus_plugin_rtp rtp = {0};
	janus_plugin_rtcp rtcp = {0};
	janus_plugin_data data = {0};
	sfu_core_relay_rtp(&jhs[0], &rtp);
	sfu_core_relay_rtp(&jhs[0], &rtp);
	sfu_core_relay_rtcp(&jhs[1], &rtcp);
	sfu_core_relay_data(&jhs[1], &data);
	sfu_core_send_pli(&jhs[2]);
	sfu_core_end_session(&jhs[2]);
	g_assert_cmpuint(fake_core_count(FAKE_RELAY_RTP, &jhs[0]), ==, 2);
	g_assert_cmpuint(fake_core_count(FAKE_RELAY_RTP, &jhs[1]), ==, 0);
	g_assert_cmpuint(fake_core_count(FAKE_RELAY_RTCP, NULL), ==, 1);
	g_assert_cmpuint(fake_core_count(FAKE_RELAY_DATA, &jhs[1]), ==, 1);
	g_assert_cmpuint(fake_core_count(FAKE_SEND_PLI, &jhs[2]), ==, 1);
	g_assert_cmpuint(fake_core_count(FAKE_END_SESSION, &jhs[2]), ==, 1);
	json_t *msg = json_pack("{sb}", "success", 1), *jsep = json_pack("{ssss}", "type", "offer", "sdp", "v=0");
	g_assert_cmpint(sfu_core_push_event(&jhs[3], "tx", msg, jsep), ==, 0);
	g_assert_cmpint(msg->refcount, ==, 1); /* the caller keeps its reference */
	json_decref(msg);
	json_decref(jsep);
	fake_push p;
	g_assert_true(fake_core_push_get(0, &p));
	g_assert_true(p.handle == &jhs[3]);
	g_assert_cmpstr(p.transaction, ==, "tx");
	g_assert_cmpstr(p.message, ==, "{\"success\":true}");
	g_assert_cmpstr(p.jsep, ==, "{\"sdp\":\"v=0\",\"type\":\"offer\"}");
	fake_push_clear(&p);
	g_assert_false(fake_core_push_get(1, &p));
	char *last = fake_core_last_push(&jhs[3]);
	g_assert_cmpstr(last, ==, "{\"success\":true}");
	g_free(last);
	g_assert_true(sfu_core_events_enabled());
	sfu_core_notify_event(&jhs[3], json_pack("{ss}", "audit", "x")); /* stolen */
	g_assert_cmpuint(fake_core_notify_count(), ==, 1);
	last = fake_core_last_notify();
	g_assert_cmpstr(last, ==, "{\"audit\":\"x\"}");
	g_free(last);
	fake_core_set_events_enabled(FALSE);
	g_assert_false(sfu_core_events_enabled());
	sfu_core_notify_event(&jhs[3], json_pack("{ss}", "audit", "y")); /* dropped, still freed */
	g_assert_cmpuint(fake_core_notify_count(), ==, 1);
	fake_core_reset();
	g_assert_cmpuint(fake_core_push_count(), ==, 0);
	g_assert_cmpuint(fake_core_count(FAKE_RELAY_RTP, NULL), ==, 0);
	teardown(v0);
}

/* The hooks run after the call is recorded, with what was pushed. */
static janus_plugin_session *ended = NULL;
static char *pushed = NULL;

static void on_end(janus_plugin_session *handle) {
	ended = handle;
	/* The call is already recorded when the hook runs. */
	g_assert_cmpuint(fake_core_count(FAKE_END_SESSION, handle), ==, 1);
}

static void on_push(janus_plugin_session *handle, const char *message) {
	(void)handle;
	g_free(pushed);
	pushed = g_strdup(message);
}

static void test_hooks(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	fake_core_set_end_session_hook(on_end);
	fake_core_set_push_hook(on_push);
	sfu_core_end_session(&jhs[1]);
	g_assert_true(ended == &jhs[1]);
	json_t *msg = json_pack("{ss}", "event", "x");
	sfu_core_push_event(&jhs[0], NULL, msg, NULL);
	json_decref(msg);
	g_assert_cmpstr(pushed, ==, "{\"event\":\"x\"}");
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[0], "\"x\""), ==, 1);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[1], NULL), ==, 0);
	fake_core_set_end_session_hook(NULL);
	fake_core_set_push_hook(NULL);
	g_clear_pointer(&pushed, g_free);
	ended = NULL;
	teardown(v0);
}

/* The probe counts the signalling core calls (push_event, notify_event, close_pc, end_session) made between
 * fake_core_lock_enter() and fake_core_lock_leave(), and while the registry lock is held; none outside. The
 * media calls (relay_*, send_pli) are not probed: the media path takes no registry lock. */
static void test_lock_probe(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_core_close_pc(&jhs[0]);
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0);
	json_t *msg = json_pack("{ss}", "event", "x");
	fake_core_lock_enter();
	sfu_core_close_pc(&jhs[0]);
	sfu_core_push_event(&jhs[0], NULL, msg, NULL);
	sfu_core_send_pli(&jhs[0]);
	fake_core_lock_leave();
	json_decref(msg);
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0 + 2);
	g_assert_cmpuint(fake_core_count(FAKE_CLOSE_PC, &jhs[0]), ==, 2); /* still made, and recorded */
	g_assert_cmpuint(fake_core_count(FAKE_SEND_PLI, &jhs[0]), ==, 1);
	sfu_registry_init(10);
	sfu_registry_lock();
	sfu_core_end_session(&jhs[1]);
	sfu_registry_unlock();
	sfu_registry_shutdown();
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0 + 3);
	teardown(v0 + 3);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fake-core/records", test_fake_core_records);
	g_test_add_func("/fake-core/hooks", test_hooks);
	g_test_add_func("/fake-core/lock-probe", test_lock_probe);
	return g_test_run();
}
