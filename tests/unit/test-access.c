/*! \file    test-access.c
 * \brief    Unit tests for sfu_access with the fake core and no Janus: admission (bans, identity binding,
 *           jti claims), binding, refresh, kick + ban ordering, ejection, expiry, departures, and the rule
 *           that no core call happens under the registry lock (with a test that the probe can fire).
 * \details  Grants are built by hand (no tokens at this level: sfu_token has its own tests) and the
 *           configuration is sfu_config_new_defaults() with a few keys changed per test. The fake core's
 *           hooks look at the state at the moment of a push or an end_session.
 */
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "sfu_access.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_expiry.h"
#include "sfu_lock.h"
#include "sfu_registry.h"
#include "support/fake-core.h"
#include "support/janus-stubs.h"

#define MAX_JH 64

static janus_plugin_session jhs[MAX_JH];
static sfu_config *cfg = NULL;
static GPtrArray *held = NULL; /* a reference to every handle a test added: they outlive their ejection */

static void jh_free(const janus_refcount *ref) {
	(void)ref;
}

/* =============================================================================
 * Helpers
 * ==========================================================================*/

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

/* Start registry and sfu_access with the defaults, changed by \p tweak. @returns the lock violations so far */
static guint setup_with(void (*tweak)(sfu_config *c)) {
	for(int i = 0; i < MAX_JH; i++)
		janus_refcount_init(&jhs[i].ref, jh_free);
	fake_core_install();
	sfu_registry_init(1000);
	held = g_ptr_array_new_with_free_func((GDestroyNotify)sfu_handle_unref);
	cfg = sfu_config_new_defaults();
	if(tweak != NULL)
		tweak(cfg);
	g_assert_cmpint(sfu_access_start(cfg), ==, 0);
	return sfu_core_lock_violations();
}

static guint setup(void) {
	return setup_with(NULL);
}

/* Every test ends here: nothing was called into the core with the registry lock held. */
static void teardown(guint violations_before) {
	sfu_access_stop();
	sfu_registry_shutdown();
	g_clear_pointer(&held, g_ptr_array_unref);
	g_assert_cmpuint(sfu_core_lock_violations(), ==, violations_before);
	fake_core_uninstall();
	sfu_config_free(cfg);
	cfg = NULL;
}

static sfu_handle *add(int i) {
	sfu_handle *h = sfu_registry_add(&jhs[i]);
	g_assert_nonnull(h);
	sfu_handle_ref(h);
	g_ptr_array_add(held, h);
	return h;
}

/* A verified token's grant, by hand: everything allowed in every room, \p exp 0 = no expiry. */
static void grant_init(sfu_grant *g, const char *user_id, const char *sub, const char *jti, gint64 exp) {
	memset(g, 0, sizeof(*g));
	g->exp = exp;
	g->join_hub = g->kick_users = g->publish_media = g->send_data = TRUE;
	g->any_room = TRUE;
	g->user_id = g_strdup(user_id);
	g->sub = g_strdup(sub);
	g->jti = g_strdup(jti);
	g->kid = g_strdup("k1");
}

/* A publisher join (naf-janus-adapter's: notifications and data), or a subscriber join receiving \p media. */
static sfu_err join_full(sfu_handle *h, const char *room, const char *user, gboolean publisher,
	const char *media, const sfu_grant *g, json_t **users_out, const char **reason_out) {
	sfu_join_request r = {.room_id = room,
		.user_id = user,
		.role = publisher ? SFU_ROLE_PUBLISHER : SFU_ROLE_SUBSCRIBER,
		.subscribe = TRUE,
		.notifications = publisher,
		.data = publisher,
		.media = media};
	json_t *users = NULL;
	char *offer = NULL;
	const char *reason = NULL;
	sfu_err err = sfu_access_join(h, &r, g, &users, &offer, &reason, NULL);
	if(err == SFU_OK) {
		g_assert_nonnull(users);
		g_assert_null(reason);
	} else {
		g_assert_null(users);
		g_assert_null(offer);
	}
	g_free(offer);
	if(users_out != NULL)
		*users_out = users;
	else
		json_decref(users);
	if(reason_out != NULL)
		*reason_out = reason;
	return err;
}

static sfu_err join_pub(sfu_handle *h, const char *room, const char *user, const sfu_grant *g) {
	return join_full(h, room, user, TRUE, NULL, g, NULL, NULL);
}

/* A publisher whose subscriber offer is known (so subscribers can receive it). */
static void join_pub_ready(sfu_handle *h, const char *room, const char *user, const sfu_grant *g) {
	g_assert_cmpint(join_pub(h, room, user, g), ==, SFU_OK);
	g_ptr_array_unref(sfu_registry_set_offer(h, g_strdup("v=0"), 111, 96));
}

static guint pushes_to(sfu_handle *h, const char *needle) {
	return fake_core_pushes_matching(h->jh, needle);
}

static guint ended(sfu_handle *h) {
	return fake_core_count(FAKE_END_SESSION, h->jh);
}

/* Poll \p cond for up to \p timeout_ms (the scheduler runs on its own thread). */
static gboolean eventually(gboolean (*cond)(gpointer), gpointer data, int timeout_ms) {
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while(!cond(data)) {
		if(g_get_monotonic_time() > end)
			return FALSE;
		g_usleep(5000);
	}
	return TRUE;
}

static gboolean was_ended(gpointer h) {
	return ended(h) > 0;
}

/* The end_session hook as Janus does it: the core destroys the handle (destroy_session -> detach). */
static void detach_on_end(janus_plugin_session *jh) {
	g_assert_false(sfu_registry_lock_held());
	g_assert_true(sfu_access_detach(jh));
}

static gint64 eject_deadline_us(gint64 exp) {
	return (exp + (gint64)cfg->clock_leeway_s + (gint64)cfg->expiry_grace_s) * G_USEC_PER_SEC;
}

/* =============================================================================
 * The lock probe
 * ==========================================================================*/

/* The probe is not vacuous: a core call made while holding the registry lock is counted. */
static void test_lock_probe_fires(void) {
	guint v0 = setup();
	json_t *ev = json_pack("{ss}", "event", "probe");
	sfu_registry_lock();
	g_assert_true(sfu_registry_lock_held());
	sfu_core_push_event(&jhs[0], NULL, ev, NULL);
	sfu_core_end_session(&jhs[1]);
	sfu_registry_unlock();
	g_assert_false(sfu_registry_lock_held());
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0 + 2);
	/* Without the lock: not counted. */
	sfu_core_push_event(&jhs[0], NULL, ev, NULL);
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0 + 2);
	json_decref(ev);
	teardown(v0 + 2);
}

