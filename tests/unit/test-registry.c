/*! \file    test-registry.c
 * \brief    Unit tests for sfu_registry, with the fake core and no Janus:
 *           joins, limits, zombies, subscriptions, departures, blocks, data
 *           targets, snapshots and a multi-threaded stress test.
 */
#include <string.h>
#include <glib.h>
#include <jansson.h>

#include "sfu_core.h"
#include "sfu_registry.h"
#include "support/fake-core.h"

#define MAX_JH 512

static janus_plugin_session jhs[MAX_JH];
static volatile gint jh_released[MAX_JH]; /* times the plugin dropped the core's reference to jhs[i] */

static void jh_free(const janus_refcount *ref) {
	janus_plugin_session *jh = janus_refcount_containerof(ref, janus_plugin_session, ref);
	g_atomic_int_inc(&jh_released[jh - jhs]);
}

/* =============================================================================
 * Helpers
 * ==========================================================================*/

static void setup(void) {
	/* Each core session starts with the one reference the core hands to the plugin. */
	for(int i = 0; i < MAX_JH; i++) {
		janus_refcount_init(&jhs[i].ref, jh_free);
		g_atomic_int_set(&jh_released[i], 0);
	}
	fake_core_install();
	sfu_registry_init(1000);
}

/* Every test ends here: registry empty after removing everything, no core call under a lock. */
static void teardown(guint violations_before) {
	sfu_registry_shutdown();
	sfu_registry_counts c;
	sfu_registry_counts_get(&c);
	g_assert_cmpuint(c.handles, ==, 0);
	g_assert_cmpuint(c.rooms, ==, 0);
	g_assert_cmpuint(sfu_core_lock_violations(), ==, violations_before);
	fake_core_uninstall();
}

static sfu_handle *add(int i) {
	sfu_handle *h = sfu_registry_add(&jhs[i]);
	g_assert_nonnull(h);
	g_assert_true(h->jh == &jhs[i]);
	return h;
}

