/*! \file    test-access-stress.c
 * \brief    Multi-threaded stress test of sfu_registry + sfu_access, with invariants checked after every run
 * \details  Several threads join (publishers and subscribers, bound and unbound tokens), subscribe,
 * refresh, kick (with bans), eject and detach handles on a few shared rooms and users, while the
 * expiry scheduler ejects users whose grants expire at once. The fake core ends a session the way Janus
 * does (destroy_session -> sfu_access_detach). When every thread and the scheduler are done (quiescence),
 * the test checks:
 *  - every publisher in a room knows every other: per handle, the users list of its join response plus the
 *    join events minus the leave events it was sent (in the order the fake core recorded them) is the set
 *    of the room's publisher users, its own user aside;
 *  - no banned user is in a room; no handle is in two rooms; a destroyed handle is in none;
 *  - the counts (sfu_registry_counts_get) match the admin view (list_rooms, list_participants) and the
 *    handles the test still holds;
 *  - no core call was made with the registry lock held.
 * SFU_STRESS_RUNS sets the number of runs (default 100); SFU_STRESS_OPS the operations per thread and run.
 */
#include <pthread.h>
#include <stdlib.h>
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

#define THREADS 4
#define SLOTS   96 /* handles per thread and run */
#define FINALE  8  /* of which the last ones join at the end of the run, all threads at once */

static const char *rooms[] = {"r0", "r1"};
static const char *pub_users[] = {"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11"};
static const char *sub_users[] = {"s0", "s1", "s2"};

/* One handle of one run, owned by the thread that created it (read by the checker at quiescence). */
typedef struct slot {
	sfu_handle *h;      /* the test's reference, NULL when unused */
	gboolean publisher; /* joined as a publisher (notifications on) */
	char *room, *user;  /* its join */
	json_t *users;      /* the users list of its join response */
	sfu_grant grant;    /* the grant it joined with (refreshes keep its identity) */
	volatile gint
		removed; /* sfu_access_detach answered TRUE for it (by its thread or the end_session hook) */
} slot;

static janus_plugin_session jhs[THREADS * SLOTS];
static pthread_barrier_t barrier; /* the threads start together, and start the finale together */
static slot slots[THREADS * SLOTS];
static sfu_config *cfg = NULL;
static int ops_per_thread = 400;
static guint checked_publishers = 0; /* live publisher handles whose knowledge was checked */

static void jh_free(const janus_refcount *ref) {
	(void)ref;
}

static gint64 now_s(void) {
	return g_get_real_time() / G_USEC_PER_SEC;
}

static slot *slot_of(janus_plugin_session *jh) {
	return &slots[jh - jhs];
}

/* destroy_session, as Janus calls it after end_session. */
static void detach(janus_plugin_session *jh) {
	if(sfu_access_detach(jh))
		g_atomic_int_set(&slot_of(jh)->removed, 1);
}

/* Scheduling noise in the second phases (after the registry lock is released, where two-phase code can
 * interleave with other steps): now and then a core call yields the CPU. With two cores and threads that
 * would otherwise run their whole share in one time slice, this is what makes interleavings likely. */
static __thread guint32 noise_state = 0;

static void noise(void) {
	if(noise_state == 0)
		noise_state = (guint32)g_get_monotonic_time() | 1u;
	noise_state ^= noise_state << 13;
	noise_state ^= noise_state >> 17;
	noise_state ^= noise_state << 5;
	if(noise_state % 4 == 0)
		g_thread_yield();
}

static void on_push(janus_plugin_session *jh, const char *message) {
	(void)jh;
	(void)message;
	noise();
}

static void on_end_session(janus_plugin_session *jh) {
	g_assert_false(sfu_registry_lock_held());
	noise();
	detach(jh);
}

/* =============================================================================
 * The workers
 * ==========================================================================*/

static const char *pick(GRand *rnd, const char **list, int n) {
	return list[g_rand_int_range(rnd, 0, n)];
}
#define PICK(rnd, list) pick(rnd, list, G_N_ELEMENTS(list))

/* An expiry: mostly far away, sometimes already past (the scheduler ejects at once). */
static gint64 some_exp(GRand *rnd) {
	return g_rand_int_range(rnd, 0, 8) == 0 ? now_s() - 1 : now_s() + 3600;
}

static void grant_for(sfu_grant *g, GRand *rnd, const char *user, gboolean bound, int serial) {
	memset(g, 0, sizeof(*g));
	g->exp = some_exp(rnd);
	g->join_hub = g->publish_media = g->send_data = TRUE;
	g->any_room = TRUE;
	g->user_id = bound ? g_strdup(user) : NULL;
	g->sub = g_strdup_printf("sub-%s", user);
	g->jti = g_strdup_printf("jti-%d", serial);
}