/* =============================================================================
 * Admission
 * ==========================================================================*/

static void test_admit_ok(void) {
	guint v0 = setup();
	sfu_handle *a = add(0), *b = add(1);
	sfu_grant ga, gb;
	grant_init(&ga, "alice", "s-alice", "j-alice", now_s() + 3600);
	grant_init(&gb, "bob", "s-bob", "j-bob", now_s() + 3600);
	json_t *users = NULL;
	g_assert_cmpint(join_full(a, "r", "alice", TRUE, NULL, &ga, &users, NULL), ==, SFU_OK);
	g_assert_cmpuint(json_array_size(users), ==, 0);
	json_decref(users);
	g_assert_cmpint(join_full(b, "r", "bob", TRUE, NULL, &gb, &users, NULL), ==, SFU_OK);
	g_assert_cmpuint(json_array_size(users), ==, 1);
	g_assert_cmpstr(json_string_value(json_array_get(users, 0)), ==, "alice");
	json_decref(users);
	/* alice hears of bob; the grant is attached to each handle. */
	g_assert_cmpuint(pushes_to(a, "\"event\":\"join\""), ==, 1);
	g_assert_cmpuint(pushes_to(a, "\"user_id\":\"bob\""), ==, 1);
	g_assert_cmpuint(pushes_to(b, NULL), ==, 0);
	g_assert_cmpstr(a->auth.bound_user, ==, "alice");
	g_assert_cmpstr(b->auth.sub, ==, "s-bob");
	g_assert_cmpint(b->auth.exp, ==, gb.exp);
	g_assert_cmpint(sfu_expiry_get("r", "bob", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(gb.exp));
	sfu_grant_clear(&ga);
	sfu_grant_clear(&gb);
	teardown(v0);
}

/* A user banned from a room (by user_id, or by the sub/jti a kick recorded) cannot join it; other rooms are
 * not concerned; nothing changes on a refusal. */
static void test_admit_banned(void) {
	guint v0 = setup();
	sfu_bans_add("r", SFU_BAN_USER, "mallory", "mallory", now_s() + 60, "alice", now_s());
	sfu_bans_add("r", SFU_BAN_SUB, "s-mal", "mallory", now_s() + 60, "alice", now_s());
	sfu_handle *m = add(0), *m2 = add(1), *m3 = add(2);
	sfu_grant g, g2;
	grant_init(&g, NULL, NULL, NULL, now_s() + 3600);
	grant_init(&g2, "mal2", "s-mal", NULL, now_s() + 3600);
	const char *reason = NULL;
	g_assert_cmpint(join_full(m, "r", "mallory", TRUE, NULL, &g, NULL, &reason), ==, SFU_ERR_JOIN_BANNED);
	g_assert_cmpstr(reason, ==, "banned");
	g_assert_cmpint(m->role, ==, SFU_ROLE_NONE);
	reason = NULL;
	g_assert_cmpint(join_full(m2, "r", "mal2", FALSE, NULL, &g2, NULL, &reason), ==, SFU_ERR_JOIN_BANNED);
	g_assert_cmpstr(reason, ==, "banned");
	sfu_registry_counts c;
	sfu_registry_counts_get(&c);
	g_assert_cmpuint(c.rooms, ==, 0);
	g_assert_cmpuint(c.users, ==, 0);
	g_assert_cmpuint(sfu_expiry_count(), ==, 0);
	/* The refusal is reported (audit event) and counted. */
	char *last = fake_core_last_notify();
	g_assert_nonnull(strstr(last, "\"reason\":\"banned\""));
	g_free(last);
	json_t *stats = sfu_access_stats();
	g_assert_cmpint(
		json_integer_value(json_object_get(json_object_get(stats, "rejections_by_reason"), "banned")), ==, 2);
	json_decref(stats);
	/* Another room is fine. */
	g_assert_cmpint(join_pub(m3, "other", "mallory", &g), ==, SFU_OK);
	sfu_grant_clear(&g);
	sfu_grant_clear(&g2);
	teardown(v0);
}

/* one_user_per_jti: a token id is held by the first user_id that presents it. */
static void jti_once(sfu_config *c) {
	c->one_user_per_jti = TRUE;
}

static void test_admit_token_in_use(void) {
	guint v0 = setup_with(jti_once);
	sfu_handle *a = add(0), *a2 = add(1), *b = add(2);
	sfu_grant g;
	grant_init(&g, NULL, "s", "shared-jti", now_s() + 3600);
	g_assert_cmpint(join_pub(a, "r", "alice", &g), ==, SFU_OK);
	g_assert_cmpint(
		join_full(a2, "r", "alice", FALSE, NULL, &g, NULL, NULL), ==, SFU_OK); /* same user: fine */
	const char *reason = NULL;
	g_assert_cmpint(join_full(b, "r", "bob", TRUE, NULL, &g, NULL, &reason), ==, SFU_ERR_JOIN_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "token_in_use");
	g_assert_cmpint(b->role, ==, SFU_ROLE_NONE);
	g_assert_cmpuint(pushes_to(a, NULL), ==, 0); /* nobody heard of bob */
	sfu_grant_clear(&g);
	teardown(v0);
}

/* The jti table is bounded: when it is full of live claims a new token is refused (server_busy). */
static void jti_table_of_one(sfu_config *c) {
	c->one_user_per_jti = TRUE;
	c->max_jti_claims = 1;
}

static void test_admit_server_busy(void) {
	guint v0 = setup_with(jti_table_of_one);
	sfu_handle *a = add(0), *b = add(1);
	sfu_grant ga, gb;
	grant_init(&ga, NULL, NULL, "j1", now_s() + 3600);
	grant_init(&gb, NULL, NULL, "j2", now_s() + 3600);
	g_assert_cmpint(join_pub(a, "r", "alice", &ga), ==, SFU_OK);
	const char *reason = NULL;
	g_assert_cmpint(join_full(b, "r", "bob", TRUE, NULL, &gb, NULL, &reason), ==, SFU_ERR_SERVER_BUSY);
	g_assert_cmpstr(reason, ==, "server_busy");
	g_assert_cmpint(b->role, ==, SFU_ROLE_NONE);
	sfu_registry_counts c;
	sfu_registry_counts_get(&c);
	g_assert_cmpuint(c.users, ==, 1);
	sfu_grant_clear(&ga);
	sfu_grant_clear(&gb);
	teardown(v0);
}

/* =============================================================================
 * Identity binding (issue 10, defect 3)
 * ==========================================================================*/

/* A join whose token has no user_id claim, or another one, under the user_id of a live participant bound to
 * its token's identity is refused (user_bound) and changes nothing: the bound user keeps its handle, grant
 * (permissions, binding, sub/jti, expiry) and deadlines. */
static void test_binding_refuses_weaker(void) {
	guint v0 = setup();
	sfu_handle *alice = add(0), *obs = add(1), *mal = add(2), *mal2 = add(3);
	gint64 exp = now_s() + 600;
	sfu_grant ga, gm, gother, gobs;
	grant_init(&ga, "alice", "s-alice", "j-alice", exp);
	grant_init(&gm, NULL, "s-mal", "j-mal", now_s() + 7200);
	gm.publish_media = gm.send_data = FALSE;
	grant_init(&gother, "bob", "s-bob", "j-bob", now_s() + 7200);
	grant_init(&gobs, "obs", NULL, NULL, 0);
	join_pub_ready(alice, "r", "alice", &ga);
	g_assert_cmpint(join_pub(obs, "r", "obs", &gobs), ==, SFU_OK);
	gint64 deadline = sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN);
	gint64 warning = sfu_expiry_get("r", "alice", SFU_EXPIRY_WARN);
	g_assert_cmpint(deadline, ==, eject_deadline_us(exp));
	guint obs_pushes = pushes_to(obs, NULL);

	for(int variant = 0; variant < 4; variant++) {
		sfu_handle *h = variant % 2 ? mal2 : mal;
		const sfu_grant *g = variant < 2 ? &gm : &gother;
		const char *reason = NULL;
		/* As a publisher and as a subscriber receiving alice's own media. */
		sfu_err err =
			join_full(h, "r", "alice", variant % 2 == 0, variant % 2 ? "obs" : NULL, g, NULL, &reason);
		g_assert_cmpint(err, ==, SFU_ERR_JOIN_FORBIDDEN);
		g_assert_cmpstr(reason, ==, "user_bound");
		g_assert_cmpint(h->role, ==, SFU_ROLE_NONE);
	}
	/* Nothing of alice changed. */
	g_assert_false(g_atomic_int_get(&alice->destroyed));
	g_assert_cmpint(alice->role, ==, SFU_ROLE_PUBLISHER);
	g_assert_cmpstr(alice->auth.bound_user, ==, "alice");
	g_assert_cmpstr(alice->auth.sub, ==, "s-alice");
	g_assert_cmpstr(alice->auth.jti, ==, "j-alice");
	g_assert_cmpint(alice->auth.exp, ==, exp);
	g_assert_cmpint(g_atomic_int_get(&alice->auth.publish_media), ==, 1);
	g_assert_cmpint(g_atomic_int_get(&alice->auth.send_data), ==, 1);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, deadline);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_WARN), ==, warning);
	g_assert_cmpuint(ended(alice), ==, 0);
	g_assert_cmpuint(pushes_to(obs, NULL), ==, obs_pushes); /* nobody was told anything */
	json_t *list = sfu_registry_list_participants("r");
	g_assert_cmpuint(json_array_size(list), ==, 2);
	json_decref(list);

	/* The refresh and subscribe paths refuse the same tokens. */
	const char *reason = NULL;
	g_assert_cmpint(sfu_access_refresh(alice, &gm, &reason), ==, SFU_ERR_REFRESH_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "user_bound");
	char *offer = NULL;
	reason = NULL;
	g_assert_cmpint(
		sfu_access_subscribe(alice, TRUE, TRUE, "obs", &gm, &offer, &reason), ==, SFU_ERR_SUB_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "user_bound");
	g_assert_null(offer);
	/* A non-joined handle whose unbound token names alice as its sub enters as "alice": refused too. */
	sfu_grant gsub;
	grant_init(&gsub, NULL, "alice", NULL, now_s() + 600);
	reason = NULL;
	g_assert_cmpint(
		sfu_access_subscribe(mal, FALSE, FALSE, "alice", &gsub, &offer, &reason), ==, SFU_ERR_SUB_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "user_bound");
	g_assert_cmpint(alice->auth.exp, ==, exp);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, deadline);

	sfu_grant_clear(&ga);
	sfu_grant_clear(&gm);
	sfu_grant_clear(&gother);
	sfu_grant_clear(&gobs);
	sfu_grant_clear(&gsub);
	teardown(v0);
}