static int cmp_str(gconstpointer a, gconstpointer b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted users list of a join, as "a,b". */
static char *users_of(json_t *users) {
	GPtrArray *names = g_ptr_array_new();
	size_t i;
	json_t *v;
	json_array_foreach(users, i, v) g_ptr_array_add(names, (gpointer)json_string_value(v));
	g_ptr_array_sort(names, cmp_str);
	g_ptr_array_add(names, NULL);
	char *joined = g_strjoinv(",", (char **)names->pdata);
	g_ptr_array_free(names, TRUE);
	return joined;
}

/* One join step under the registry lock, as sfu_access makes it (flags, grant, optional media at once). */
static sfu_err join_step(sfu_handle *h, const char *room, const char *user, gboolean publisher,
	gboolean subscribe, gboolean notifications, const char *media, const sfu_limits *lim, json_t **users,
	GPtrArray **notify, char **offer) {
	sfu_handle_auth auth = {.publish_media = TRUE, .send_data = TRUE};
	sfu_join j = {.room_id = room,
		.user_id = user,
		.role = publisher ? SFU_ROLE_PUBLISHER : SFU_ROLE_SUBSCRIBER,
		.subscribe = subscribe,
		.notifications = notifications,
		.data = publisher && subscribe,
		.media = media,
		.auth = &auth};
	if(lim != NULL)
		j.limits = *lim;
	sfu_join_result r;
	sfu_registry_lock();
	sfu_err err = sfu_registry_join_locked(h, &j, &r);
	sfu_registry_unlock();
	if(err != SFU_OK) {
		g_assert_null(r.users);
		g_assert_null(r.notify);
		g_assert_null(r.offer);
	}
	if(users != NULL) {
		*users = r.users;
		r.users = NULL;
	}
	if(notify != NULL) {
		*notify = r.notify;
		r.notify = NULL;
	}
	if(offer != NULL) {
		*offer = r.offer;
		r.offer = NULL;
	}
	sfu_join_result_clear(&r);
	return err;
}

/* A join without subscription (no flags). */
static sfu_err join2(sfu_handle *h, const char *room, const char *user, gboolean publisher,
	const sfu_limits *lim, char **users_out, GPtrArray **notify_out) {
	json_t *users = NULL;
	GPtrArray *notify = NULL;
	sfu_err err = join_step(h, room, user, publisher, FALSE, FALSE, NULL, lim, &users, &notify, NULL);
	if(err != SFU_OK)
		return err;
	g_assert_true(json_is_array(users));
	if(users_out != NULL)
		*users_out = users_of(users);
	json_decref(users);
	if(publisher)
		g_assert_nonnull(notify);
	else
		g_assert_null(notify);
	if(notify_out != NULL)
		*notify_out = notify;
	else if(notify != NULL)
		g_ptr_array_unref(notify);
	return SFU_OK;
}

/* A join with its subscription {notifications, data == publisher}, like naf's publisher join. */
static sfu_err join_full(
	sfu_handle *h, const char *room, const char *user, gboolean publisher, gboolean notif) {
	GPtrArray *notify = NULL;
	sfu_err err = join_step(h, room, user, publisher, TRUE, notif, NULL, NULL, NULL, &notify, NULL);
	if(notify != NULL)
		g_ptr_array_unref(notify);
	return err;
}

static void join_ok(sfu_handle *h, const char *room, const char *user, gboolean publisher) {
	g_assert_cmpint(join_full(h, room, user, publisher, TRUE), ==, SFU_OK);
}

/* A subscribe request on \p h (joined: its room; not joined: flags only). */
static sfu_err subscribe(sfu_handle *h, gboolean notif, gboolean data, const char *media, char **offer) {
	sfu_registry_lock();
	sfu_err err = sfu_registry_subscribe_locked(h, notif, data, media, offer);
	sfu_registry_unlock();
	return err;
}

static gboolean registry_remove(janus_plugin_session *jh, sfu_departure *d) {
	sfu_registry_lock();
	gboolean known = sfu_registry_remove_locked(jh, d);
	sfu_registry_unlock();
	return known;
}

static GPtrArray *evict(const char *room, const char *user, sfu_handle *except, sfu_departure *d) {
	sfu_registry_lock();
	GPtrArray *v = sfu_registry_evict_locked(room, user, except, d);
	sfu_registry_unlock();
	return v;
}

static GPtrArray *user_handles(const char *room, const char *user) {
	sfu_registry_lock();
	GPtrArray *v = sfu_registry_user_handles_locked(room, user);
	sfu_registry_unlock();
	return v;
}

static gboolean only_room(const char *room_id, gpointer want) {
	return !strcmp(room_id, want);
}

/* The room of \p user's registered publisher, among \p room (or all rooms when NULL). */
static char *publisher_room(const char *room, const char *user) {
	sfu_registry_lock();
	char *r = sfu_registry_publisher_room_locked(user, room ? only_room : NULL, (gpointer)room);
	sfu_registry_unlock();
	return r;
}

static GPtrArray *block(sfu_handle *h, const char *whom) {
	GPtrArray *t = NULL;
	g_assert_cmpint(sfu_registry_block(h, whom, &t), ==, SFU_OK);
	return t;
}

static GPtrArray *unblock(sfu_handle *h, const char *whom, sfu_handle **fir) {
	GPtrArray *t = NULL;
	g_assert_cmpint(sfu_registry_unblock(h, whom, &t, fir), ==, SFU_OK);
	return t;
}

static GPtrArray *removed(int i, sfu_departure *d) {
	g_assert_true(registry_remove(&jhs[i], d));
	return d->notify;
}

static gboolean array_has(GPtrArray *a, sfu_handle *h) {
	for(guint i = 0; a != NULL && i < a->len; i++) {
		if(a->pdata[i] == h)
			return TRUE;
	}
	return FALSE;
}

static void set_offer(sfu_handle *pub) {
	GPtrArray *subs = sfu_registry_set_offer(pub, g_strdup("v=0\r\n"), 111, 96);
	g_ptr_array_unref(subs);
}

/* =============================================================================
 * Joining
 * ==========================================================================*/


static void test_join_publisher_subscriber(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0), *b = add(1), *c = add(2), *idle = add(3);
	g_assert_null(sfu_registry_add(&jhs[0])); /* known jh */
	char *users = NULL;
	GPtrArray *notify = NULL;

	json_t *users_json = NULL;
	g_assert_cmpint(
		join_step(a, "r", "a", TRUE, TRUE, TRUE, NULL, NULL, &users_json, &notify, NULL), ==, SFU_OK);
	users = users_of(users_json);
	json_decref(users_json);
	g_assert_cmpstr(users, ==, ""); /* the users list is taken before the joiner */
	g_assert_cmpuint(notify->len, ==, 0);
	g_free(users);
	g_ptr_array_unref(notify);
	g_assert_cmpint(a->role, ==, SFU_ROLE_PUBLISHER);
	g_assert_cmpstr(a->room_id, ==, "r");
	g_assert_cmpstr(a->user_id, ==, "a");
	/* The flags are stored with the membership: a publisher joining next already notifies a. */
	g_assert_true(a->notifications && a->data && a->subscribed);
	g_assert_cmpint(
		join_step(b, "r", "b", TRUE, TRUE, TRUE, NULL, NULL, &users_json, &notify, NULL), ==, SFU_OK);
	users = users_of(users_json);
	json_decref(users_json);
	g_assert_cmpstr(users, ==, "a");
	g_assert_cmpuint(notify->len, ==, 1);
	g_assert_true(notify->pdata[0] == a);
	g_free(users);
	/* Two phases: push the join event after the registry call, with no lock held. */
	json_t *ev = json_pack("{ssssss}", "event", "join", "user_id", "b", "room_id", "r");
	for(guint i = 0; i < notify->len; i++)
		g_assert_cmpint(sfu_core_push_event(((sfu_handle *)notify->pdata[i])->jh, NULL, ev, NULL), ==, 0);
	json_decref(ev);
	g_ptr_array_unref(notify);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[0], "\"event\":\"join\""), ==, 1);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[1], NULL), ==, 0);
	char *offer = NULL;
	g_assert_cmpint(subscribe(b, TRUE, TRUE, NULL, &offer), ==, SFU_ERR_HANDLE_SUBSCRIBED); /* once */

	/* A subscriber join sees the publishers but is not in the list itself, and notifies nobody. */
	g_assert_cmpint(join2(c, "r", "c", FALSE, NULL, &users, NULL), ==, SFU_OK);
	g_assert_cmpstr(users, ==, "a,b");
	g_free(users);
	g_assert_cmpint(c->role, ==, SFU_ROLE_SUBSCRIBER);
	g_assert_cmpint(join2(idle, "r", "d", TRUE, NULL, &users, NULL), ==, SFU_OK);
	g_assert_cmpstr(users, ==, "a,b");
	g_free(users);

	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.handles, ==, 4);
	g_assert_cmpuint(counts.rooms, ==, 1);
	g_assert_cmpuint(counts.publisher_users, ==, 3);

	GPtrArray *pubs = sfu_room_publishers(c);
	g_assert_cmpuint(pubs->len, ==, 3);
	g_assert_true(pubs->pdata[0] == a && pubs->pdata[1] == b && pubs->pdata[2] == idle);
	g_ptr_array_unref(pubs);

	/* Lookups return new references; unknown handles give NULL. */
	sfu_handle *found = sfu_registry_lookup(&jhs[1]);
	g_assert_true(found == b);
	sfu_handle_unref(found);
	g_assert_null(sfu_registry_lookup(&jhs[100]));

	json_t *rooms = sfu_registry_list_rooms();
	g_assert_cmpuint(json_array_size(rooms), ==, 1);
	g_assert_cmpint(json_integer_value(json_object_get(json_array_get(rooms, 0), "publisher_users")), ==, 3);
	json_decref(rooms);
	json_t *parts = sfu_registry_list_participants("r");
	g_assert_cmpuint(json_array_size(parts), ==, 4);
	json_decref(parts);
	g_assert_null(sfu_registry_list_participants("nope"));
	json_t *desc = sfu_handle_describe(a);
	g_assert_cmpstr(json_string_value(json_object_get(desc, "role")), ==, "publisher");
	json_decref(desc);

	teardown(v0);
}

static void test_lock_probe(void) {
	/* The fake's probe counts core calls made inside a critical section the test marks. */
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0);
	join_ok(a, "r", "a", TRUE);
	GPtrArray *targets = NULL;
	fake_core_lock_enter();
	targets = sfu_registry_data_targets(a, "a", NULL, NULL); /* registry calls never reach the core */
	fake_core_lock_leave();
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0);
	fake_core_lock_enter();
	sfu_core_close_pc(a->jh);
	fake_core_lock_leave();
	g_assert_cmpuint(sfu_core_lock_violations(), ==, v0 + 1);
	g_assert_cmpuint(fake_core_count(FAKE_CLOSE_PC, a->jh), ==, 1);
	g_ptr_array_unref(targets);
	teardown(v0 + 1);
}

/* The plugin drops the core's reference to a session exactly once, and only when nothing can reach the
 * handle any more (issue 11: every handle leaked its janus_plugin_session before). */
