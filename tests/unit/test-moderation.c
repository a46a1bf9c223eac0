/*! \file    test-moderation.c
 * \brief    Unit tests for sfu_access's moderation steps with the fake core and no Janus: revocations (refused at
 *           join, subscribe and refresh; live holders ejected in the same step), owner mutes (the handles' relay
 *           flags, held across reconnects, events to the user and the room), changes that come from other nodes
 *           (applied without being passed on again), the listener of local changes, the jti owner decided
 *           elsewhere, and the "state unavailable" refusal.
 */
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "sfu_access.h"
#include "sfu_bans.h"
#include "sfu_core.h"
#include "sfu_registry.h"
#include "support/fake-core.h"

#define MAX_JH 32

static janus_plugin_session jhs[MAX_JH];
static sfu_config *cfg = NULL;

static void jh_free(const janus_refcount *ref) {
	(void)ref;
}

/* What the listener heard: "kind:detail" lines. */
static GPtrArray *heard = NULL;

static void l_kick(const char *room, const char *user, const char *reason, const char *by) {
	g_ptr_array_add(heard, g_strdup_printf("kick:%s/%s/%s/%s", room, user, reason, by ? by : "-"));
}
static void l_ban(
	const char *room, sfu_ban_kind kind, const char *value, const char *user, gint64 until, const char *by) {
	(void)until;
	g_ptr_array_add(heard,
		g_strdup_printf("ban:%s/%s/%s/%s/%s", room, sfu_ban_kind_name(kind), value, user, by ? by : "-"));
}
static void l_unban(const char *room, const char *user) {
	g_ptr_array_add(heard, g_strdup_printf("unban:%s/%s", room, user));
}
static void l_revoke(sfu_revoke_kind kind, const char *value, gint64 until, const char *by) {
	(void)until;
	g_ptr_array_add(
		heard, g_strdup_printf("revoke:%s/%s/%s", sfu_revoke_kind_name(kind), value, by ? by : "-"));
}
static void l_unrevoke(sfu_revoke_kind kind, const char *value) {
	g_ptr_array_add(heard, g_strdup_printf("unrevoke:%s/%s", sfu_revoke_kind_name(kind), value));
}
static void l_mute(const char *room, const char *user, guint mask, gint64 until, const char *by) {
	(void)until;
	g_ptr_array_add(heard, g_strdup_printf("mute:%s/%s/%u/%s", room, user, mask, by ? by : "-"));
}
static void l_jti(const char *jti, const char *user, gint64 exp) {
	(void)exp;
	g_ptr_array_add(heard, g_strdup_printf("jti:%s/%s", jti, user));
}

static const sfu_access_listener listener = {
	.kick = l_kick,
	.ban = l_ban,
	.unban = l_unban,
	.revoke = l_revoke,
	.unrevoke = l_unrevoke,
	.mute = l_mute,
	.jti = l_jti,
};

static gboolean heard_line(const char *line) {
	for(guint i = 0; i < heard->len; i++) {
		if(!strcmp(heard->pdata[i], line))
			return TRUE;
	}
	return FALSE;
}

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

static void setup(gboolean one_user_per_jti) {
	for(int i = 0; i < MAX_JH; i++) {
		memset(&jhs[i], 0, sizeof(jhs[i]));
		janus_refcount_init(&jhs[i].ref, jh_free);
		/* The registry drops one reference per handle; keep the sessions alive for the whole test. */
		janus_refcount_increase(&jhs[i].ref);
	}
	fake_core_install();
	sfu_registry_init(1000);
	cfg = sfu_config_new_defaults();
	cfg->kick_ban_s = 600;
	cfg->one_user_per_jti = one_user_per_jti;
	g_assert_cmpint(sfu_access_start(cfg), ==, 0);
	heard = g_ptr_array_new_with_free_func(g_free);
	sfu_access_set_listener(&listener);
}

static void teardown(void) {
	sfu_access_set_listener(NULL);
	sfu_access_set_state_available(TRUE);
	sfu_access_stop();
	sfu_registry_shutdown();
	g_assert_cmpuint(sfu_core_lock_violations(), ==, 0);
	fake_core_uninstall();
	sfu_config_free(cfg);
	g_ptr_array_unref(heard);
}