/* A second handle of the same bound identity is admitted and, with a later expiry, extends the user's grant;
 * a bound token under an unbound user is admitted but never rewrites the unbound handles' grant. */
static void test_binding_same_identity_shares(void) {
	guint v0 = setup();
	sfu_handle *a1 = add(0), *a2 = add(1), *u1 = add(2), *u2 = add(3);
	gint64 exp1 = now_s() + 600, exp2 = now_s() + 1200;
	sfu_grant g1, g2, gu, gb;
	grant_init(&g1, "alice", "s", "j1", exp1);
	grant_init(&g2, "alice", "s", "j2", exp2);
	grant_init(&gu, NULL, "anon", NULL, exp1);
	grant_init(&gb, "carol", "s-carol", NULL, exp2);
	join_pub_ready(a1, "r", "alice", &g1);
	g_assert_cmpint(join_full(a2, "r", "alice", FALSE, NULL, &g2, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(a1->auth.exp, ==, exp2);
	g_assert_cmpstr(a1->auth.jti, ==, "j2");
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(exp2));

	g_assert_cmpint(join_pub(u1, "r", "carol", &gu), ==, SFU_OK);
	g_assert_cmpint(join_full(u2, "r", "carol", FALSE, NULL, &gb, NULL, NULL), ==, SFU_OK);
	g_assert_null(u1->auth.bound_user);
	g_assert_cmpstr(u1->auth.sub, ==, "anon");
	g_assert_cmpint(u1->auth.exp, ==, exp1);
	/* Now that carol has a bound handle, another unbound token under carol is refused. */
	sfu_handle *u3 = add(4);
	const char *reason = NULL;
	g_assert_cmpint(join_full(u3, "r", "carol", FALSE, NULL, &gu, NULL, &reason), ==, SFU_ERR_JOIN_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "user_bound");
	sfu_grant_clear(&g1);
	sfu_grant_clear(&g2);
	sfu_grant_clear(&gu);
	sfu_grant_clear(&gb);
	teardown(v0);
}

/* =============================================================================
 * Permissions default to denied (issue 10, defect 4)
 * ==========================================================================*/

static sfu_handle *restricted = NULL;
static volatile gint restricted_seen = 0; /* 1: the right permissions, 2: wrong ones */

static void check_permissions_at_push(janus_plugin_session *jh, const char *message) {
	(void)jh;
	if(message == NULL || strstr(message, "\"user_id\":\"muted\"") == NULL)
		return;
	gboolean ok = g_atomic_int_get(&restricted->auth.publish_media) == 0 &&
				  g_atomic_int_get(&restricted->auth.send_data) == 1;
	g_atomic_int_set(&restricted_seen, ok ? 1 : 2);
}

/* A new handle has no permission at all; a joined one has exactly its token's when anyone can see it. */
static void test_permissions_denied_until_granted(void) {
	guint v0 = setup();
	sfu_handle *obs = add(0);
	restricted = add(1);
	g_assert_cmpint(g_atomic_int_get(&restricted->auth.publish_media), ==, 0);
	g_assert_cmpint(g_atomic_int_get(&restricted->auth.send_data), ==, 0);
	sfu_grant gobs, gm;
	grant_init(&gobs, "obs", NULL, NULL, 0);
	grant_init(&gm, "muted", NULL, NULL, now_s() + 600);
	gm.publish_media = FALSE;
	g_assert_cmpint(join_pub(obs, "r", "obs", &gobs), ==, SFU_OK);
	fake_core_set_push_hook(check_permissions_at_push);
	g_assert_cmpint(join_pub(restricted, "r", "muted", &gm), ==, SFU_OK);
	g_assert_cmpint(g_atomic_int_get(&restricted_seen), ==, 1);
	/* The media path sees the handle through the room snapshot: by then it has its grant. */
	GPtrArray *pubs = sfu_room_publishers(obs);
	g_assert_cmpuint(pubs->len, ==, 2);
	g_assert_cmpint(g_atomic_int_get(&((sfu_handle *)pubs->pdata[1])->auth.publish_media), ==, 0);
	g_ptr_array_unref(pubs);
	/* A refused join leaves a handle with nothing. */
	sfu_handle *refused = add(2);
	sfu_bans_add("r", SFU_BAN_USER, "x", "x", now_s() + 60, NULL, now_s());
	g_assert_cmpint(join_pub(refused, "r", "x", &gobs), ==, SFU_ERR_JOIN_BANNED);
	g_assert_cmpint(g_atomic_int_get(&refused->auth.publish_media), ==, 0);
	g_assert_cmpint(g_atomic_int_get(&refused->auth.send_data), ==, 0);
	restricted = NULL;
	sfu_grant_clear(&gobs);
	sfu_grant_clear(&gm);
	teardown(v0);
}

/* =============================================================================
 * Subscribe reveals nothing outside the token's rooms (issue 10, defect 5)
 * ==========================================================================*/

static void test_subscribe_scoped_to_token(void) {
	guint v0 = setup();
	sfu_handle *p = add(0), *s = add(1), *s2 = add(2);
	sfu_grant gp, globby, gsecret;
	grant_init(&gp, "p", NULL, NULL, 0);
	grant_init(&globby, "viewer", NULL, NULL, now_s() + 600);
	globby.any_room = FALSE;
	globby.room_ids = g_strsplit("lobby", ",", -1);
	grant_init(&gsecret, "viewer", NULL, NULL, now_s() + 600);
	gsecret.any_room = FALSE;
	gsecret.room_ids = g_strsplit("secret", ",", -1);
	join_pub_ready(p, "secret", "p", &gp);
	char *offer = NULL;
	const char *reason = NULL;
	/* A publisher in a room the token does not allow looks exactly like no publisher. */
	g_assert_cmpint(
		sfu_access_subscribe(s, FALSE, FALSE, "p", &globby, &offer, &reason), ==, SFU_ERR_NO_PUBLISHER);
	g_assert_null(offer);
	g_assert_cmpint(
		sfu_access_subscribe(s, FALSE, FALSE, "nobody", &globby, &offer, &reason), ==, SFU_ERR_NO_PUBLISHER);
	g_assert_cmpint(s->role, ==, SFU_ROLE_NONE);
	/* Allowed there: the handle enters as a subscriber and gets the offer. */
	g_assert_cmpint(sfu_access_subscribe(s2, FALSE, FALSE, "p", &gsecret, &offer, &reason), ==, SFU_OK);
	g_assert_cmpstr(offer, ==, "v=0");
	g_free(offer);
	g_assert_cmpint(s2->role, ==, SFU_ROLE_SUBSCRIBER);
	g_assert_cmpstr(s2->room_id, ==, "secret");
	g_assert_cmpstr(s2->user_id, ==, "viewer");
	sfu_grant_clear(&gp);
	sfu_grant_clear(&globby);
	sfu_grant_clear(&gsecret);
	teardown(v0);
}

/* =============================================================================
 * Refresh
 * ==========================================================================*/

static void test_refresh(void) {
	guint v0 = setup();
	sfu_handle *a1 = add(0), *a2 = add(1), *idle = add(2);
	gint64 exp = now_s() + 600, later = now_s() + 5000, latest = now_s() + 6000;
	sfu_grant g, gw, gl, gsub, gunbound;
	grant_init(&g, "alice", "s-alice", "j1", exp);
	grant_init(&gw, "alice", "s-alice", "j2", later);
	grant_init(&gl, "alice", "s-alice", "j3", latest);
	gl.publish_media = FALSE; /* this token restricts her */
	grant_init(&gsub, "alice", "s-other", "j4", latest);
	grant_init(&gunbound, NULL, "s-alice", "j5", latest);
	join_pub_ready(a1, "r", "alice", &g);
	g_assert_cmpint(join_full(a2, "r", "alice", FALSE, NULL, &g, NULL, NULL), ==, SFU_OK);

	/* From the subscriber handle, a token that takes nothing away: the handles of that identity move with it,
	 * and so do the user's deadlines. */
	const char *reason = NULL;
	g_assert_cmpint(sfu_access_refresh(a2, &gw, &reason), ==, SFU_OK);
	for(int i = 0; i < 2; i++) {
		sfu_handle *h = i ? a2 : a1;
		g_assert_cmpint(h->auth.exp, ==, later);
		g_assert_cmpstr(h->auth.jti, ==, "j2");
		g_assert_cmpint(g_atomic_int_get(&h->auth.publish_media), ==, 1);
	}
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(later));
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_WARN), ==,
		(later - (gint64)cfg->expiry_warning_s) * G_USEC_PER_SEC);

	/* A token that takes a permission away lands on the handle that sent it only: a refresh on one handle never
	 * strips another; the user's ejection stays at the earliest of the handles' own deadlines. */
	g_assert_cmpint(sfu_access_refresh(a1, &gl, &reason), ==, SFU_OK);
	g_assert_cmpint(a1->auth.exp, ==, latest);
	g_assert_cmpint(g_atomic_int_get(&a1->auth.publish_media), ==, 0);
	g_assert_cmpstr(a2->auth.jti, ==, "j2");
	g_assert_cmpint(g_atomic_int_get(&a2->auth.publish_media), ==, 1);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(later));

	/* A token of no user cannot hold a handle bound to one; it changes nothing. */
	g_assert_cmpint(sfu_access_refresh(a1, &gunbound, &reason), ==, SFU_ERR_REFRESH_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "user_bound");
	g_assert_cmpstr(a1->auth.jti, ==, "j3");
	/* Another sub of the same user (a visitor who signed in during the call, Reticulum) is the session's own
	 * refresh where sub does not name one person (the default). */
	g_assert_cmpint(sfu_access_refresh(a1, &gsub, &reason), ==, SFU_OK);
	g_assert_cmpstr(a1->auth.sub, ==, "s-other");
	/* Not joined. */
	g_assert_cmpint(sfu_access_refresh(idle, &g, &reason), ==, SFU_ERR_REFRESH_NOT_JOINED);
	json_t *stats = sfu_access_stats();
	g_assert_cmpint(json_integer_value(json_object_get(stats, "refreshes")), ==, 3);
	json_decref(stats);
	sfu_grant_clear(&g);
	sfu_grant_clear(&gw);
	sfu_grant_clear(&gl);
	sfu_grant_clear(&gsub);
	sfu_grant_clear(&gunbound);
	teardown(v0);
}