static void test_core_reference_released(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0);
	sfu_handle *b = add(1);
	join_ok(a, "r", "alice", TRUE);
	sfu_handle_ref(b); /* like a queued request */
	sfu_departure d;
	g_assert_true(registry_remove(&jhs[0], &d));
	sfu_departure_clear(&d);
	g_assert_cmpint(g_atomic_int_get(&jh_released[0]), ==, 1);
	g_assert_true(registry_remove(&jhs[1], &d));
	sfu_departure_clear(&d);
	g_assert_cmpint(g_atomic_int_get(&jh_released[1]), ==, 0); /* still referenced */
	sfu_handle_unref(b);
	g_assert_cmpint(g_atomic_int_get(&jh_released[1]), ==, 1);
	g_assert_false(registry_remove(&jhs[1], &d)); /* idempotent: no second release */
	g_assert_cmpint(g_atomic_int_get(&jh_released[1]), ==, 1);
	teardown(v0);
}

static void test_zombie_publisher(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *old = add(0), *other = add(1), *fresh = add(2), *sub1 = add(3), *sub2 = add(4);
	join_ok(old, "r", "a", TRUE);
	set_offer(old);
	join_ok(other, "r", "b", TRUE);
	/* The same user joins again as publisher (reconnect before the old handle died). */
	char *users = NULL;
	GPtrArray *notify = NULL;
	g_assert_cmpint(join2(fresh, "r", "a", TRUE, NULL, &users, &notify), ==, SFU_OK);
	g_assert_cmpstr(users, ==, "a,b");    /* own id: how naf-janus-adapter detects the zombie */
	g_assert_cmpuint(notify->len, ==, 1); /* only b, never the user's own handles */
	g_assert_true(notify->pdata[0] == other);
	g_ptr_array_unref(notify);
	g_free(users);
	char *offer = NULL;
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.publisher_users, ==, 2);

	/* The registered publisher is the oldest live one. */
	join_ok(sub1, "r", "s", FALSE);
	sfu_handle *sub1b = add(5);
	g_assert_cmpint(join2(sub1b, "r", "s", FALSE, NULL, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(subscribe(sub1b, FALSE, FALSE, "a", &offer), ==, SFU_OK);
	g_assert_cmpstr(offer, ==, "v=0\r\n");
	g_free(offer);
	sfu_handle *pub = sfu_handle_publisher(sub1b);
	g_assert_true(pub == old);
	sfu_handle_unref(pub);

	/* The OLD handle goes: the user stays (no leave), its subscribers lose their source. */
	sfu_departure d;
	removed(0, &d);
	g_assert_true(d.joined);
	g_assert_false(d.user_left);
	g_assert_null(d.notify);
	sfu_departure_clear(&d);
	g_assert_null(sfu_handle_publisher(sub1b));
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.publisher_users, ==, 2);

	/* The newer handle is promoted (upstream kept the dead one registered): a subscriber can get it. */
	char *room = publisher_room("r", "a");
	g_assert_cmpstr(room, ==, "r");
	g_free(room);
	join_ok(sub2, "r", "t", FALSE);
	sfu_handle *sub3 = add(6);
	g_assert_cmpint(join2(sub3, "r", "t", FALSE, NULL, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(subscribe(sub3, FALSE, FALSE, "a", &offer), ==, SFU_ERR_PUBLISHER_NOT_READY);
	g_assert_null(offer);
	set_offer(fresh);
	g_assert_cmpint(subscribe(sub3, FALSE, FALSE, "a", &offer), ==, SFU_OK);
	g_free(offer);
	pub = sfu_handle_publisher(sub3);
	g_assert_true(pub == fresh);
	sfu_handle_unref(pub);
	GPtrArray *subs = sfu_handle_subscribers(fresh);
	g_assert_cmpuint(subs->len, ==, 1);
	g_assert_true(subs->pdata[0] == sub3);
	g_ptr_array_unref(subs);
	teardown(v0);
}

static void test_limits(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_limits room_limit = {.max_room_size = 2};
	sfu_handle *h[8];
	for(int i = 0; i < 8; i++)
		h[i] = add(i);
	g_assert_cmpint(join2(h[0], "r", "a", TRUE, &room_limit, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(join2(h[1], "r", "b", TRUE, &room_limit, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(join2(h[2], "r", "c", TRUE, &room_limit, NULL, NULL), ==, SFU_ERR_ROOM_FULL);
	g_assert_cmpint(h[2]->role, ==, SFU_ROLE_NONE);
	/* Subscribers do not count and are not limited. */
	g_assert_cmpint(join2(h[2], "r", "c", FALSE, &room_limit, NULL, NULL), ==, SFU_OK);
	/* Other rooms have their own count. */
	g_assert_cmpint(join2(h[3], "r2", "c", TRUE, &room_limit, NULL, NULL), ==, SFU_OK);
	/* A leaving publisher frees its place. */
	sfu_departure d;
	removed(1, &d);
	sfu_departure_clear(&d);
	g_assert_cmpint(join2(h[4], "r", "e", TRUE, &room_limit, NULL, NULL), ==, SFU_OK);

	/* max_ccu: distinct publisher users server-wide. */
	sfu_limits ccu = {.max_ccu = 3};
	g_assert_cmpint(join2(h[5], "r3", "f", TRUE, &ccu, NULL, NULL), ==, SFU_ERR_SERVER_FULL); /* a, c, e */
	g_assert_cmpint(join2(h[5], "r3", "f", FALSE, &ccu, NULL, NULL), ==, SFU_OK);
	removed(3, &d); /* c's publisher in r2; c is still a subscriber in r, which does not count */
	sfu_departure_clear(&d);
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.publisher_users, ==, 2);
	g_assert_cmpint(join2(h[6], "r3", "g", TRUE, &ccu, NULL, NULL), ==, SFU_OK);
	/* A user_id holds at most max_publishers_per_user publisher handles in a room (zombies included). */
	sfu_limits per_user = {.max_publishers_per_user = 2};
	sfu_handle *z[3] = {add(20), add(21), add(22)};
	g_assert_cmpint(join2(z[0], "rz", "zed", TRUE, &per_user, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(join2(z[1], "rz", "zed", TRUE, &per_user, NULL, NULL), ==, SFU_OK);
	g_assert_cmpint(join2(z[2], "rz", "zed", TRUE, &per_user, NULL, NULL), ==, SFU_ERR_TOO_MANY_HANDLES);
	g_assert_cmpint(join2(z[2], "rz", "zed", FALSE, &per_user, NULL, NULL), ==, SFU_OK); /* subscribers: no */
	/* Limits of 0 are unlimited; NULL limits too. */
	sfu_limits none = {0};
	g_assert_cmpint(join2(h[7], "r", "h", TRUE, &none, NULL, NULL), ==, SFU_OK);
	teardown(v0);
}

static void test_already_joined(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0), *b = add(1);
	join_ok(a, "r", "a", TRUE);
	g_assert_cmpint(join2(a, "r", "a", TRUE, NULL, NULL, NULL), ==, SFU_ERR_ALREADY_JOINED);
	g_assert_cmpint(join2(a, "other", "x", FALSE, NULL, NULL, NULL), ==, SFU_ERR_ALREADY_JOINED);
	g_assert_cmpstr(a->room_id, ==, "r");
	join_ok(b, "r", "b", FALSE);
	g_assert_cmpint(join2(b, "r", "b", TRUE, NULL, NULL, NULL), ==, SFU_ERR_ALREADY_JOINED);
	/* An evicted (destroyed) handle cannot join again either. */
	sfu_handle *c = add(2);
	sfu_departure d;
	GPtrArray *victims = evict("r", "b", NULL, &d);
	g_ptr_array_unref(victims);
	sfu_departure_clear(&d);
	sfu_handle_ref(c);
	g_assert_cmpint(join2(c, "r", "c", TRUE, NULL, NULL, NULL), ==, SFU_OK);
	sfu_handle_unref(c);
	g_assert_true(registry_remove(&jhs[2], &d));
	sfu_departure_clear(&d);
	teardown(v0);
}

/* =============================================================================
 * Subscriptions
 * ==========================================================================*/

static void test_subscribe_errors(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *p = add(0), *s = add(1), *loose = add(2);
	join_ok(p, "r", "p", TRUE);
	g_assert_cmpint(join2(s, "r", "s", FALSE, NULL, NULL, NULL), ==, SFU_OK);
	char *offer = NULL;
	g_assert_cmpint(subscribe(s, FALSE, FALSE, "nobody", &offer), ==, SFU_ERR_NO_PUBLISHER);
	g_assert_null(offer);
	g_assert_false(s->subscribed); /* a refused subscription changes nothing */
	/* A subscriber handle is not a publisher. */
	g_assert_cmpint(subscribe(s, FALSE, FALSE, "s", &offer), ==, SFU_ERR_NO_PUBLISHER);
	/* Not ready until the publisher negotiated. */
	g_assert_cmpint(subscribe(s, FALSE, FALSE, "p", &offer), ==, SFU_ERR_PUBLISHER_NOT_READY);
	g_assert_null(offer);
	GPtrArray *subs = sfu_registry_set_offer(p, g_strdup("offer-1"), 111, 96);
	g_assert_cmpuint(subs->len, ==, 0);
	g_ptr_array_unref(subs);
	g_assert_cmpint(subscribe(s, TRUE, FALSE, "p", &offer), ==, SFU_OK);
	g_assert_cmpstr(offer, ==, "offer-1");
	g_free(offer);
	g_assert_true(s->subscribed);
	g_assert_false(s->notifications); /* fixed by the join, which had none */
	/* Only once per handle, with or without media. */
	g_assert_cmpint(subscribe(s, FALSE, FALSE, "p", &offer), ==, SFU_ERR_HANDLE_SUBSCRIBED);
	g_assert_cmpint(subscribe(s, FALSE, FALSE, NULL, &offer), ==, SFU_ERR_HANDLE_SUBSCRIBED);
	g_assert_cmpint(subscribe(p, FALSE, FALSE, NULL, &offer), ==, SFU_ERR_HANDLE_SUBSCRIBED);
	/* A publisher cannot receive itself. */
	sfu_handle *p2 = add(3);
	g_assert_cmpint(join2(p2, "r", "p2", TRUE, NULL, NULL, NULL), ==, SFU_OK);
	set_offer(p2);
	g_assert_cmpint(subscribe(p2, TRUE, TRUE, "p2", &offer), ==, SFU_ERR_NO_PUBLISHER);
	/* A renegotiation returns the current subscribers to push the new offer to. */
	subs = sfu_registry_set_offer(p, g_strdup("offer-2"), 111, 96);
	g_assert_cmpuint(subs->len, ==, 1);
	g_assert_true(subs->pdata[0] == s);
	g_ptr_array_unref(subs);
	g_assert_cmpint(p->audio_pt, ==, 111);
	g_assert_cmpint(p->video_pt, ==, 96);
	/* A non-joined handle: media needs a room (sfu_access enters it into one); flags alone are stored. */
	g_assert_cmpint(subscribe(loose, FALSE, FALSE, "p", &offer), ==, SFU_ERR_NO_PUBLISHER);
	g_assert_cmpint(subscribe(loose, TRUE, TRUE, NULL, &offer), ==, SFU_OK);
	g_assert_true(loose->subscribed && loose->notifications);
	g_assert_cmpint(subscribe(loose, TRUE, TRUE, NULL, &offer), ==, SFU_ERR_HANDLE_SUBSCRIBED);
	/* ... and a later join with a subscription is refused, one without is fine. */
	g_assert_cmpint(join_full(loose, "r", "l", FALSE, TRUE), ==, SFU_ERR_HANDLE_SUBSCRIBED);
	g_assert_cmpint(loose->role, ==, SFU_ROLE_NONE);
	g_assert_cmpint(join2(loose, "r", "l", FALSE, NULL, NULL, NULL), ==, SFU_OK);
	/* A subscriber join with media: membership and subscription in one step. */
	sfu_handle *s2 = add(5), *s3 = add(6);
	g_assert_cmpint(join_step(s2, "r", "s2", FALSE, TRUE, FALSE, "p", NULL, NULL, NULL, &offer), ==, SFU_OK);
	g_assert_cmpstr(offer, ==, "offer-2");
	g_free(offer);
	sfu_handle *src = sfu_handle_publisher(s2);
	g_assert_true(src == p);
	sfu_handle_unref(src);
	/* ... and when the publisher is missing, the join is refused whole: the handle is not in the room. */
	g_assert_cmpint(join_step(s3, "r", "s3", FALSE, TRUE, FALSE, "nobody", NULL, NULL, NULL, &offer), ==,
		SFU_ERR_NO_PUBLISHER);
	g_assert_cmpint(s3->role, ==, SFU_ROLE_NONE);
	GPtrArray *mine = user_handles("r", "s3");
	g_assert_cmpuint(mine->len, ==, 0);
	g_ptr_array_unref(mine);
	/* A destroyed handle cannot subscribe. */
	sfu_handle *gone = add(4);
	sfu_handle_ref(gone);
	sfu_departure d;
	g_assert_true(registry_remove(&jhs[4], &d));
	sfu_departure_clear(&d);
	g_assert_cmpint(subscribe(gone, FALSE, FALSE, NULL, &offer), ==, SFU_ERR_HANDLE_SUBSCRIBED);
	sfu_handle_unref(gone);
	teardown(v0);
}

static void test_room_scoped_lookup(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *pb = add(0), *sa = add(1);
	join_ok(pb, "B", "p", TRUE);
	set_offer(pb);
	g_assert_cmpint(join2(sa, "A", "s", FALSE, NULL, NULL, NULL), ==, SFU_OK);
	g_assert_null(publisher_room("A", "p"));
	char *room = publisher_room("B", "p");
	g_assert_cmpstr(room, ==, "B");
	g_free(room);
	room = publisher_room(NULL, "p");
	g_assert_cmpstr(room, ==, "B");
	g_free(room);
	g_assert_null(publisher_room(NULL, "nobody"));
	g_assert_null(publisher_room("nope", "p"));
	/* A joined handle only receives publishers of its own room. */
	char *offer = NULL;
	g_assert_cmpint(subscribe(sa, FALSE, FALSE, "p", &offer), ==, SFU_ERR_NO_PUBLISHER);
	g_assert_null(offer);
	g_assert_false(sa->subscribed);
	g_assert_null(sfu_handle_publisher(sa));
	/* Room-scoped queries do not leak either. */
	GPtrArray *mine = user_handles("A", "p");
	g_assert_cmpuint(mine->len, ==, 0);
	g_ptr_array_unref(mine);
	teardown(v0);
}

/* =============================================================================
 * Departures
 * ==========================================================================*/

static void test_departures(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0), *b = add(1), *b_sub = add(2), *quiet = add(3), *watcher = add(4), *never = add(5);
	join_ok(a, "r", "a", TRUE);
	join_ok(b, "r", "b", TRUE);
	join_ok(b_sub, "r", "b", FALSE);
	g_assert_cmpint(join_full(quiet, "r", "q", TRUE, FALSE), ==, SFU_OK); /* no notifications */
	join_ok(watcher, "r", "w", FALSE); /* subscribers never get room events */
	(void)never;

	sfu_departure d;
	/* b still has its subscriber handle: no leave yet. */
	removed(1, &d);
	g_assert_true(d.joined);
	g_assert_false(d.user_left);
	g_assert_cmpstr(d.user_id, ==, "b");
	g_assert_null(d.notify);
	sfu_departure_clear(&d);
	/* b's last handle: leave, to the publishers that want notifications, never to the leaver. */
	GPtrArray *notify = removed(2, &d);
	g_assert_true(d.user_left);
	g_assert_cmpstr(d.room_id, ==, "r");
	g_assert_cmpstr(d.user_id, ==, "b");
	g_assert_cmpuint(notify->len, ==, 1);
	g_assert_true(notify->pdata[0] == a);
	json_t *ev = json_pack("{ssssss}", "event", "leave", "user_id", d.user_id, "room_id", d.room_id);
	for(guint i = 0; i < notify->len; i++)
		sfu_core_push_event(((sfu_handle *)notify->pdata[i])->jh, NULL, ev, NULL);
	json_decref(ev);
	sfu_departure_clear(&d);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[0], "\"event\":\"leave\""), ==, 1);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[3], NULL), ==, 0);
	g_assert_cmpuint(fake_core_pushes_matching(&jhs[4], NULL), ==, 0);

	/* Removing a handle that never joined, twice, or an unknown one. */
	removed(5, &d);
	g_assert_false(d.joined);
	g_assert_false(d.user_left);
	g_assert_null(d.room_id);
	sfu_departure_clear(&d);
	g_assert_false(registry_remove(&jhs[5], &d));
	g_assert_false(registry_remove(&jhs[200], &d));

	/* Eviction: every handle of the user but the one kept, leave once when none is left. */
	sfu_handle *q2 = add(6), *q3 = add(7);
	join_ok(q2, "r", "q", FALSE);
	join_ok(q3, "r", "q", TRUE);
	GPtrArray *victims = evict("r", "q", q3, &d);
	g_assert_cmpuint(victims->len, ==, 2);
	g_assert_true(array_has(victims, quiet) && array_has(victims, q2));
	g_assert_false(d.user_left);
	g_ptr_array_unref(victims);
	sfu_departure_clear(&d);
	g_assert_null(sfu_registry_lookup(&jhs[3]));
	victims = evict("r", "q", NULL, &d);
	g_assert_cmpuint(victims->len, ==, 1);
	g_assert_true(d.user_left);
	g_assert_true(array_has(d.notify, a));
	g_ptr_array_unref(victims);
	sfu_departure_clear(&d);
	/* The core's later destroy_session finds them detached: no second leave. */
	removed(3, &d);
	g_assert_false(d.joined);
	g_assert_false(d.user_left);
	sfu_departure_clear(&d);
	victims = evict("nope", "q", NULL, &d);
	g_assert_cmpuint(victims->len, ==, 0);
	g_ptr_array_unref(victims);
	sfu_departure_clear(&d);

	/* The last member leaving removes the room. */
	removed(0, &d);
	sfu_departure_clear(&d);
	removed(4, &d);
	g_assert_true(d.user_left);
	g_assert_cmpuint(d.notify->len, ==, 0);
	sfu_departure_clear(&d);
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.rooms, ==, 0);
	g_assert_cmpuint(counts.publisher_users, ==, 0);
	teardown(v0);
}