static void op_join(slot *s, GRand *rnd, int serial, gboolean publisher) {
	const char *room = PICK(rnd, rooms);
	const char *user = publisher ? PICK(rnd, pub_users) : PICK(rnd, sub_users);
	grant_for(&s->grant, rnd, user, g_rand_int_range(rnd, 0, 4) != 0, serial);
	const char *media = publisher ? NULL : PICK(rnd, pub_users);
	char *offer = NULL;
	const char *reason = NULL;
	sfu_err err;
	if(!publisher && g_rand_boolean(rnd)) {
		/* A handle that never joined subscribes: it enters the publisher's room as a subscriber. */
		err = sfu_access_subscribe(s->h, FALSE, FALSE, media, &s->grant, &offer, &reason);
		g_free(offer);
		if(err == SFU_OK) {
			s->room = g_strdup(s->h->room_id);
			s->user = g_strdup(s->h->user_id);
		}
		return;
	}
	sfu_join_request r = {.room_id = room,
		.user_id = user,
		.role = publisher ? SFU_ROLE_PUBLISHER : SFU_ROLE_SUBSCRIBER,
		.subscribe = TRUE,
		.notifications = publisher,
		.data = publisher,
		.media = media};
	json_t *users = NULL;
	err = sfu_access_join(s->h, &r, &s->grant, &users, &offer, &reason, NULL);
	g_free(offer);
	if(err != SFU_OK)
		return;
	s->publisher = publisher;
	s->room = g_strdup(room);
	s->user = g_strdup(user);
	s->users = users;
	if(publisher)
		g_ptr_array_unref(sfu_registry_set_offer(s->h, g_strdup("v=0"), 111, 96));
}

static void op_refresh(slot *s, GRand *rnd) {
	if(s->room == NULL)
		return;
	s->grant.exp = some_exp(rnd);
	const char *reason = NULL;
	(void)sfu_access_refresh(s->h, &s->grant, &reason);
}

static gpointer worker(gpointer data) {
	int t = GPOINTER_TO_INT(data);
	slot *mine = &slots[t * SLOTS];
	GRand *rnd = g_rand_new_with_seed((guint32)(g_get_monotonic_time() + t));
	int used = 0;
	pthread_barrier_wait(&barrier);
	for(int op = 0; op < ops_per_thread; op++) {
		int dice = g_rand_int_range(rnd, 0, 100);
		slot *s = used > 0 ? &mine[g_rand_int_range(rnd, 0, used)] : NULL;
		if(dice < 40) {
			if(used == SLOTS - FINALE)
				continue;
			s = &mine[used++];
			s->h = sfu_registry_add(&jhs[s - slots]);
			g_assert_nonnull(s->h);
			sfu_handle_ref(s->h);
			op_join(s, rnd, t * 100000 + op, g_rand_int_range(rnd, 0, 3) != 0);
		} else if(dice < 60) {
			if(s != NULL)
				op_refresh(s, rnd);
		} else if(dice < 63) {
			/* A kick: evict and ban. */
			gboolean pub = g_rand_boolean(rnd);
			(void)sfu_access_eject(PICK(rnd, rooms), pub ? PICK(rnd, pub_users) : PICK(rnd, sub_users),
				"kicked", "kicker", NULL, TRUE);
		} else if(dice < 68) {
			/* An admin ejection without ban. */
			(void)sfu_access_eject(PICK(rnd, rooms), PICK(rnd, pub_users), "admin", "admin", NULL, FALSE);
		} else if(dice < 85) {
			if(s != NULL)
				detach(s->h->jh);
		} else {
			g_thread_yield();
		}
	}
	/* The finale: a burst of publisher joins on every thread, so that many publishers are live at the end. */
	pthread_barrier_wait(&barrier);
	for(int i = 0; i < FINALE; i++) {
		slot *s = &mine[used++];
		s->h = sfu_registry_add(&jhs[s - slots]);
		g_assert_nonnull(s->h);
		sfu_handle_ref(s->h);
		op_join(s, rnd, t * 100000 + ops_per_thread + i, TRUE);
	}
	g_rand_free(rnd);
	return NULL;
}

/* =============================================================================
 * Invariants at quiescence
 * ==========================================================================*/

/* Wait until no deadline is due (the scheduler fired every one that was), then stop the scheduler, so
 * that an ejection it started has finished too. */