static void sub_names_person(sfu_config *c) {
	c->sub_identifies_user = TRUE;
}

/* Where sub names one person, a refresh cannot hand a handle to another sub. */
static void test_refresh_sub_identifies_user(void) {
	guint v0 = setup_with(sub_names_person);
	sfu_handle *a1 = add(0);
	sfu_grant g, gsub;
	grant_init(&g, "alice", "s-alice", "j1", now_s() + 600);
	grant_init(&gsub, "alice", "s-other", "j2", now_s() + 5000);
	join_pub_ready(a1, "r", "alice", &g);
	const char *reason = NULL;
	g_assert_cmpint(sfu_access_refresh(a1, &gsub, &reason), ==, SFU_ERR_REFRESH_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "user_mismatch");
	g_assert_cmpstr(a1->auth.jti, ==, "j1");
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(g.exp));
	sfu_grant_clear(&g);
	sfu_grant_clear(&gsub);
	teardown(v0);
}

/* =============================================================================
 * Kick and ejection (issue 10, defect 2)
 * ==========================================================================*/

typedef struct first_call {
	volatile gint seen;     /* a push or end_session reached a victim */
	volatile gint banned;   /* the ban was recorded by then */
	volatile gint detached; /* every victim handle was already detached */
	volatile gint locked;   /* the registry lock was held */
} first_call;