/* =============================================================================
 * Blocks, data targets, user handles
 * ==========================================================================*/

static void test_blocks(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0), *b = add(1), *b_sub = add(2), *c = add(3);
	join_ok(a, "r", "a", TRUE);
	join_ok(b, "r", "b", TRUE);
	join_ok(b_sub, "r", "b", FALSE);
	join_ok(c, "r", "c", FALSE);
	g_assert_false(sfu_registry_is_blocked("r", "a", "b"));

	GPtrArray *targets = block(a, "b");
	g_assert_cmpuint(targets->len, ==, 1); /* b's publisher handle (with notifications) */
	g_assert_true(targets->pdata[0] == b);
	g_ptr_array_unref(targets);
	/* Both directions, and only that pair. */
	g_assert_true(sfu_registry_is_blocked("r", "a", "b"));
	g_assert_true(sfu_registry_is_blocked("r", "b", "a"));
	g_assert_false(sfu_registry_is_blocked("r", "a", "c"));
	g_assert_false(sfu_registry_is_blocked("r", "c", "b"));
	g_assert_false(sfu_registry_is_blocked("r", NULL, "b"));
	g_assert_false(sfu_registry_is_blocked("r", "a", NULL));
	/* Duplicates are counted, but one unblock removes them all. */
	g_ptr_array_unref(block(a, "b"));
	/* Blocking someone without a handle in the room works and notifies nobody. */
	targets = block(c, "ghost");
	g_assert_cmpuint(targets->len, ==, 0);
	g_ptr_array_unref(targets);
	g_assert_true(sfu_registry_is_blocked("r", "ghost", "c"));

	sfu_handle *fir = NULL;
	targets = unblock(a, "b", &fir);
	g_assert_cmpuint(targets->len, ==, 1);
	g_assert_true(targets->pdata[0] == b);
	g_assert_true(fir == b); /* b's registered publisher gets a FIR */
	sfu_handle_unref(fir);
	g_ptr_array_unref(targets);
	g_assert_false(sfu_registry_is_blocked("r", "a", "b"));
	g_assert_false(sfu_registry_is_blocked("r", "b", "a"));

	/* Unblocking what was never blocked, or a user without publisher: no FIR target. */
	targets = unblock(a, "c", &fir);
	g_assert_null(fir);
	g_assert_cmpuint(targets->len, ==, 0);
	g_ptr_array_unref(targets);

	/* A block by the other side is not removed by my unblock. */
	g_ptr_array_unref(block(b, "a"));
	targets = unblock(a, "b", &fir);
	sfu_handle_unref(fir);
	g_ptr_array_unref(targets);
	g_assert_true(sfu_registry_is_blocked("r", "a", "b"));
	/* A user's blocks go with its last handle (issue 11: bounded state); the other side's stay. */
	g_ptr_array_unref(block(a, "b"));
	sfu_departure d;
	sfu_handle_ref(b); /* keep b readable after its removal */
	removed(1, &d);
	sfu_departure_clear(&d);
	g_assert_true(sfu_registry_is_blocked("r", "a", "b")); /* b still has b_sub */
	removed(2, &d);
	sfu_departure_clear(&d);
	g_assert_true(sfu_registry_is_blocked("r", "a", "b")); /* a's own block on b */
	GPtrArray *none = NULL;
	sfu_handle *no_fir = NULL;
	g_assert_cmpint(sfu_registry_unblock(b, "a", &none, &no_fir), ==, SFU_ERR_UNBLOCK_NOT_JOINED);
	g_assert_cmpint(sfu_registry_block(b, "c", &none), ==, SFU_ERR_BLOCK_NOT_JOINED);
	g_assert_null(none);
	targets = unblock(a, "b", &fir);
	sfu_handle_unref(fir);
	g_ptr_array_unref(targets);
	g_assert_false(sfu_registry_is_blocked("r", "a", "b"));
	sfu_handle_unref(b);
	/* c leaves: its block on "ghost" goes with it. */
	g_assert_true(sfu_registry_is_blocked("r", "ghost", "c"));
	removed(3, &d);
	sfu_departure_clear(&d);
	g_assert_false(sfu_registry_is_blocked("r", "ghost", "c"));
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.blocks, ==, 0);
	teardown(v0);
}