static void settle_deadlines(void) {
	gint64 end = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	for(;;) {
		gboolean due = FALSE;
		gint64 soon = g_get_real_time() + 60 * G_USEC_PER_SEC;
		for(guint r = 0; r < G_N_ELEMENTS(rooms); r++) {
			for(int u = 0; u < (int)(G_N_ELEMENTS(pub_users) + G_N_ELEMENTS(sub_users)); u++) {
				const char *user =
					u < (int)G_N_ELEMENTS(pub_users) ? pub_users[u] : sub_users[u - G_N_ELEMENTS(pub_users)];
				for(int k = 0; k < SFU_EXPIRY__KINDS; k++) {
					gint64 d = sfu_expiry_get(rooms[r], user, k);
					due |= d > 0 && d < soon;
				}
			}
		}
		if(!due)
			break;
		g_assert_cmpint(g_get_monotonic_time(), <, end);
		g_usleep(2000);
	}
	sfu_expiry_stop();
}

typedef struct room_view {
	GHashTable *pub_users; /* users with a publisher handle */
	GHashTable *users;     /* every member */
} room_view;

static GHashTable *set_new(void) {
	return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static char *set_text(GHashTable *set) {
	GList *keys = g_list_sort(g_hash_table_get_keys(set), (GCompareFunc)strcmp);
	GString *out = g_string_new("{");
	for(GList *l = keys; l != NULL; l = l->next)
		g_string_append_printf(out, "%s%s", l == keys ? "" : ",", (char *)l->data);
	g_list_free(keys);
	g_string_append(out, "}");
	return g_string_free(out, FALSE);
}

static gboolean set_equal(GHashTable *a, GHashTable *b) {
	if(g_hash_table_size(a) != g_hash_table_size(b))
		return FALSE;
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, a);
	while(g_hash_table_iter_next(&it, &k, NULL)) {
		if(!g_hash_table_contains(b, k))
			return FALSE;
	}
	return TRUE;
}

/* What publisher slot \p s was told about its room: its join's users, then its join and leave events. */
static GHashTable *known_by(slot *s, GPtrArray *pushes_by_handle) {
	GHashTable *known = set_new();
	size_t i;
	json_t *v;
	json_array_foreach(s->users, i, v) g_hash_table_add(known, g_strdup(json_string_value(v)));
	GPtrArray *mine = pushes_by_handle->pdata[s - slots];
	for(guint j = 0; mine != NULL && j < mine->len; j++) {
		json_t *ev = json_loads(mine->pdata[j], 0, NULL);
		const char *kind = json_string_value(json_object_get(ev, "event"));
		const char *user = json_string_value(json_object_get(ev, "user_id"));
		if(kind != NULL && user != NULL && !strcmp(kind, "join"))
			g_hash_table_add(known, g_strdup(user));
		else if(kind != NULL && user != NULL && !strcmp(kind, "leave"))
			g_hash_table_remove(known, user);
		json_decref(ev);
	}
	g_hash_table_remove(known, s->user);
	return known;
}

static void array_unref(gpointer a) {
	if(a != NULL)
		g_ptr_array_unref(a);
}

/* Every push, grouped by handle, in recorded order (message dumps). */
static GPtrArray *pushes_by_handle(void) {
	GPtrArray *by = g_ptr_array_new_with_free_func(array_unref);
	g_ptr_array_set_size(by, THREADS * SLOTS);
	fake_push p;
	for(guint i = 0; fake_core_push_get(i, &p); i++) {
		if(p.handle >= jhs && p.handle < jhs + THREADS * SLOTS && p.message != NULL) {
			gsize idx = p.handle - jhs;
			if(by->pdata[idx] == NULL)
				by->pdata[idx] = g_ptr_array_new_with_free_func(g_free);
			g_ptr_array_add(by->pdata[idx], g_strdup(p.message));
		}
		fake_push_clear(&p);
	}
	return by;
}