static first_call first;
static sfu_handle *victims_of_kick[2];

static void note_first(janus_plugin_session *jh) {
	if(jh != victims_of_kick[0]->jh && jh != victims_of_kick[1]->jh)
		return;
	if(!g_atomic_int_compare_and_exchange(&first.seen, 0, 1))
		return;
	g_atomic_int_set(&first.banned, sfu_bans_check("r", "mallory", NULL, NULL, now_s()));
	g_atomic_int_set(&first.locked, sfu_registry_lock_held());
	g_atomic_int_set(&first.detached,
		g_atomic_int_get(&victims_of_kick[0]->destroyed) && g_atomic_int_get(&victims_of_kick[1]->destroyed));
}

static void first_push(janus_plugin_session *jh, const char *message) {
	(void)message;
	note_first(jh);
}

static void first_end(janus_plugin_session *jh) {
	note_first(jh);
	detach_on_end(jh);
}

/* The ban is recorded before the victim hears anything (the first push or end_session), the victim's handles
 * are ended exactly once each, the kicker's room hears one leave, and the victim cannot come back. */
static void test_kick_ban_before_push(void) {
	guint v0 = setup();
	memset(&first, 0, sizeof(first));
	sfu_handle *alice = add(0), *m1 = add(1), *m2 = add(2), *again = add(3);
	sfu_grant ga, gm;
	grant_init(&ga, "alice", NULL, NULL, now_s() + 600);
	grant_init(&gm, "mallory", "s-mal", "j-mal", now_s() + 600);
	join_pub_ready(alice, "r", "alice", &ga);
	join_pub_ready(m1, "r", "mallory", &gm);
	g_assert_cmpint(join_full(m2, "r", "mallory", FALSE, "alice", &gm, NULL, NULL), ==, SFU_OK);
	victims_of_kick[0] = m1;
	victims_of_kick[1] = m2;
	g_assert_cmpuint(sfu_expiry_get("r", "mallory", SFU_EXPIRY_TOKEN), >, 0);
	fake_core_set_push_hook(first_push);
	fake_core_set_end_session_hook(first_end);

	g_assert_cmpuint(sfu_access_eject("r", "mallory", "kicked", "alice", NULL, TRUE), ==, 2);
	g_assert_cmpint(g_atomic_int_get(&first.seen), ==, 1);
	g_assert_cmpint(g_atomic_int_get(&first.banned), ==, 1);
	g_assert_cmpint(g_atomic_int_get(&first.detached), ==, 1);
	g_assert_cmpint(g_atomic_int_get(&first.locked), ==, 0);
	/* ejected on the publisher handle only, one end_session per handle, one leave for the room. */
	g_assert_cmpuint(pushes_to(m1, "\"event\":\"ejected\""), ==, 1);
	g_assert_cmpuint(pushes_to(m1, "\"reason\":\"kicked\""), ==, 1);
	g_assert_cmpuint(pushes_to(m2, NULL), ==, 0);
	g_assert_cmpuint(ended(m1), ==, 1);
	g_assert_cmpuint(ended(m2), ==, 1);
	g_assert_cmpuint(ended(alice), ==, 0);
	g_assert_cmpuint(pushes_to(alice, "\"event\":\"leave\""), ==, 1);
	g_assert_cmpuint(sfu_expiry_get("r", "mallory", SFU_EXPIRY_TOKEN), ==, 0);
	/* Banned by user_id only (sub_identifies_user is off). */
	g_assert_true(sfu_bans_check("r", "mallory", NULL, NULL, now_s()));
	g_assert_false(sfu_bans_check("r", "someone", "s-mal", "j-mal", now_s()));
	const char *reason = NULL;
	g_assert_cmpint(
		join_full(again, "r", "mallory", TRUE, NULL, &gm, NULL, &reason), ==, SFU_ERR_JOIN_BANNED);
	/* A kick of someone absent ends nothing and bans nobody. */
	guint bans = sfu_bans_count();
	g_assert_cmpuint(sfu_access_eject("r", "ghost", "kicked", "alice", NULL, TRUE), ==, 0);
	g_assert_cmpuint(sfu_bans_count(), ==, bans);
	g_assert_false(sfu_bans_check("r", "ghost", NULL, NULL, now_s()));
	sfu_grant_clear(&ga);
	sfu_grant_clear(&gm);
	teardown(v0);
}