/* Each user may block at most max_blocks_per_user distinct users; the refusal changes nothing. */
static void test_blocks_bounded(void) {
	setup();
	sfu_registry_shutdown();
	sfu_registry_init(3);
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0);
	join_ok(a, "r", "a", TRUE);
	const char *whom[] = {"u1", "u2", "u3"};
	for(size_t i = 0; i < G_N_ELEMENTS(whom); i++)
		g_ptr_array_unref(block(a, whom[i]));
	g_ptr_array_unref(block(a, "u2")); /* a repeat is no new entry */
	GPtrArray *t = NULL;
	g_assert_cmpint(sfu_registry_block(a, "u4", &t), ==, SFU_ERR_TOO_MANY_BLOCKS);
	g_assert_null(t);
	g_assert_false(sfu_registry_is_blocked("r", "a", "u4"));
	g_assert_cmpuint(sfu_registry_blocks_count(), ==, 3);
	sfu_handle *fir = NULL;
	g_ptr_array_unref(unblock(a, "u1", &fir));
	g_ptr_array_unref(block(a, "u4"));
	g_assert_true(sfu_registry_is_blocked("r", "u4", "a"));
	teardown(v0);
}

/* The media path reads a per-subscription flag, kept right by blocks, unblocks and new subscriptions. */
static void test_block_flags(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0), *b = add(1), *b_from_a = add(2), *c_from_a = add(3), *a_from_b = add(4);
	join_ok(a, "r", "a", TRUE);
	join_ok(b, "r", "b", TRUE);
	set_offer(a);
	set_offer(b);
	char *offer = NULL;
	g_assert_cmpint(
		join_step(b_from_a, "r", "b", FALSE, TRUE, FALSE, "a", NULL, NULL, NULL, &offer), ==, SFU_OK);
	g_free(offer);
	g_assert_cmpint(
		join_step(c_from_a, "r", "c", FALSE, TRUE, FALSE, "a", NULL, NULL, NULL, &offer), ==, SFU_OK);
	g_free(offer);
	g_assert_false(g_atomic_int_get(&b_from_a->blocked));
	g_ptr_array_unref(block(b, "a"));
	g_assert_true(g_atomic_int_get(&b_from_a->blocked));
	g_assert_false(g_atomic_int_get(&c_from_a->blocked));
	/* A subscription made while blocked starts blocked (either side's block counts). */
	g_assert_cmpint(
		join_step(a_from_b, "r", "a", FALSE, TRUE, FALSE, "b", NULL, NULL, NULL, &offer), ==, SFU_OK);
	g_free(offer);
	g_assert_true(g_atomic_int_get(&a_from_b->blocked));
	sfu_handle *fir = NULL;
	g_ptr_array_unref(unblock(b, "a", &fir));
	sfu_handle_unref(fir);
	g_assert_false(g_atomic_int_get(&b_from_a->blocked));
	g_assert_false(g_atomic_int_get(&a_from_b->blocked));
	teardown(v0);
}