/* A verified grant for \p user_id (bound), with \p jti / \p sub / \p kid (may be NULL). */
static sfu_grant grant_of(const char *user_id, const char *jti, const char *sub, const char *kid) {
	sfu_grant g;
	memset(&g, 0, sizeof(g));
	g.exp = now_s() + 600;
	g.join_hub = TRUE;
	g.publish_media = TRUE;
	g.send_data = TRUE;
	g.any_room = TRUE;
	g.user_id = g_strdup(user_id);
	g.jti = g_strdup(jti);
	g.sub = g_strdup(sub);
	g.kid = g_strdup(kid);
	return g;
}

/* Join handle \p i to \p room as \p user (publisher with notifications when \p publisher). */
static sfu_err join(int i, const char *room, const char *user, gboolean publisher, const sfu_grant *g,
	sfu_handle **out, const char **reason) {
	sfu_handle *h = sfu_registry_lookup(&jhs[i]);
	if(h == NULL) {
		h = sfu_registry_add(&jhs[i]);
		sfu_handle_ref(h);
	}
	sfu_join_request r = {.room_id = room,
		.user_id = user,
		.role = publisher ? SFU_ROLE_PUBLISHER : SFU_ROLE_SUBSCRIBER,
		.subscribe = TRUE,
		.notifications = publisher,
		.data = publisher};
	json_t *users = NULL;
	char *offer = NULL;
	*reason = NULL;
	sfu_err err = sfu_access_join(h, &r, g, &users, &offer, reason, NULL);
	json_decref(users);
	g_free(offer);
	if(out != NULL)
		*out = h;
	else
		sfu_handle_unref(h);
	return err;
}

static guint ended(int i) {
	return fake_core_count(FAKE_END_SESSION, &jhs[i]);
}

/* =============================================================================
 * Revocations
 * ==========================================================================*/

static void test_revoke_ejects_and_refuses(void) {
	setup(FALSE);
	const char *reason = NULL;
	sfu_grant alice = grant_of("alice", "jti-a", "sub-a", "k1");
	sfu_grant bob = grant_of("bob", "jti-b", "sub-b", "k1");
	g_assert_cmpint(join(0, "r1", "alice", TRUE, &alice, NULL, &reason), ==, SFU_OK);
	g_assert_cmpint(join(1, "r1", "alice", FALSE, &alice, NULL, &reason), ==, SFU_OK);
	g_assert_cmpint(join(2, "r1", "bob", TRUE, &bob, NULL, &reason), ==, SFU_OK);
	g_assert_cmpint(join(3, "r2", "alice", TRUE, &alice, NULL, &reason), ==, SFU_OK);

	/* Revoking alice's jti ejects her everywhere (both rooms, every handle), bob stays. */
	gboolean recorded = FALSE;
	guint n = sfu_access_revoke(SFU_REVOKE_JTI, "jti-a", now_s() + 60, "admin", TRUE, &recorded);
	g_assert_true(recorded);
	g_assert_cmpuint(n, ==, 3);
	g_assert_cmpuint(ended(0) + ended(1) + ended(3), ==, 3);
	g_assert_cmpuint(ended(2), ==, 0);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[0], "\"reason\":\"revoked\""), ==, 1);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[2], "\"event\":\"leave\""), ==, 1);
	g_assert_true(heard_line("revoke:jti/jti-a/admin"));

	/* The token is refused at the door from now on; another token of alice is not. */
	g_assert_cmpint(join(4, "r1", "alice", TRUE, &alice, NULL, &reason), ==, SFU_ERR_JOIN_REVOKED);
	g_assert_cmpstr(reason, ==, "revoked");
	sfu_grant alice2 = grant_of("alice", "jti-a2", "sub-a", "k2");
	g_assert_cmpint(join(5, "r1", "alice", TRUE, &alice2, NULL, &reason), ==, SFU_OK);

	/* Refresh and subscribe under a revoked identity: refused. By kid this time, from another node. */
	sfu_handle *h5 = sfu_registry_lookup(&jhs[5]);
	guint before = heard->len;
	n = sfu_access_revoke(SFU_REVOKE_KID, "k1", now_s() + 60, NULL, FALSE, NULL);
	g_assert_cmpuint(heard->len, ==, before); /* applied here, not passed on again */
	g_assert_cmpuint(n, ==, 1);               /* bob's handle (kid k1) */
	g_assert_cmpuint(ended(2), ==, 1);
	g_assert_cmpint(sfu_access_refresh(h5, &bob, &reason), ==, SFU_ERR_REFRESH_FORBIDDEN); /* another user */
	sfu_grant alice3 = grant_of("alice", "jti-a3", "sub-a", "k1");
	g_assert_cmpint(sfu_access_refresh(h5, &alice3, &reason), ==, SFU_ERR_REFRESH_REVOKED);
	g_assert_cmpstr(reason, ==, "revoked");
	char *offer = NULL;
	sfu_handle *h6 = sfu_registry_add(&jhs[6]);
	g_assert_cmpint(
		sfu_access_subscribe(h6, FALSE, FALSE, "alice", &alice3, &offer, &reason), ==, SFU_ERR_SUB_REVOKED);
	g_assert_null(offer);

	/* Lifted: the token works again. */
	g_assert_true(sfu_access_unrevoke(SFU_REVOKE_KID, "k1", TRUE));
	g_assert_true(heard_line("unrevoke:kid/k1"));
	g_assert_cmpint(sfu_access_refresh(h5, &alice3, &reason), ==, SFU_OK);
	json_t *list = sfu_bans_list_revocations(now_s());
	g_assert_cmpuint(json_array_size(list), ==, 1);
	json_decref(list);
	sfu_handle_unref(h5);
	sfu_grant_clear(&alice);
	sfu_grant_clear(&bob);
	sfu_grant_clear(&alice2);
	sfu_grant_clear(&alice3);
	teardown();
}