/* With sub_identifies_user the kick bans the token's sub and jti as well. */
static void test_kick_bans_sub_when_configured(void) {
	guint v0 = setup_with(sub_names_person);
	fake_core_set_end_session_hook(detach_on_end);
	sfu_handle *m = add(0), *back = add(1);
	sfu_grant gm, gother;
	grant_init(&gm, NULL, "s-mal", "j-mal", now_s() + 600);
	grant_init(&gother, NULL, "s-mal", "j-new", now_s() + 600);
	g_assert_cmpint(join_pub(m, "r", "mallory", &gm), ==, SFU_OK);
	g_assert_cmpuint(sfu_access_eject("r", "mallory", "kicked", "alice", NULL, TRUE), ==, 1);
	g_assert_true(sfu_bans_check("r", "other-name", "s-mal", NULL, now_s()));
	g_assert_true(sfu_bans_check("r", "other-name", NULL, "j-mal", now_s()));
	const char *reason = NULL;
	g_assert_cmpint(
		join_full(back, "r", "other-name", TRUE, NULL, &gother, NULL, &reason), ==, SFU_ERR_JOIN_BANNED);
	sfu_grant_clear(&gm);
	sfu_grant_clear(&gother);
	teardown(v0);
}

/* Concurrent ejections of one user (two kicks, or a kick and an expiry) end each handle exactly once. */
typedef struct eject_job {
	const char *reason;
	guint n;
} eject_job;

static sfu_mutex go_lock = SFU_MUTEX_INIT;
static sfu_cond go_cond;
static int go_ready = 0, go = 0;

static gpointer eject_thread(gpointer data) {
	eject_job *job = data;
	sfu_mutex_lock(&go_lock);
	go_ready++;
	sfu_cond_broadcast(&go_cond);
	while(!go)
		sfu_cond_wait(&go_cond, &go_lock);
	sfu_mutex_unlock(&go_lock);
	job->n = sfu_access_eject("r", "mallory", job->reason, NULL, NULL, FALSE);
	return NULL;
}

static void test_eject_once_per_handle(void) {
	guint v0 = setup();
	sfu_cond_init(&go_cond);
	fake_core_set_end_session_hook(detach_on_end);
	sfu_grant ga, gm;
	grant_init(&ga, "alice", NULL, NULL, 0);
	grant_init(&gm, "mallory", NULL, NULL, now_s() + 600);
	sfu_handle *alice = add(0);
	join_pub_ready(alice, "r", "alice", &ga);
	const int rounds = 100;
	for(int round = 0; round < rounds; round++) {
		sfu_handle *v[3];
		for(int i = 0; i < 3; i++)
			v[i] = add(1 + i);
		join_pub_ready(v[0], "r", "mallory", &gm);
		g_assert_cmpint(join_full(v[1], "r", "mallory", FALSE, "alice", &gm, NULL, NULL), ==, SFU_OK);
		g_assert_cmpint(join_full(v[2], "r", "mallory", FALSE, NULL, &gm, NULL, NULL), ==, SFU_OK);
		guint ended_before[3];
		for(int i = 0; i < 3; i++)
			ended_before[i] = ended(v[i]);
		guint leaves_before = pushes_to(alice, "\"event\":\"leave\"");
		eject_job jobs[2] = {{"kicked", 0}, {"admin", 0}};
		go_ready = go = 0;
		GThread *t[2];
		for(int i = 0; i < 2; i++)
			t[i] = g_thread_new("eject", eject_thread, &jobs[i]);
		sfu_mutex_lock(&go_lock);
		while(go_ready < 2)
			sfu_cond_wait(&go_cond, &go_lock);
		go = 1;
		sfu_cond_broadcast(&go_cond);
		sfu_mutex_unlock(&go_lock);
		for(int i = 0; i < 2; i++)
			g_thread_join(t[i]);
		g_assert_cmpuint(jobs[0].n + jobs[1].n, ==, 3);
		for(int i = 0; i < 3; i++) {
			g_assert_cmpuint(ended(v[i]) - ended_before[i], ==, 1);
		}
		g_assert_cmpuint(pushes_to(alice, "\"event\":\"leave\"") - leaves_before, ==, 1);
		g_assert_cmpuint(pushes_to(v[0], "\"event\":\"ejected\""), ==, round + 1);
	}
	sfu_registry_counts c;
	sfu_registry_counts_get(&c);
	g_assert_cmpuint(c.handles, ==, 1);
	g_assert_cmpuint(c.users, ==, 1);
	sfu_cond_clear(&go_cond);
	sfu_grant_clear(&ga);
	sfu_grant_clear(&gm);
	teardown(v0);
}

/* =============================================================================
 * Expiry
 * ==========================================================================*/

static void short_deadlines(sfu_config *c) {
	c->clock_leeway_s = 0;
	c->expiry_grace_s = 0;
	c->expiry_warning_s = 1;
}

/* A token that expires gets a warning, then its user is ejected (token_expired); a refresh before the
 * deadline wins; a session limit ejects too (session_limit). */
