/*! \file    test-bans.c
 * \brief    Unit tests for sfu_bans, every table of it: kick bans by identity, expiry and pruning, the bound
 *           on bans (the soonest to expire gives way), unban, ban_until; revocations (each kind, extension,
 *           lifting, listing, the bound); owner mutes (mask, expiry, listing, the bound); the bounded jti
 *           claims of one_user_per_jti, peeking and the owner decided by the shared state; the kind names.
 *           (sfu_access's use of these tables, with handles and events, is in test-access and
 *           test-moderation.)
 */
#include <string.h>
#include <glib.h>

#include "sfu_bans.h"

static void test_bans_by_identity(void) {
	sfu_bans_init(100, 100, 100);
	gint64 now = 1000000;
	g_assert_cmpint(
		sfu_bans_add("room", SFU_BAN_USER, "victim", "victim", now + 60, "owner", now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(
		sfu_bans_add("room", SFU_BAN_SUB, "sub-1", "victim", now + 60, "owner", now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(
		sfu_bans_add("room", SFU_BAN_JTI, "jti-1", "victim", now + 60, "owner", now), ==, SFU_BAN_ADDED);
	g_assert_true(sfu_bans_check("room", "victim", NULL, NULL, now));
	g_assert_true(sfu_bans_check("room", "other-name", "sub-1", NULL, now)); /* same identity, new name */
	g_assert_true(sfu_bans_check("room", "other-name", NULL, "jti-1", now)); /* same token */
	g_assert_false(sfu_bans_check("room", "other-name", "sub-2", "jti-2", now));
	g_assert_false(sfu_bans_check("other-room", "victim", "sub-1", "jti-1", now)); /* per room */
	g_assert_false(sfu_bans_check("room", "victim", NULL, NULL, now + 60));        /* expired */
	/* A user_id never matches a sub or a jti of the same text: kinds are separate. */
	g_assert_false(sfu_bans_check("room", "sub-1", NULL, NULL, now));
	g_assert_false(sfu_bans_check("room", NULL, "victim", NULL, now));
	sfu_bans_shutdown();
}

static void test_bans_extend_list_remove(void) {
	sfu_bans_init(100, 100, 100);
	gint64 now = 1000000;
	sfu_bans_add("room", SFU_BAN_USER, "victim", "victim", now + 600, "admin", now);
	sfu_bans_add("room", SFU_BAN_USER, "victim", "victim", now + 60, "owner", now); /* never shortened */
	g_assert_true(sfu_bans_check("room", "victim", NULL, NULL, now + 100));
	sfu_bans_add("room", SFU_BAN_SUB, "s", "victim", now + 600, "admin", now);
	sfu_bans_add("room", SFU_BAN_USER, "other", "other", now + 30, "owner", now);
	g_assert_cmpuint(sfu_bans_count(), ==, 3);
	json_t *list = sfu_bans_list("room", now + 40); /* "other" expired and is pruned */
	g_assert_cmpuint(json_array_size(list), ==, 2);
	json_t *first = json_array_get(list, 0);
	g_assert_cmpstr(json_string_value(json_object_get(first, "user_id")), ==, "victim");
	g_assert_cmpstr(json_string_value(json_object_get(first, "by")), ==, "admin");
	json_decref(list);
	g_assert_cmpuint(sfu_bans_count(), ==, 2);
	list = sfu_bans_list("nope", now);
	g_assert_cmpuint(json_array_size(list), ==, 0);
	json_decref(list);
	/* Unban lifts every identity the kick of that user recorded. */
	g_assert_cmpuint(sfu_bans_remove("room", "victim"), ==, 2);
	g_assert_false(sfu_bans_check("room", "victim", "s", NULL, now));
	g_assert_cmpuint(sfu_bans_remove("room", "victim"), ==, 0);
	g_assert_cmpuint(sfu_bans_count(), ==, 0);
	sfu_bans_shutdown();
}

/* Bounded per room and in all, and fair (attacker review: kicks in one room used to flush others' bans): a
 * room at its quota gives up its own soonest ban; a full table makes the room holding the most bans give up
 * its soonest, never a room with fewer. */
static void test_bans_bounded(void) {
	sfu_bans_init(5, 3, 100);
	gint64 now = 1000;
	g_assert_cmpint(sfu_bans_add("other", SFU_BAN_USER, "x", "x", now + 50, NULL, now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(sfu_bans_add("r", SFU_BAN_USER, "a", "a", now + 300, NULL, now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(sfu_bans_add("r", SFU_BAN_USER, "b", "b", now + 100, NULL, now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(sfu_bans_add("r", SFU_BAN_USER, "c", "c", now + 200, NULL, now), ==, SFU_BAN_ADDED);
	/* "r" is at its quota of 3: its own soonest ("b") goes, never "other"'s (which expires sooner still). */
	g_assert_cmpint(
		sfu_bans_add("r", SFU_BAN_USER, "d", "d", now + 400, NULL, now), ==, SFU_BAN_REPLACED_OWN);
	g_assert_false(sfu_bans_check("r", "b", NULL, NULL, now));
	g_assert_true(sfu_bans_check("other", "x", NULL, NULL, now));
	g_assert_true(sfu_bans_check("r", "a", NULL, NULL, now) && sfu_bans_check("r", "d", NULL, NULL, now));
	g_assert_cmpuint(sfu_bans_count(), ==, 4);
	/* The table (5) fills up; a ban in a new room is taken from the room holding the most ("r"). */
	g_assert_cmpint(sfu_bans_add("third", SFU_BAN_USER, "t", "t", now + 10, NULL, now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(
		sfu_bans_add("fourth", SFU_BAN_USER, "f", "f", now + 900, NULL, now), ==, SFU_BAN_REPLACED_OTHER);
	g_assert_true(sfu_bans_check("fourth", "f", NULL, NULL, now));
	g_assert_false(sfu_bans_check("r", "c", NULL, NULL, now)); /* r's soonest */
	g_assert_true(
		sfu_bans_check("third", "t", NULL, NULL, now) && sfu_bans_check("other", "x", NULL, NULL, now));
	g_assert_cmpuint(sfu_bans_count(), ==, 5);
	/* A room flooding a full table pays itself: the other rooms' bans stay while "r" kicks on. */
	for(int i = 0; i < 10; i++) {
		char u[16];
		g_snprintf(u, sizeof(u), "p%d", i);
		sfu_bans_add("r", SFU_BAN_USER, u, u, now + 600 + i, NULL, now);
	}
	g_assert_true(sfu_bans_check("other", "x", NULL, NULL, now));
	g_assert_true(sfu_bans_check("third", "t", NULL, NULL, now));
	g_assert_true(sfu_bans_check("fourth", "f", NULL, NULL, now));
	g_assert_cmpuint(sfu_bans_count(), ==, 5);
	/* Expired ones are pruned first. */
	g_assert_cmpint(
		sfu_bans_add("fifth", SFU_BAN_USER, "g", "g", now + 900, NULL, now + 20), ==, SFU_BAN_ADDED);
	sfu_bans_shutdown();
}

/* Many bans: the check is a lookup, the table never exceeds its bound and drains as they expire. */
static void test_bans_many(void) {
	const guint bound = 20000;
	sfu_bans_init(bound, bound, 100);
	gint64 now = 1000;
	char user[32];
	for(guint i = 0; i < 2 * bound; i++) {
		g_snprintf(user, sizeof(user), "u%u", i);
		sfu_bans_add("r", SFU_BAN_USER, user, user, now + 10 + i, NULL, now);
	}
	g_assert_cmpuint(sfu_bans_count(), ==, bound);
	g_snprintf(user, sizeof(user), "u%u", 2 * bound - 1);
	g_assert_true(sfu_bans_check("r", user, NULL, NULL, now)); /* the room gave up its soonest ones */
	g_assert_false(sfu_bans_check("r", "u0", NULL, NULL, now));
	json_decref(sfu_bans_list(NULL, now + 10 + 2 * bound));
	g_assert_cmpuint(sfu_bans_count(), ==, 0);
	sfu_bans_shutdown();
}

static void test_jti_claims(void) {
	sfu_bans_init(10, 10, 3);
	gint64 now = 5000;
	g_assert_cmpint(sfu_bans_claim_jti("j", "alice", now + 10, now), ==, SFU_JTI_OK);
	g_assert_cmpint(sfu_bans_claim_jti("j", "alice", now + 10, now), ==, SFU_JTI_OK);    /* same user again */
	g_assert_cmpint(sfu_bans_claim_jti("j", "bob", now + 10, now), ==, SFU_JTI_TAKEN);   /* shared token */
	g_assert_cmpint(sfu_bans_claim_jti("j", "bob", now + 20, now + 10), ==, SFU_JTI_OK); /* alice's expired */
	g_assert_cmpint(sfu_bans_claim_jti(NULL, "carol", now + 10, now), ==, SFU_JTI_OK);   /* nothing to hold */
	g_assert_cmpint(sfu_bans_claim_jti("past", "carol", now, now), ==, SFU_JTI_OK);      /* nothing to keep */
	g_assert_cmpuint(sfu_bans_jti_count(), ==, 1);
	/* Bounded: a full table of live claims refuses new ones; expired claims are pruned at their exp. */
	g_assert_cmpint(sfu_bans_claim_jti("k", "dave", now + 100, now + 10), ==, SFU_JTI_OK);
	g_assert_cmpint(sfu_bans_claim_jti("l", "erin", now + 100, now + 10), ==, SFU_JTI_OK);
	g_assert_cmpint(sfu_bans_claim_jti("m", "fred", now + 100, now + 10), ==, SFU_JTI_FULL);
	g_assert_cmpint(sfu_bans_claim_jti("m", "fred", now + 100, now + 21), ==, SFU_JTI_OK); /* "j" expired */
	g_assert_cmpuint(sfu_bans_jti_count(), ==, 3);
	sfu_bans_shutdown();
}

/* The identity names and their parsing (the admin API and the state backend's messages use them). */
static void test_kind_names(void) {
	for(int k = SFU_BAN_USER; k <= SFU_BAN_JTI; k++) {
		sfu_ban_kind back;
		g_assert_true(sfu_ban_kind_parse(sfu_ban_kind_name((sfu_ban_kind)k), &back));
		g_assert_cmpint(back, ==, k);
	}
	for(int k = SFU_REVOKE_JTI; k <= SFU_REVOKE_KID; k++) {
		sfu_revoke_kind back;
		g_assert_true(sfu_revoke_kind_parse(sfu_revoke_kind_name((sfu_revoke_kind)k), &back));
		g_assert_cmpint(back, ==, k);
	}
	sfu_ban_kind b;
	sfu_revoke_kind r;
	g_assert_false(sfu_ban_kind_parse("kid", &b));
	g_assert_false(sfu_revoke_kind_parse("room", &r));
	g_assert_cmpstr(sfu_ban_kind_name(SFU_BAN_USER), ==, "user_id");
	g_assert_cmpstr(sfu_revoke_kind_name(SFU_REVOKE_KID), ==, "kid");
}

/* How long a ban lasts, per identity and room. */
static void test_ban_until(void) {
	sfu_bans_init(10, 10, 10);
	gint64 now = 2000;
	g_assert_cmpint(sfu_bans_add("r", SFU_BAN_SUB, "s1", "alice", now + 60, NULL, now), ==, SFU_BAN_ADDED);
	g_assert_cmpint(sfu_bans_ban_until("r", SFU_BAN_SUB, "s1", now), ==, now + 60);
	g_assert_cmpint(sfu_bans_ban_until("r", SFU_BAN_USER, "s1", now), ==, 0); /* another kind */
	g_assert_cmpint(sfu_bans_ban_until("other", SFU_BAN_SUB, "s1", now), ==, 0);
	g_assert_cmpint(sfu_bans_ban_until("r", SFU_BAN_SUB, "s1", now + 61), ==, 0); /* expired */
	sfu_bans_shutdown();
}

/* Revocations: every kind matches its claim, in any room; extended, never shortened; lifted; listed soonest
 * first; bounded (a full table of live ones refuses a new one). */
static void test_revocations(void) {
	sfu_bans_init(10, 10, 10);
	sfu_bans_init_moderation(3, 10);
	gint64 now = 3000;
	g_assert_false(sfu_bans_revoked("j1", "s1", "u1", "k1", now)); /* nothing revoked yet */
	g_assert_true(sfu_bans_revoke(SFU_REVOKE_JTI, "j1", now + 50, "admin", now));
	g_assert_true(sfu_bans_revoke(SFU_REVOKE_SUB, "s1", now + 10, NULL, now));
	g_assert_true(sfu_bans_revoke(SFU_REVOKE_KID, "k1", now + 30, NULL, now));
	g_assert_cmpuint(sfu_bans_revocations_count(), ==, 3);
	g_assert_true(sfu_bans_revoked("j1", NULL, NULL, NULL, now));
	g_assert_true(sfu_bans_revoked(NULL, "s1", NULL, NULL, now));
	g_assert_true(sfu_bans_revoked(NULL, NULL, NULL, "k1", now));
	g_assert_false(sfu_bans_revoked("j2", "s2", "s1", "k2", now)); /* a sub is not a user_id */
	/* Full: refused, nothing recorded. */
	g_assert_false(sfu_bans_revoke(SFU_REVOKE_USER, "u1", now + 60, NULL, now));
	g_assert_false(sfu_bans_revoked(NULL, NULL, "u1", NULL, now));
	/* Extended, never shortened; expired ones stop matching. */
	g_assert_true(sfu_bans_revoke(SFU_REVOKE_SUB, "s1", now + 40, NULL, now));
	g_assert_true(sfu_bans_revoke(SFU_REVOKE_SUB, "s1", now + 1, NULL, now));
	g_assert_cmpint(sfu_bans_revocation_until(SFU_REVOKE_SUB, "s1", now), ==, now + 40);
	g_assert_true(sfu_bans_revoked(NULL, "s1", NULL, NULL, now + 39));
	g_assert_false(sfu_bans_revoked(NULL, "s1", NULL, NULL, now + 41));
	g_assert_cmpint(sfu_bans_revocation_until(SFU_REVOKE_SUB, "s1", now + 41), ==, 0);
	/* Listed soonest to expire first. */
	json_t *list = sfu_bans_list_revocations(now);
	g_assert_cmpuint(json_array_size(list), ==, 3);
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(list, 0), "kind")), ==, "kid");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(list, 1), "kind")), ==, "sub");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(list, 2), "value")), ==, "j1");
	g_assert_cmpstr(json_string_value(json_object_get(json_array_get(list, 2), "by")), ==, "admin");
	json_decref(list);
	/* Lifted. */
	g_assert_true(sfu_bans_unrevoke(SFU_REVOKE_KID, "k1"));
	g_assert_false(sfu_bans_unrevoke(SFU_REVOKE_KID, "k1"));
	g_assert_false(sfu_bans_revoked(NULL, NULL, NULL, "k1", now));
	/* Room again: a user_id revocation fits now. */
	g_assert_true(sfu_bans_revoke(SFU_REVOKE_USER, "u1", now + 60, NULL, now));
	g_assert_true(sfu_bans_revoked(NULL, NULL, "u1", NULL, now));
	sfu_bans_shutdown();
}

/* Mutes: a mask per (room, user) until a time; mask 0 removes it; listed; bounded (the soonest to expire gives
 * way, and the caller is told). */
static void test_mutes(void) {
	sfu_bans_init(10, 10, 10);
	sfu_bans_init_moderation(10, 2);
	gint64 now = 4000;
	g_assert_true(sfu_bans_set_mute("r", "dave", 1, now + 60, "boss", now));
	g_assert_cmpuint(sfu_bans_mute_of("r", "dave", now), ==, 1);
	g_assert_cmpuint(sfu_bans_mute_of("other", "dave", now), ==, 0);
	g_assert_cmpuint(sfu_bans_mute_of("r", "dave", now + 61), ==, 0); /* expired */
	g_assert_true(sfu_bans_set_mute("r", "dave", 3, now + 60, "boss", now));
	g_assert_cmpuint(sfu_bans_mute_of("r", "dave", now), ==, 3);
	g_assert_true(sfu_bans_set_mute("r", "erin", 2, now + 30, NULL, now));
	g_assert_cmpuint(sfu_bans_mutes_count(), ==, 2);
	json_t *list = sfu_bans_list_mutes("r", now);
	g_assert_cmpuint(json_array_size(list), ==, 2);
	json_decref(list);
	list = sfu_bans_list_mutes("other", now);
	g_assert_cmpuint(json_array_size(list), ==, 0);
	json_decref(list);
	/* Full: the mute expiring soonest (erin's) is dropped for the new one. */
	g_assert_false(sfu_bans_set_mute("r", "fred", 1, now + 90, NULL, now));
	g_assert_cmpuint(sfu_bans_mute_of("r", "fred", now), ==, 1);
	g_assert_cmpuint(sfu_bans_mute_of("r", "erin", now), ==, 0);
	g_assert_cmpuint(sfu_bans_mutes_count(), ==, 2);
	/* Mask 0 removes. */
	g_assert_true(sfu_bans_set_mute("r", "dave", 0, now + 60, "boss", now));
	g_assert_cmpuint(sfu_bans_mute_of("r", "dave", now), ==, 0);
	g_assert_cmpuint(sfu_bans_mutes_count(), ==, 1);
	sfu_bans_shutdown();
}

/* jti owners: peeking records nothing; the shared state's owner replaces whoever was known here. */
static void test_jti_peek_and_owner(void) {
	sfu_bans_init(10, 10, 2);
	gint64 now = 6000;
	g_assert_cmpint(sfu_bans_jti_peek("j", "alice", now + 10, now), ==, SFU_JTI_OK);
	g_assert_cmpuint(sfu_bans_jti_count(), ==, 0);
	g_assert_cmpint(sfu_bans_claim_jti("j", "alice", now + 10, now), ==, SFU_JTI_OK);
	g_assert_cmpint(sfu_bans_jti_peek("j", "bob", now + 10, now), ==, SFU_JTI_TAKEN);
	g_assert_cmpint(sfu_bans_jti_peek("j", "alice", now + 10, now), ==, SFU_JTI_OK);
	g_assert_cmpint(sfu_bans_claim_jti("k", "carol", now + 10, now), ==, SFU_JTI_OK);
	g_assert_cmpint(sfu_bans_jti_peek("l", "dave", now + 10, now), ==, SFU_JTI_FULL);
	g_assert_cmpuint(sfu_bans_jti_count(), ==, 2);
	/* Another node decided: bob holds j; alice held it here. */
	g_assert_true(sfu_bans_set_jti_owner("j", "bob", now + 10, now));
	g_assert_cmpint(sfu_bans_jti_peek("j", "alice", now + 10, now), ==, SFU_JTI_TAKEN);
	g_assert_cmpint(sfu_bans_claim_jti("j", "bob", now + 10, now), ==, SFU_JTI_OK);
	g_assert_false(sfu_bans_set_jti_owner("j", "bob", now + 10, now)); /* already bob's */
	sfu_bans_shutdown();
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bans/by_identity", test_bans_by_identity);
	g_test_add_func("/bans/extend_list_remove", test_bans_extend_list_remove);
	g_test_add_func("/bans/bounded", test_bans_bounded);
	g_test_add_func("/bans/many", test_bans_many);
	g_test_add_func("/bans/jti_claims", test_jti_claims);
	g_test_add_func("/bans/kind_names", test_kind_names);
	g_test_add_func("/bans/ban_until", test_ban_until);
	g_test_add_func("/bans/revocations", test_revocations);
	g_test_add_func("/bans/mutes", test_mutes);
	g_test_add_func("/bans/jti_peek_and_owner", test_jti_peek_and_owner);
	return g_test_run();
}