/* A revocation table full of live revocations refuses a new one (never drops one). */
static void test_revocations_bounded(void) {
	setup(FALSE);
	sfu_bans_init_moderation(2, 10);
	gboolean ok = FALSE;
	sfu_access_revoke(SFU_REVOKE_SUB, "s1", now_s() + 60, NULL, TRUE, &ok);
	g_assert_true(ok);
	sfu_access_revoke(SFU_REVOKE_SUB, "s2", now_s() + 60, NULL, TRUE, &ok);
	g_assert_true(ok);
	sfu_access_revoke(SFU_REVOKE_SUB, "s3", now_s() + 60, NULL, TRUE, &ok);
	g_assert_false(ok);
	g_assert_true(sfu_bans_revoked(NULL, "s1", NULL, NULL, now_s()));
	g_assert_false(sfu_bans_revoked(NULL, "s3", NULL, NULL, now_s()));
	/* (The table itself, extension and expiry included: test-bans /bans/revocations.) */
	teardown();
}

/* =============================================================================
 * Mutes
 * ==========================================================================*/

static void test_mute(void) {
	setup(FALSE);
	const char *reason = NULL;
	sfu_grant dave = grant_of("dave", NULL, NULL, NULL), erin = grant_of("erin", NULL, NULL, NULL);
	sfu_handle *d0 = NULL, *d1 = NULL, *e0 = NULL;
	g_assert_cmpint(join(0, "r", "dave", TRUE, &dave, &d0, &reason), ==, SFU_OK);
	g_assert_cmpint(join(1, "r", "dave", FALSE, &dave, &d1, &reason), ==, SFU_OK);
	g_assert_cmpint(join(2, "r", "erin", TRUE, &erin, &e0, &reason), ==, SFU_OK);

	g_assert_cmpuint(sfu_access_mute("r", "dave", SFU_MUTE_AUDIO, TRUE, "boss"), ==, SFU_MUTE_AUDIO);
	g_assert_cmpint(g_atomic_int_get(&d0->muted), ==, SFU_MUTE_AUDIO);
	g_assert_cmpint(g_atomic_int_get(&d1->muted), ==, SFU_MUTE_AUDIO);
	g_assert_cmpint(g_atomic_int_get(&e0->muted), ==, 0);
	g_assert_true(heard_line("mute:r/dave/1/boss"));
	const char *ev = "\"event\":\"muted\",\"media\":\"audio\",\"muted\":[\"audio\"],\"room_id\":\"r\",\"user_"
					 "id\":\"dave\"";
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[0], ev), ==, 1); /* the participant */
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[2], ev), ==, 1); /* the room */
	g_assert_cmpuint(
		fake_core_pushes_matching(&jhs[1], "muted"), ==, 0); /* subscriber handles get no events */

	/* Video too; then dave reconnects: his new handle is muted from its join on. */
	sfu_access_mute("r", "dave", SFU_MUTE_VIDEO, TRUE, "boss");
	g_assert_cmpint(g_atomic_int_get(&d0->muted), ==, SFU_MUTE_ALL);
	g_assert_true(sfu_access_detach(&jhs[0]));
	g_assert_true(sfu_access_detach(&jhs[1]));
	sfu_handle *d2 = NULL;
	g_assert_cmpint(join(3, "r", "dave", TRUE, &dave, &d2, &reason), ==, SFU_OK);
	g_assert_cmpint(g_atomic_int_get(&d2->muted), ==, SFU_MUTE_ALL);
	json_t *p = sfu_registry_list_participants("r");
	char *dump = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	g_assert_nonnull(strstr(dump, "\"muted\":[\"audio\",\"video\"]"));
	free(dump);
	json_decref(p);

	/* Unmute audio: video stays muted; the event says what is left. */
	g_assert_cmpuint(sfu_access_mute("r", "dave", SFU_MUTE_AUDIO, FALSE, "boss"), ==, SFU_MUTE_VIDEO);
	g_assert_cmpint(g_atomic_int_get(&d2->muted), ==, SFU_MUTE_VIDEO);
	g_assert_cmpuint(
		fake_core_pushes_matching(&jhs[3], "\"event\":\"unmuted\",\"media\":\"audio\",\"muted\":[\"video\"]"),
		==, 1);

	/* From another node: applied here (flags, events), not passed on. */
	guint before = heard->len;
	sfu_access_apply_mute("r", "dave", 0, now_s() + 60, "boss");
	g_assert_cmpuint(heard->len, ==, before);
	g_assert_cmpint(g_atomic_int_get(&d2->muted), ==, 0);
	g_assert_cmpuint(
		fake_core_count(FAKE_SEND_PLI, &jhs[3]), ==, 1); /* video back: a keyframe is asked for */
	g_assert_cmpuint(sfu_bans_mute_of("r", "dave", now_s()), ==, 0);

	/* A mute recorded while the user is away applies at its join. */
	sfu_access_apply_mute("r", "frank", SFU_MUTE_AUDIO, now_s() + 60, NULL);
	sfu_grant frank = grant_of("frank", NULL, NULL, NULL);
	sfu_handle *f0 = NULL;
	g_assert_cmpint(join(4, "r", "frank", TRUE, &frank, &f0, &reason), ==, SFU_OK);
	g_assert_cmpint(g_atomic_int_get(&f0->muted), ==, SFU_MUTE_AUDIO);
	/* An expired mute does not. */
	sfu_access_apply_mute("r", "gina", SFU_MUTE_AUDIO, now_s() - 1, NULL);
	g_assert_cmpuint(sfu_bans_mute_of("r", "gina", now_s()), ==, 0);
	sfu_handle *mine[] = {d0, d1, e0, d2, f0};
	for(size_t i = 0; i < G_N_ELEMENTS(mine); i++)
		sfu_handle_unref(mine[i]);
	sfu_grant_clear(&dave);
	sfu_grant_clear(&erin);
	sfu_grant_clear(&frank);
	teardown();
}