static void test_expiry_fires(void) {
	guint v0 = setup_with(short_deadlines);
	fake_core_set_end_session_hook(detach_on_end);
	sfu_handle *obs = add(0), *a = add(1), *b = add(2), *c = add(3);
	sfu_grant gobs, ga, gb, gb_later, gc;
	grant_init(&gobs, "obs", NULL, NULL, 0);
	grant_init(&ga, "alice", NULL, NULL, now_s() + 1);
	grant_init(&gb, "bob", NULL, NULL, now_s() + 2);
	grant_init(&gb_later, "bob", NULL, NULL, now_s() + 3600);
	grant_init(&gc, "carol", NULL, NULL, now_s() + 3600);
	gc.max_session_s = 1;
	g_assert_cmpint(join_pub(obs, "r", "obs", &gobs), ==, SFU_OK);
	g_assert_cmpint(join_pub(a, "r", "alice", &ga), ==, SFU_OK);
	g_assert_cmpint(join_pub(b, "r", "bob", &gb), ==, SFU_OK);
	g_assert_cmpint(join_pub(c, "r", "carol", &gc), ==, SFU_OK);
	const char *reason = NULL;
	g_assert_cmpint(sfu_access_refresh(b, &gb_later, &reason), ==, SFU_OK);

	g_assert_true(eventually(was_ended, a, 10000));
	g_assert_true(eventually(was_ended, c, 10000));
	g_assert_cmpuint(pushes_to(a, "\"event\":\"token_expiring\""), ==, 1);
	/* The warning names the exp it is for (copied under the registry lock, sfu_registry.h's [reg]). */
	char *expiring = g_strdup_printf("\"expires_at\":%" G_GINT64_FORMAT ",", ga.exp);
	g_assert_cmpuint(pushes_to(a, expiring), ==, 1);
	g_free(expiring);
	g_assert_cmpuint(pushes_to(a, "\"reason\":\"token_expired\""), ==, 1);
	g_assert_cmpuint(pushes_to(c, "\"reason\":\"session_limit\""), ==, 1);
	g_assert_cmpuint(ended(a), ==, 1);
	g_assert_cmpuint(ended(c), ==, 1);
	g_assert_cmpuint(pushes_to(obs, "\"event\":\"leave\""), ==, 2);
	/* bob refreshed in time: still there well after his first deadline. */
	gint64 bob_first_deadline = eject_deadline_us(gb.exp);
	while(g_get_real_time() < bob_first_deadline + 300000)
		g_usleep(20000);
	g_assert_cmpuint(ended(b), ==, 0);
	g_assert_false(g_atomic_int_get(&b->destroyed));
	g_assert_cmpuint(pushes_to(b, "\"event\":\"ejected\""), ==, 0);
	json_t *stats = sfu_access_stats();
	g_assert_cmpint(json_integer_value(json_object_get(stats, "expiries")), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(stats, "session_limits")), ==, 1);
	json_decref(stats);
	sfu_grant_clear(&gobs);
	sfu_grant_clear(&ga);
	sfu_grant_clear(&gb);
	sfu_grant_clear(&gb_later);
	sfu_grant_clear(&gc);
	teardown(v0);
}

/* on_token_expiry keep (the legacy behaviour), or a token saying eject_at_exp false: no deadline at all. */
static void keep_on_expiry(sfu_config *c) {
	short_deadlines(c);
	c->on_token_expiry = SFU_EXPIRY_KEEP;
}

static void test_expiry_keep(void) {
	guint v0 = setup_with(keep_on_expiry);
	sfu_handle *a = add(0), *b = add(1);
	sfu_grant ga, gb;
	grant_init(&ga, "alice", NULL, NULL, now_s() + 1);
	grant_init(&gb, "bob", NULL, NULL, now_s() + 1);
	gb.has_eject_at_exp = gb.eject_at_exp = TRUE; /* the token asks for ejection: it wins */
	g_assert_cmpint(join_pub(a, "r", "alice", &ga), ==, SFU_OK);
	g_assert_cmpint(join_pub(b, "r", "bob", &gb), ==, SFU_OK);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, 0);
	g_assert_cmpint(sfu_expiry_get("r", "bob", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(gb.exp));
	sfu_grant_clear(&ga);
	sfu_grant_clear(&gb);
	teardown(v0);
}

/* =============================================================================
 * Departures and stale sessions
 * ==========================================================================*/

/* The user's last handle leaving cancels its deadlines and tells the room; an earlier one does neither. */
static void test_detach(void) {
	guint v0 = setup();
	sfu_handle *obs = add(0), *a1 = add(1), *a2 = add(2);
	sfu_grant gobs, ga;
	grant_init(&gobs, "obs", NULL, NULL, 0);
	grant_init(&ga, "alice", NULL, NULL, now_s() + 600);
	ga.max_session_s = 3600;
	g_assert_cmpint(join_pub(obs, "r", "obs", &gobs), ==, SFU_OK);
	join_pub_ready(a1, "r", "alice", &ga);
	g_assert_cmpint(join_full(a2, "r", "alice", FALSE, NULL, &ga, NULL, NULL), ==, SFU_OK);
	g_assert_cmpuint(sfu_expiry_count(), ==, 3); /* warning, expiry, session limit */
	g_assert_true(sfu_access_detach(a1->jh));
	/* The deadlines are the remaining handles' own: the warning went with the publisher handle it was for. */
	g_assert_cmpuint(sfu_expiry_count(), ==, 2);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_WARN), ==, 0);
	g_assert_cmpuint(pushes_to(obs, "\"event\":\"leave\""), ==, 0);
	g_assert_true(sfu_access_detach(a2->jh));
	g_assert_cmpuint(sfu_expiry_count(), ==, 0);
	g_assert_cmpuint(pushes_to(obs, "\"event\":\"leave\""), ==, 1);
	g_assert_false(sfu_access_detach(a2->jh)); /* idempotent */
	g_assert_false(sfu_access_detach(&jhs[MAX_JH - 1]));
	/* A rejoin after the departure gets its own deadlines. */
	sfu_handle *a3 = add(3);
	g_assert_cmpint(join_pub(a3, "r", "alice", &ga), ==, SFU_OK);
	g_assert_cmpuint(sfu_expiry_count(), ==, 3);
	sfu_grant_clear(&gobs);
	sfu_grant_clear(&ga);
	teardown(v0);
}