static gboolean remember_bucket(sfu_data_bucket *bucket, gpointer data) {
	*(sfu_data_bucket **)data = bucket;
	return TRUE;
}

static gboolean refuse_bucket(sfu_data_bucket *bucket, gpointer data) {
	(void)bucket;
	(void)data;
	return FALSE;
}

static void test_data_targets(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *a = add(0), *b = add(1), *b2 = add(2), *c = add(3), *s = add(4), *a2 = add(5);
	join_ok(a, "r", "a", TRUE);
	join_ok(b, "r", "b", TRUE);
	g_assert_cmpint(join2(b2, "r", "b", TRUE, NULL, NULL, NULL), ==, SFU_OK); /* no data flag */
	join_ok(c, "r", "c", TRUE);
	join_ok(s, "r", "s", FALSE); /* subscribers never receive data events */
	join_ok(a2, "r", "a", TRUE);

	GPtrArray *t = sfu_registry_data_targets(a, NULL, NULL, NULL); /* everyone but the sender's user */
	g_assert_cmpuint(t->len, ==, 2);
	g_assert_true(array_has(t, b) && array_has(t, c));
	g_ptr_array_unref(t);
	t = sfu_registry_data_targets(a, "b", NULL, NULL);
	g_assert_cmpuint(t->len, ==, 1);
	g_assert_true(t->pdata[0] == b);
	g_ptr_array_unref(t);
	t = sfu_registry_data_targets(a, "a", NULL, NULL); /* whom = yourself includes your own handles */
	g_assert_cmpuint(t->len, ==, 2);
	g_assert_true(array_has(t, a) && array_has(t, a2));
	g_ptr_array_unref(t);
	t = sfu_registry_data_targets(a, "s", NULL, NULL);
	g_assert_cmpuint(t->len, ==, 0);
	g_ptr_array_unref(t);
	t = sfu_registry_data_targets(s, NULL, NULL, NULL); /* a subscriber may send */
	g_assert_cmpuint(t->len, ==, 4);
	g_ptr_array_unref(t);
	/* The rate is the user's in the room: all of a's handles charge one bucket, b's another; a refusal sends
	 * nothing. */
	sfu_data_bucket *seen[3] = {NULL, NULL, NULL};
	t = sfu_registry_data_targets(a, NULL, remember_bucket, &seen[0]);
	g_ptr_array_unref(t);
	t = sfu_registry_data_targets(a2, NULL, remember_bucket, &seen[1]);
	g_ptr_array_unref(t);
	t = sfu_registry_data_targets(b, NULL, remember_bucket, &seen[2]);
	g_ptr_array_unref(t);
	g_assert_nonnull(seen[0]);
	g_assert_true(seen[0] == seen[1]);
	g_assert_true(seen[0] != seen[2]);
	g_assert_null(sfu_registry_data_targets(a, NULL, refuse_bucket, NULL));
	/* Blocks do not apply to websocket data (upstream). */
	g_ptr_array_unref(block(c, "a"));
	t = sfu_registry_data_targets(a, "c", NULL, NULL);
	g_assert_cmpuint(t->len, ==, 1);
	g_ptr_array_unref(t);
	/* A departed handle is no longer a target. */
	sfu_departure d;
	removed(3, &d);
	sfu_departure_clear(&d);
	t = sfu_registry_data_targets(a, "c", NULL, NULL);
	g_assert_cmpuint(t->len, ==, 0);
	g_ptr_array_unref(t);
	teardown(v0);
}