/* =============================================================================
 * Kicks and bans across nodes
 * ==========================================================================*/

static void test_kicks_and_bans_across_nodes(void) {
	setup(FALSE);
	const char *reason = NULL;
	sfu_grant v = grant_of("victim", "jti-v", "sub-v", NULL);
	g_assert_cmpint(join(0, "r", "victim", TRUE, &v, NULL, &reason), ==, SFU_OK);

	/* A local kick: evicted and banned here, passed on as a kick and as the ban recorded. */
	g_assert_cmpuint(sfu_access_eject("r", "victim", "kicked", "owner", NULL, TRUE), ==, 1);
	g_assert_true(heard_line("kick:r/victim/kicked/owner"));
	g_assert_true(heard_line("ban:r/user_id/victim/victim/owner"));
	/* A local kick of someone not here is passed on all the same (the user may be on another node). */
	g_assert_cmpuint(sfu_access_eject("r", "ghost", "kicked", "owner", NULL, TRUE), ==, 0);
	g_assert_true(heard_line("kick:r/ghost/kicked/owner"));
	g_assert_false(sfu_bans_check("r", "ghost", NULL, NULL, now_s()));

	/* A kick from another node: evicts and bans here where the user was, passes on the ban, not the kick. */
	sfu_grant w = grant_of("walt", NULL, NULL, NULL);
	g_assert_cmpint(join(1, "r", "walt", TRUE, &w, NULL, &reason), ==, SFU_OK);
	g_ptr_array_set_size(heard, 0);
	g_assert_cmpuint(sfu_access_eject_remote("r", "walt", "kicked", "owner"), ==, 1);
	g_assert_true(heard_line("ban:r/user_id/walt/walt/owner"));
	g_assert_false(heard_line("kick:r/walt/kicked/owner"));
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[1], "\"by\":\"owner\",\"event\":\"ejected\""), ==, 1);

	/* A ban from another node: recorded, evicts the matching handle in the same step, not passed on. */
	sfu_grant x = grant_of("xena", "jti-x", "sub-x", NULL);
	g_assert_cmpint(join(2, "r", "xena", TRUE, &x, NULL, &reason), ==, SFU_OK);
	g_ptr_array_set_size(heard, 0);
	g_assert_cmpuint(sfu_access_apply_ban("r", SFU_BAN_SUB, "sub-x", "xena", now_s() + 60, "owner"), ==, 1);
	g_assert_cmpuint(heard->len, ==, 0);
	g_assert_cmpuint(ended(2), ==, 1);
	g_assert_cmpint(join(3, "r", "xena", TRUE, &x, NULL, &reason), ==, SFU_ERR_JOIN_BANNED);

	/* Unban: local ones are passed on, remote ones not. */
	g_assert_cmpuint(sfu_access_unban("r", "xena", FALSE), ==, 1);
	g_assert_cmpuint(heard->len, ==, 0);
	g_assert_cmpuint(sfu_access_unban("r", "victim", TRUE), ==, 1);
	g_assert_true(heard_line("unban:r/victim"));
	sfu_grant_clear(&v);
	sfu_grant_clear(&w);
	sfu_grant_clear(&x);
	teardown();
}