/* A bound publisher coming back replaces its older handles (ended once, the room told leave then join). */
static void test_stale_replacement(void) {
	guint v0 = setup();
	fake_core_set_end_session_hook(detach_on_end);
	sfu_handle *obs = add(0), *old = add(1), *fresh = add(2);
	sfu_grant gobs, ga;
	grant_init(&gobs, "obs", NULL, NULL, 0);
	grant_init(&ga, "alice", NULL, NULL, now_s() + 600);
	g_assert_cmpint(join_pub(obs, "r", "obs", &gobs), ==, SFU_OK);
	g_assert_cmpint(join_pub(old, "r", "alice", &ga), ==, SFU_OK);
	g_assert_cmpint(join_pub(fresh, "r", "alice", &ga), ==, SFU_OK);
	g_assert_cmpuint(ended(old), ==, 1);
	g_assert_cmpuint(ended(fresh), ==, 0);
	g_assert_cmpuint(pushes_to(obs, "\"event\":\"leave\""), ==, 1);
	g_assert_cmpuint(pushes_to(obs, "\"event\":\"join\""), ==, 2);
	/* In that order: the last word obs heard about alice is that she is there. */
	char *last = fake_core_last_push(obs->jh);
	g_assert_nonnull(strstr(last, "\"event\":\"join\""));
	g_free(last);
	g_assert_cmpint(sfu_expiry_get("r", "alice", SFU_EXPIRY_TOKEN), ==, eject_deadline_us(ga.exp));
	sfu_grant_clear(&gobs);
	sfu_grant_clear(&ga);
	teardown(v0);
}

/* A departure decided after a join reaches the joiner after the join's reply (which lists the departed user),
 * not before: otherwise naf-janus-adapter would subscribe to someone who has gone. */
typedef struct {
	sfu_handle *h;
	gboolean done;
} detach_job;

static gpointer detach_thread(gpointer data) {
	detach_job *job = data;
	g_assert_true(sfu_access_detach(job->h->jh));
	g_atomic_int_set(&job->done, TRUE);
	return NULL;
}

static void test_leave_after_join_reply(void) {
	guint v0 = setup();
	sfu_handle *bob = add(0), *alice = add(1);
	sfu_grant gb, ga;
	grant_init(&gb, "bob", NULL, NULL, 0);
	grant_init(&ga, "alice", NULL, NULL, 0);
	g_assert_cmpint(join_pub(bob, "r", "bob", &gb), ==, SFU_OK);
	sfu_join_request r = {.room_id = "r",
		.user_id = "alice",
		.role = SFU_ROLE_PUBLISHER,
		.subscribe = TRUE,
		.notifications = TRUE,
		.data = TRUE};
	json_t *users = NULL;
	char *offer = NULL;
	const char *reason = NULL;
	sfu_access_pending *pending = NULL;
	g_assert_cmpint(sfu_access_join(alice, &r, &ga, &users, &offer, &reason, &pending), ==, SFU_OK);
	g_assert_nonnull(pending);
	g_assert_cmpuint(json_array_size(users), ==, 1); /* bob */
	/* Bob leaves now: his departure is decided, but alice must not hear it before her reply. */
	detach_job job = {.h = bob, .done = FALSE};
	GThread *t = g_thread_new("detach", detach_thread, &job);
	g_usleep(100 * 1000);
	g_assert_false(g_atomic_int_get(&job.done));
	g_assert_cmpuint(pushes_to(alice, "\"event\":\"leave\""), ==, 0);
	json_t *reply = json_pack("{ss}", "reply", "users");
	sfu_core_push_event(alice->jh, "tx", reply, NULL); /* what sfu_signal pushes before finishing */
	json_decref(reply);
	sfu_access_join_finish(pending);
	g_thread_join(t);
	g_assert_true(g_atomic_int_get(&job.done));
	char *last = fake_core_last_push(alice->jh);
	g_assert_nonnull(strstr(last, "\"event\":\"leave\""));
	g_free(last);
	g_assert_cmpuint(pushes_to(alice, "\"reply\""), ==, 1);
	json_decref(users);
	g_free(offer);
	sfu_grant_clear(&gb);
	sfu_grant_clear(&ga);
	teardown(v0);
}

/* =============================================================================
 * Logs (issue 10, defect 6)
 * ==========================================================================*/

/* Client-chosen ids reach the log sanitized: no forged line, no terminal escape. */
static void test_log_sanitized(void) {
	guint v0 = setup();
	fake_core_set_end_session_hook(detach_on_end);
	sfu_handle *e = add(0);
	sfu_grant g;
	grant_init(&g, NULL, NULL, NULL, 0);
	const char *evil = "evil\n[FAKE] admin logged in\x1b[2J";
	g_assert_cmpint(join_pub(e, "room\nX", evil, &g), ==, SFU_OK);
	sfu_test_log_clear();
	g_assert_cmpuint(sfu_access_eject("room\nX", evil, "kicked", "by\nY", NULL, TRUE), ==, 1);
	g_assert_true(sfu_test_log_contains("ejected user 'evil?[FAKE] admin logged in?[2J' from room 'room?X'"));
	g_assert_false(sfu_test_log_contains("\n[FAKE]"));
	g_assert_false(sfu_test_log_contains("\x1b"));
	sfu_grant_clear(&g);
	teardown(v0);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/access/lock-probe-fires", test_lock_probe_fires);
	g_test_add_func("/access/admit/ok", test_admit_ok);
	g_test_add_func("/access/admit/banned", test_admit_banned);
	g_test_add_func("/access/admit/token-in-use", test_admit_token_in_use);
	g_test_add_func("/access/admit/server-busy", test_admit_server_busy);
	g_test_add_func("/access/binding/refuses-weaker", test_binding_refuses_weaker);
	g_test_add_func("/access/binding/same-identity-shares", test_binding_same_identity_shares);
	g_test_add_func("/access/permissions/denied-until-granted", test_permissions_denied_until_granted);
	g_test_add_func("/access/subscribe/scoped-to-token", test_subscribe_scoped_to_token);
	g_test_add_func("/access/refresh", test_refresh);
	g_test_add_func("/access/refresh_sub_identifies_user", test_refresh_sub_identifies_user);
	g_test_add_func("/access/kick/ban-before-push", test_kick_ban_before_push);
	g_test_add_func("/access/kick/bans-sub-when-configured", test_kick_bans_sub_when_configured);
	g_test_add_func("/access/eject/once-per-handle", test_eject_once_per_handle);
	g_test_add_func("/access/expiry/fires", test_expiry_fires);
	g_test_add_func("/access/expiry/keep", test_expiry_keep);
	g_test_add_func("/access/detach", test_detach);
	g_test_add_func("/access/stale-replacement", test_stale_replacement);
	g_test_add_func("/access/leave-after-join-reply", test_leave_after_join_reply);
	g_test_add_func("/access/log-sanitized", test_log_sanitized);
	return g_test_run();
}