static void test_user_handles(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *p = add(0), *s1 = add(1), *s2 = add(2), *other = add(3), *elsewhere = add(4);
	join_ok(p, "r", "u", TRUE);
	join_ok(s1, "r", "u", FALSE);
	join_ok(s2, "r", "u", FALSE);
	join_ok(other, "r", "v", TRUE);
	join_ok(elsewhere, "r2", "u", TRUE);
	GPtrArray *mine = user_handles("r", "u");
	g_assert_cmpuint(mine->len, ==, 3);
	g_assert_true(mine->pdata[0] == p); /* publishers first */
	g_assert_true(array_has(mine, s1) && array_has(mine, s2));
	g_assert_false(array_has(mine, elsewhere));
	g_ptr_array_unref(mine);
	mine = user_handles("r", "nobody");
	g_assert_cmpuint(mine->len, ==, 0);
	g_ptr_array_unref(mine);
	mine = user_handles("nowhere", "u");
	g_assert_cmpuint(mine->len, ==, 0);
	g_ptr_array_unref(mine);
	teardown(v0);
}

/* =============================================================================
 * Snapshots
 * ==========================================================================*/

static void test_snapshots_survive_removal(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	sfu_handle *p = add(0), *s = add(1), *q = add(2);
	join_ok(p, "r", "p", TRUE);
	set_offer(p);
	join_ok(q, "r", "q", TRUE);
	g_assert_cmpint(join2(s, "r", "s", FALSE, NULL, NULL, NULL), ==, SFU_OK);
	char *offer = NULL;
	g_assert_cmpint(subscribe(s, FALSE, FALSE, "p", &offer), ==, SFU_OK);
	g_free(offer);

	GPtrArray *subs = sfu_handle_subscribers(p);
	GPtrArray *pubs = sfu_room_publishers(s);
	sfu_handle *src = sfu_handle_publisher(s);
	g_assert_cmpuint(subs->len, ==, 1);
	g_assert_cmpuint(pubs->len, ==, 2);
	g_assert_true(src == p);

	/* Everyone goes; the room too. */
	for(int i = 0; i < 3; i++) {
		sfu_departure d;
		removed(i, &d);
		sfu_departure_clear(&d);
	}
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.handles, ==, 0);
	g_assert_cmpuint(counts.rooms, ==, 0);

	/* The snapshots (and the publisher reference) are still valid to read. */
	sfu_handle *snap_sub = subs->pdata[0];
	g_assert_cmpstr(snap_sub->user_id, ==, "s");
	g_assert_true(g_atomic_int_get(&snap_sub->destroyed));
	g_assert_cmpstr(((sfu_handle *)pubs->pdata[0])->user_id, ==, "p");
	g_assert_cmpstr(((sfu_handle *)pubs->pdata[1])->user_id, ==, "q");
	g_assert_cmpstr(src->user_id, ==, "p");
	g_assert_cmpstr(src->room_id, ==, "r");
	/* New snapshots of the removed handles are empty (the media path stops). */
	GPtrArray *after = sfu_handle_subscribers(src);
	g_assert_cmpuint(after->len, ==, 0);
	g_ptr_array_unref(after);
	after = sfu_room_publishers(src);
	g_assert_nonnull(after);
	g_assert_cmpuint(after->len, ==, 0);
	g_ptr_array_unref(after);
	g_ptr_array_unref(subs);
	g_ptr_array_unref(pubs);
	sfu_handle_unref(src);
	teardown(v0);
}

/* =============================================================================
 * Stress: joins, leaves, subscriptions, blocks and evictions on several threads,
 * while another thread walks the media-path snapshots.
 * ==========================================================================*/

#define STRESS_WORKERS 4
#define STRESS_SLOTS   48
#define STRESS_ROUNDS  3000

static volatile gint stress_running = 0;
static volatile gint stress_reads = 0; /* snapshot walks done */
static volatile gint stress_reader_up = 0;

static const char *stress_rooms[] = {"r0", "r1", "r2"};
static const char *stress_users[] = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7"};

static void push_all(GPtrArray *targets, const char *what) {
	if(targets == NULL)
		return;
	json_t *ev = json_pack("{ss}", "event", what);
	for(guint i = 0; i < targets->len; i++)
		sfu_core_push_event(((sfu_handle *)targets->pdata[i])->jh, NULL, ev, NULL);
	json_decref(ev);
}