/* @returns the number of violated invariants (each one is printed) */
static int check_invariants(int run) {
	int bad = 0;
	gint64 now = now_s();
	json_t *room_list = sfu_registry_list_rooms();
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	GHashTable *all_users = set_new(), *all_pub_users = set_new();
	GHashTable *handle_room = g_hash_table_new(NULL, NULL); /* handle id -> room index + 1 */
	GHashTable *views = g_hash_table_new(g_str_hash, g_str_equal);
	room_view rv[G_N_ELEMENTS(rooms)];
	size_t ri;
	json_t *room;
	if(json_array_size(room_list) != counts.rooms) {
		g_test_message("run %d: %zu rooms listed, %u counted", run, json_array_size(room_list), counts.rooms);
		bad++;
	}
	json_array_foreach(room_list, ri, room) {
		const char *room_id = json_string_value(json_object_get(room, "room_id"));
		guint k = 0;
		while(k < G_N_ELEMENTS(rooms) && strcmp(rooms[k], room_id) != 0)
			k++;
		g_assert_cmpuint(k, <, G_N_ELEMENTS(rooms));
		rv[k].pub_users = set_new();
		rv[k].users = set_new();
		g_hash_table_insert(views, (gpointer)rooms[k], &rv[k]);
		json_t *people = sfu_registry_list_participants(room_id);
		size_t pi;
		json_t *who;
		json_array_foreach(people, pi, who) {
			const char *user = json_string_value(json_object_get(who, "user_id"));
			g_hash_table_add(rv[k].users, g_strdup(user));
			g_hash_table_add(all_users, g_strdup(user));
			if(sfu_bans_check(room_id, user, NULL, NULL, now)) {
				g_test_message("run %d: banned user %s is in room %s", run, user, room_id);
				bad++;
			}
			size_t hi;
			json_t *hj;
			json_array_foreach(json_object_get(who, "handles"), hi, hj) {
				gpointer id = GSIZE_TO_POINTER((gsize)json_integer_value(json_object_get(hj, "id")));
				if(g_hash_table_contains(handle_room, id)) {
					g_test_message("run %d: handle %zu is listed twice (rooms)", run, GPOINTER_TO_SIZE(id));
					bad++;
				}
				g_hash_table_insert(handle_room, id, GUINT_TO_POINTER(k + 1));
				if(!strcmp(json_string_value(json_object_get(hj, "role")), "publisher")) {
					g_hash_table_add(rv[k].pub_users, g_strdup(user));
					g_hash_table_add(all_pub_users, g_strdup(user));
				}
			}
		}
		if((guint)json_integer_value(json_object_get(room, "users")) != g_hash_table_size(rv[k].users) ||
			(guint)json_integer_value(json_object_get(room, "publisher_users")) !=
				g_hash_table_size(rv[k].pub_users)) {
			g_test_message("run %d: room %s counts differ from its participants", run, room_id);
			bad++;
		}
		json_decref(people);
	}
	if(counts.users != g_hash_table_size(all_users) ||
		counts.publisher_users != g_hash_table_size(all_pub_users)) {
		g_test_message("run %d: counts (users %u, publisher users %u) differ from the admin view (%u, %u)",
			run, counts.users, counts.publisher_users, g_hash_table_size(all_users),
			g_hash_table_size(all_pub_users));
		bad++;
	}
	/* The handles: live ones are in their join's room (and only there), destroyed ones nowhere. */
	guint held = 0;
	GPtrArray *by_handle = pushes_by_handle();
	for(int i = 0; i < THREADS * SLOTS; i++) {
		slot *s = &slots[i];
		if(s->h == NULL)
			continue;
		if(!g_atomic_int_get(&s->removed))
			held++;
		gpointer where = g_hash_table_lookup(handle_room, GSIZE_TO_POINTER((gsize)s->h->id));
		gboolean live = !g_atomic_int_get(&s->h->destroyed) && s->room != NULL;
		if(live != (where != NULL) ||
			(where != NULL && strcmp(rooms[GPOINTER_TO_UINT(where) - 1], s->room) != 0)) {
			g_test_message("run %d: handle %" G_GUINT64_FORMAT " (%s in %s, destroyed %d) is listed in %s",
				run, s->h->id, s->user, s->room, g_atomic_int_get(&s->h->destroyed),
				where ? rooms[GPOINTER_TO_UINT(where) - 1] : "no room");
			bad++;
		}
		if(!live || !s->publisher)
			continue;
		/* Known from here: a live publisher handle. It must know exactly the room's other publishers. */
		room_view *view = g_hash_table_lookup(views, s->room);
		GHashTable *expected = set_new();
		GHashTableIter it;
		gpointer u;
		g_hash_table_iter_init(&it, view->pub_users);
		while(g_hash_table_iter_next(&it, &u, NULL)) {
			if(strcmp(u, s->user) != 0)
				g_hash_table_add(expected, g_strdup(u));
		}
		GHashTable *known = known_by(s, by_handle);
		checked_publishers++;
		if(!set_equal(known, expected)) {
			char *k = set_text(known), *e = set_text(expected);
			g_test_message("run %d: publisher %s (handle %" G_GUINT64_FORMAT
						   ") in %s knows %s, the room has %s",
				run, s->user, s->h->id, s->room, k, e);
			g_free(k);
			g_free(e);
			char *ul = json_dumps(s->users, JSON_COMPACT);
			g_test_message("  its join's users: %s", ul);
			free(ul);
			GPtrArray *ev = by_handle->pdata[s - slots];
			for(guint j = 0; ev != NULL && j < ev->len; j++)
				g_test_message("  event %u: %s", j, (char *)ev->pdata[j]);
			bad++;
		}
		g_hash_table_destroy(known);
		g_hash_table_destroy(expected);
	}
	if(counts.handles != held) {
		g_test_message("run %d: %u handles in the registry, the test holds %u", run, counts.handles, held);
		bad++;
	}
	if(sfu_core_lock_violations() != 0) {
		g_test_message("run %d: %u core calls under the registry lock", run, sfu_core_lock_violations());
		bad++;
	}
	g_ptr_array_unref(by_handle);
	for(guint k = 0; k < G_N_ELEMENTS(rooms); k++) {
		room_view *view = g_hash_table_lookup(views, rooms[k]);
		if(view != NULL) {
			g_hash_table_destroy(view->pub_users);
			g_hash_table_destroy(view->users);
		}
	}
	g_hash_table_destroy(views);
	g_hash_table_destroy(handle_room);
	g_hash_table_destroy(all_users);
	g_hash_table_destroy(all_pub_users);
	json_decref(room_list);
	return bad;
}