/* The jti's holder decided by the shared state: another user's handles under it go (token_in_use). */
static void test_jti_owner_elsewhere(void) {
	setup(TRUE);
	const char *reason = NULL;
	sfu_grant a = grant_of(NULL, "shared-jti", NULL, NULL);
	g_assert_cmpint(join(0, "r", "amy", TRUE, &a, NULL, &reason), ==, SFU_OK);
	g_assert_true(heard_line("jti:shared-jti/amy"));
	g_assert_cmpint(join(1, "r", "ben", TRUE, &a, NULL, &reason), ==, SFU_ERR_JOIN_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "token_in_use");
	g_assert_cmpuint(sfu_access_apply_jti("shared-jti", "carl", now_s() + 60), ==, 1);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[0], "\"reason\":\"token_in_use\""), ==, 1);
	g_assert_cmpint(join(2, "r", "amy", TRUE, &a, NULL, &reason), ==, SFU_ERR_JOIN_FORBIDDEN);
	g_assert_cmpstr(reason, ==, "token_in_use");
	g_assert_cmpint(join(3, "r", "carl", TRUE, &a, NULL, &reason), ==, SFU_OK);
	sfu_grant_clear(&a);
	teardown();
}

/* While the shared state cannot be confirmed (on_unavailable = "refuse"), nobody new gets in. */
static void test_state_unavailable(void) {
	setup(FALSE);
	const char *reason = NULL;
	sfu_grant a = grant_of("amy", NULL, NULL, NULL);
	sfu_access_set_state_available(FALSE);
	g_assert_false(sfu_access_state_available());
	g_assert_cmpint(join(0, "r", "amy", TRUE, &a, NULL, &reason), ==, SFU_ERR_STATE_UNAVAILABLE);
	g_assert_cmpstr(reason, ==, "state_unavailable");
	sfu_registry_counts c;
	sfu_registry_counts_get(&c);
	g_assert_cmpuint(c.rooms, ==, 0);
	sfu_access_set_state_available(TRUE);
	g_assert_cmpint(join(0, "r", "amy", TRUE, &a, NULL, &reason), ==, SFU_OK);
	sfu_grant_clear(&a);
	teardown();
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/moderation/revoke/ejects-and-refuses", test_revoke_ejects_and_refuses);
	g_test_add_func("/moderation/revoke/bounded", test_revocations_bounded);
	g_test_add_func("/moderation/mute", test_mute);
	g_test_add_func("/moderation/kicks-and-bans-across-nodes", test_kicks_and_bans_across_nodes);
	g_test_add_func("/moderation/jti-owner-elsewhere", test_jti_owner_elsewhere);
	g_test_add_func("/moderation/state-unavailable", test_state_unavailable);
	return g_test_run();
}