static gpointer stress_worker(gpointer data) {
	int base = GPOINTER_TO_INT(data) * STRESS_SLOTS;
	while(!g_atomic_int_get(&stress_reader_up))
		g_thread_yield();
	GRand *rnd = g_rand_new_with_seed((guint32)base + 1);
	gboolean live[STRESS_SLOTS] = {FALSE};
	for(int round = 0; round < STRESS_ROUNDS; round++) {
		int slot = g_rand_int_range(rnd, 0, STRESS_SLOTS);
		janus_plugin_session *jh = &jhs[base + slot];
		sfu_departure d;
		if(live[slot]) {
			g_assert_true(registry_remove(jh, &d));
			push_all(d.notify, "leave");
			sfu_departure_clear(&d);
			live[slot] = FALSE;
			continue;
		}
		sfu_handle *h = sfu_registry_add(jh);
		g_assert_nonnull(h);
		live[slot] = TRUE;
		sfu_handle_ref(h);
		const char *room = stress_rooms[g_rand_int_range(rnd, 0, G_N_ELEMENTS(stress_rooms))];
		const char *user = stress_users[g_rand_int_range(rnd, 0, G_N_ELEMENTS(stress_users))];
		gboolean pub = g_rand_boolean(rnd);
		sfu_limits limits = {.max_room_size = 6};
		GPtrArray *notify = NULL;
		char *offer = NULL;
		const char *media = pub ? NULL : stress_users[g_rand_int_range(rnd, 0, G_N_ELEMENTS(stress_users))];
		sfu_err err = join_step(h, room, user, pub, TRUE, TRUE, media, &limits, NULL, &notify, &offer);
		g_free(offer);
		push_all(notify, "join");
		if(notify != NULL)
			g_ptr_array_unref(notify);
		if(err != SFU_OK && media != NULL)
			err = join_step(h, room, user, FALSE, TRUE, TRUE, NULL, &limits, NULL, NULL, NULL);
		if(err == SFU_OK) {
			if(pub) {
				GPtrArray *subs = sfu_registry_set_offer(h, g_strdup("v=0"), 111, 96);
				push_all(subs, "offer");
				sfu_snapshot_release(subs);
			}
			const char *whom = stress_users[g_rand_int_range(rnd, 0, G_N_ELEMENTS(stress_users))];
			GPtrArray *t = NULL;
			switch(g_rand_int_range(rnd, 0, 5)) {
				case 0:
					/* The handle may have been evicted by another thread meanwhile: not joined. */
					sfu_registry_block(h, whom, &t);
					break;
				case 1: {
					sfu_handle *fir = NULL;
					sfu_registry_unblock(h, whom, &t, &fir);
					sfu_handle_unref(fir);
					break;
				}
				case 2:
					t = sfu_registry_data_targets(h, g_rand_boolean(rnd) ? whom : NULL, NULL, NULL);
					break;
				case 3: {
					/* Evict someone (maybe another thread's handle); its owner still removes it later. */
					t = evict(room, whom, h, &d);
					push_all(d.notify, "leave");
					sfu_departure_clear(&d);
					break;
				}
				default:
					t = user_handles(room, user);
					break;
			}
			push_all(t, "misc");
			if(t != NULL)
				g_ptr_array_unref(t);
		}
		sfu_handle_unref(h);
	}
	for(int slot = 0; slot < STRESS_SLOTS; slot++) {
		if(!live[slot])
			continue;
		sfu_departure d;
		g_assert_true(registry_remove(&jhs[base + slot], &d));
		sfu_departure_clear(&d);
	}
	g_rand_free(rnd);
	return NULL;
}

/* What the media path does: no registry lock, only snapshots and the block table. */
static gpointer stress_reader(gpointer data) {
	(void)data;
	GRand *rnd = g_rand_new_with_seed(4242);
	while(g_atomic_int_get(&stress_running)) {
		g_atomic_int_set(&stress_reader_up, 1);
		sfu_handle *h = sfu_registry_lookup(&jhs[g_rand_int_range(rnd, 0, STRESS_WORKERS * STRESS_SLOTS)]);
		if(h == NULL)
			continue;
		GPtrArray *subs = sfu_handle_subscribers(h);
		for(guint i = 0; i < subs->len; i++) {
			sfu_handle *s = subs->pdata[i];
			(void)sfu_registry_is_blocked(h->room_id, h->user_id, s->user_id);
		}
		sfu_snapshot_release(subs);
		GPtrArray *pubs = sfu_room_publishers(h);
		for(guint i = 0; pubs != NULL && i < pubs->len; i++) {
			sfu_handle *p = pubs->pdata[i];
			if(p != h && !g_atomic_int_get(&p->destroyed))
				(void)sfu_registry_is_blocked(h->room_id, h->user_id, p->user_id);
		}
		sfu_snapshot_release(pubs);
		sfu_handle *src = sfu_handle_publisher(h);
		if(src != NULL) {
			(void)sfu_registry_is_blocked(h->room_id, src->user_id, h->user_id);
			sfu_handle_unref(src);
		}
		sfu_handle_unref(h);
		g_atomic_int_inc(&stress_reads);
	}
	g_rand_free(rnd);
	return NULL;
}

static void test_stress(void) {
	setup();
	guint v0 = sfu_core_lock_violations();
	g_atomic_int_set(&stress_running, 1);
	g_atomic_int_set(&stress_reads, 0);
	g_atomic_int_set(&stress_reader_up, 0);
	GThread *reader = g_thread_new("stress-reader", stress_reader, NULL);
	GThread *workers[STRESS_WORKERS];
	for(int i = 0; i < STRESS_WORKERS; i++)
		workers[i] = g_thread_new("stress-worker", stress_worker, GINT_TO_POINTER(i));
	for(int i = 0; i < STRESS_WORKERS; i++)
		g_thread_join(workers[i]);
	g_atomic_int_set(&stress_running, 0);
	g_thread_join(reader);
	g_test_message(
		"reader iterations: %d, pushes: %u", g_atomic_int_get(&stress_reads), fake_core_push_count());
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.handles, ==, 0);
	g_assert_cmpuint(counts.rooms, ==, 0);
	g_assert_cmpuint(counts.publisher_users, ==, 0);
	teardown(v0);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/registry/core-reference-released", test_core_reference_released);
	g_test_add_func("/registry/lock-probe", test_lock_probe);
	g_test_add_func("/registry/join/publisher-subscriber", test_join_publisher_subscriber);
	g_test_add_func("/registry/join/zombie-publisher", test_zombie_publisher);
	g_test_add_func("/registry/join/limits", test_limits);
	g_test_add_func("/registry/join/already-joined", test_already_joined);
	g_test_add_func("/registry/subscribe/errors", test_subscribe_errors);
	g_test_add_func("/registry/subscribe/room-scoped", test_room_scoped_lookup);
	g_test_add_func("/registry/departures", test_departures);
	g_test_add_func("/registry/blocks", test_blocks);
	g_test_add_func("/registry/blocks/bounded", test_blocks_bounded);
	g_test_add_func("/registry/blocks/flags", test_block_flags);
	g_test_add_func("/registry/data-targets", test_data_targets);
	g_test_add_func("/registry/user-handles", test_user_handles);
	g_test_add_func("/registry/snapshots-survive-removal", test_snapshots_survive_removal);
	g_test_add_func("/registry/stress", test_stress);
	return g_test_run();
}
