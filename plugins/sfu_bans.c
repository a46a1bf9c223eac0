/*! \file    sfu_bans.c
 * \brief    janus-sfu: kick bans and jti ownership (see sfu_bans.h)
 */
#include <string.h>

#include "sfu_bans.h"

typedef struct ban {
	char *room_id, *user_id, *sub, *jti, *by;
	gint64 until;
} ban;

typedef struct jti_claim {
	char *user_id;
	gint64 exp;
} jti_claim;

static GMutex lock;
static GList *bans = NULL;      /* ban* */
static GHashTable *jtis = NULL; /* jti -> jti_claim* */

static void ban_free(gpointer data) {
	ban *b = data;
	g_free(b->room_id);
	g_free(b->user_id);
	g_free(b->sub);
	g_free(b->jti);
	g_free(b->by);
	g_free(b);
}

static void claim_free(gpointer data) {
	jti_claim *c = data;
	g_free(c->user_id);
	g_free(c);
}

void sfu_bans_init(void) {
	g_mutex_lock(&lock);
	if(jtis == NULL)
		jtis = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, claim_free);
	g_mutex_unlock(&lock);
}

void sfu_bans_shutdown(void) {
	g_mutex_lock(&lock);
	g_list_free_full(bans, ban_free);
	bans = NULL;
	g_clear_pointer(&jtis, g_hash_table_destroy);
	g_mutex_unlock(&lock);
}

/* Drop expired bans (lock held). */
static void prune(gint64 now_s) {
	GList *l = bans;
	while(l != NULL) {
		GList *next = l->next;
		ban *b = l->data;
		if(b->until <= now_s) {
			ban_free(b);
			bans = g_list_delete_link(bans, l);
		}
		l = next;
	}
}

static gboolean same(const char *a, const char *b) {
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

void sfu_bans_add(const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 until_s,
	const char *by) {
	ban *b = g_malloc0(sizeof(ban));
	b->room_id = g_strdup(room_id);
	b->user_id = g_strdup(user_id);
	b->sub = g_strdup(sub);
	b->jti = g_strdup(jti);
	b->by = g_strdup(by);
	b->until = until_s;
	g_mutex_lock(&lock);
	bans = g_list_prepend(bans, b);
	g_mutex_unlock(&lock);
}

gboolean sfu_bans_check(
	const char *room_id, const char *user_id, const char *sub, const char *jti, gint64 now_s) {
	gboolean banned = FALSE;
	g_mutex_lock(&lock);
	prune(now_s);
	for(GList *l = bans; l != NULL && !banned; l = l->next) {
		ban *b = l->data;
		if(!same(b->room_id, room_id))
			continue;
		banned = same(b->user_id, user_id) || same(b->sub, sub) || same(b->jti, jti);
	}
	g_mutex_unlock(&lock);
	return banned;
}

guint sfu_bans_remove(const char *room_id, const char *user_id) {
	guint n = 0;
	g_mutex_lock(&lock);
	GList *l = bans;
	while(l != NULL) {
		GList *next = l->next;
		ban *b = l->data;
		if(same(b->room_id, room_id) && same(b->user_id, user_id)) {
			ban_free(b);
			bans = g_list_delete_link(bans, l);
			n++;
		}
		l = next;
	}
	g_mutex_unlock(&lock);
	return n;
}

json_t *sfu_bans_list(const char *room_id, gint64 now_s) {
	json_t *list = json_array();
	g_mutex_lock(&lock);
	prune(now_s);
	for(GList *l = bans; l != NULL; l = l->next) {
		ban *b = l->data;
		if(room_id != NULL && !same(b->room_id, room_id))
			continue;
		json_t *item = json_pack(
			"{sssssI}", "room_id", b->room_id, "user_id", b->user_id, "until", (json_int_t)b->until);
		if(b->sub != NULL)
			json_object_set_new(item, "sub", json_string(b->sub));
		if(b->jti != NULL)
			json_object_set_new(item, "jti", json_string(b->jti));
		if(b->by != NULL)
			json_object_set_new(item, "by", json_string(b->by));
		json_array_append_new(list, item);
	}
	g_mutex_unlock(&lock);
	return list;
}

gboolean sfu_bans_claim_jti(const char *jti, const char *user_id, gint64 exp_s, gint64 now_s) {
	if(jti == NULL || user_id == NULL)
		return TRUE;
	gboolean ok = TRUE;
	g_mutex_lock(&lock);
	if(jtis == NULL) {
		g_mutex_unlock(&lock);
		return TRUE;
	}
	jti_claim *c = g_hash_table_lookup(jtis, jti);
	if(c != NULL && c->exp > now_s && strcmp(c->user_id, user_id) != 0) {
		ok = FALSE;
	} else {
		c = g_malloc0(sizeof(jti_claim));
		c->user_id = g_strdup(user_id);
		c->exp = exp_s;
		g_hash_table_insert(jtis, g_strdup(jti), c);
	}
	g_mutex_unlock(&lock);
	return ok;
}