/* =============================================================================
 * The test
 * ==========================================================================*/

static void run_once(int run, int *violations, guint *ejections) {
	for(int i = 0; i < THREADS * SLOTS; i++)
		janus_refcount_init(&jhs[i].ref, jh_free);
	memset(slots, 0, sizeof(slots));
	fake_core_reset();
	fake_core_set_end_session_hook(on_end_session);
	fake_core_set_push_hook(on_push);
	g_assert_cmpint(sfu_access_start(cfg), ==, 0);
	g_assert_cmpint(pthread_barrier_init(&barrier, NULL, THREADS), ==, 0);
	GThread *threads[THREADS];
	for(int t = 0; t < THREADS; t++)
		threads[t] = g_thread_new("stress", worker, GINT_TO_POINTER(t));
	for(int t = 0; t < THREADS; t++)
		g_thread_join(threads[t]);
	pthread_barrier_destroy(&barrier);
	settle_deadlines();
	*violations += check_invariants(run);
	*ejections += fake_core_count(FAKE_END_SESSION, NULL);
	/* Everyone leaves; the registry is empty again. */
	for(int i = 0; i < THREADS * SLOTS; i++) {
		slot *s = &slots[i];
		if(s->h == NULL)
			continue;
		detach(s->h->jh);
		sfu_handle_unref(s->h);
		g_free(s->room);
		g_free(s->user);
		json_decref(s->users);
		sfu_grant_clear(&s->grant);
	}
	sfu_access_stop();
	sfu_registry_counts counts;
	sfu_registry_counts_get(&counts);
	g_assert_cmpuint(counts.handles, ==, 0);
	g_assert_cmpuint(counts.rooms, ==, 0);
	g_assert_cmpuint(counts.users, ==, 0);
}

static void test_stress(void) {
	const char *env_runs = g_getenv("SFU_STRESS_RUNS"), *env_ops = g_getenv("SFU_STRESS_OPS");
	int runs = env_runs ? atoi(env_runs) : 100;
	if(env_ops != NULL)
		ops_per_thread = atoi(env_ops);
	fake_core_install();
	sfu_registry_init(1000);
	cfg = sfu_config_new_defaults();
	cfg->clock_leeway_s = 0; /* grants that expired in the past are ejected at once */
	cfg->expiry_warning_s = 1;
	cfg->kick_ban_s = 3600;
	int violations = 0;
	guint ejections = 0;
	for(int run = 0; run < runs; run++)
		run_once(run, &violations, &ejections);
	g_test_message("%d runs, %d threads x %d operations: %u sessions ended, %u publishers checked, "
				   "%d invariant violations",
		runs, THREADS, ops_per_thread, ejections, checked_publishers, violations);
	g_assert_cmpint(violations, ==, 0);
	g_assert_cmpuint(ejections, >, 0);
	g_assert_cmpuint(sfu_core_lock_violations(), ==, 0);
	sfu_registry_shutdown();
	fake_core_uninstall();
	sfu_config_free(cfg);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/access-stress/invariants", test_stress);
	return g_test_run();
}
