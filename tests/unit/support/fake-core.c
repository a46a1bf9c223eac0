/*! \file    fake-core.c
 * \brief    A recording janus_callbacks for unit tests (see fake-core.h)
 */
#include <string.h>

#include "sfu_core.h"
#include "sfu_lock.h"
#include "sfu_registry.h"

#include "fake-core.h"

typedef struct counters {
	guint n[FAKE_CALL__COUNT];
} counters;

/* pthread (sfu_lock.h), not GMutex: ThreadSanitizer must see every lock of the stress tests. */
static sfu_mutex rec_mutex = SFU_MUTEX_INIT;
static GPtrArray *pushes = NULL;      /* fake_push* */
static GPtrArray *notifies = NULL;    /* char* dumps */
static GHashTable *per_handle = NULL; /* janus_plugin_session* -> counters* */
static counters totals;
static gboolean events_enabled = TRUE;
static void (*end_session_hook)(janus_plugin_session *handle) = NULL;
static void (*push_hook)(janus_plugin_session *handle, const char *message) = NULL;
static void (*notify_hook)(janus_plugin_session *handle, const char *event) = NULL;
static __thread int lock_depth = 0; /* per thread: fake_core_lock_enter() depth */

/* =============================================================================
 * Recording
 * ==========================================================================*/

static char *dump(json_t *json) {
	if(json == NULL)
		return NULL;
	return json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void push_free(gpointer data) {
	fake_push *p = data;
	fake_push_clear(p);
	g_free(p);
}

static void ensure_tables(void) {
	if(pushes == NULL)
		pushes = g_ptr_array_new_with_free_func(push_free);
	if(notifies == NULL)
		notifies = g_ptr_array_new_with_free_func(g_free);
	if(per_handle == NULL)
		per_handle = g_hash_table_new_full(NULL, NULL, NULL, g_free);
}

/* rec_mutex held */
static void count_locked(fake_call what, janus_plugin_session *handle) {
	ensure_tables();
	totals.n[what]++;
	counters *c = g_hash_table_lookup(per_handle, handle);
	if(c == NULL) {
		c = g_malloc0(sizeof(counters));
		g_hash_table_insert(per_handle, handle, c);
	}
	c->n[what]++;
}

static void count(fake_call what, janus_plugin_session *handle) {
	sfu_mutex_lock(&rec_mutex);
	count_locked(what, handle);
	sfu_mutex_unlock(&rec_mutex);
}

/* =============================================================================
 * The callbacks
 * ==========================================================================*/

static int fake_push_event(janus_plugin_session *handle, janus_plugin *plugin, const char *transaction,
	json_t *message, json_t *jsep) {
	(void)plugin;
	/* Like the core: the caller keeps its references, we only read. */
	fake_push *p = g_malloc0(sizeof(fake_push));
	p->handle = handle;
	p->transaction = g_strdup(transaction);
	p->message = dump(message);
	p->jsep = dump(jsep);
	sfu_mutex_lock(&rec_mutex);
	count_locked(FAKE_PUSH_EVENT, handle);
	g_ptr_array_add(pushes, p);
	void (*hook)(janus_plugin_session *, const char *) = push_hook;
	char *text = hook != NULL ? g_strdup(p->message) : NULL;
	sfu_mutex_unlock(&rec_mutex);
	if(hook != NULL)
		hook(handle, text);
	g_free(text);
	return 0;
}

static void fake_relay_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet) {
	(void)packet;
	count(FAKE_RELAY_RTP, handle);
}

static void fake_relay_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet) {
	(void)packet;
	count(FAKE_RELAY_RTCP, handle);
}

static void fake_relay_data(janus_plugin_session *handle, janus_plugin_data *packet) {
	(void)packet;
	count(FAKE_RELAY_DATA, handle);
}

static void fake_send_pli(janus_plugin_session *handle) {
	count(FAKE_SEND_PLI, handle);
}

static void fake_send_pli_stream(janus_plugin_session *handle, int mindex) {
	(void)mindex;
	count(FAKE_SEND_PLI, handle);
}

static void fake_send_remb(janus_plugin_session *handle, guint32 bitrate) {
	(void)handle;
	(void)bitrate;
}

static void fake_close_pc(janus_plugin_session *handle) {
	count(FAKE_CLOSE_PC, handle);
}

static void fake_end_session(janus_plugin_session *handle) {
	count(FAKE_END_SESSION, handle);
	void (*hook)(janus_plugin_session *) = NULL;
	sfu_mutex_lock(&rec_mutex);
	hook = end_session_hook;
	sfu_mutex_unlock(&rec_mutex);
	if(hook != NULL)
		hook(handle);
}

static gboolean fake_events_is_enabled(void) {
	sfu_mutex_lock(&rec_mutex);
	gboolean enabled = events_enabled;
	sfu_mutex_unlock(&rec_mutex);
	return enabled;
}

static void fake_notify_event(janus_plugin *plugin, janus_plugin_session *handle, json_t *event) {
	(void)plugin;
	/* Like the core: the event's reference is ours. */
	char *text = dump(event);
	json_decref(event);
	sfu_mutex_lock(&rec_mutex);
	count_locked(FAKE_NOTIFY_EVENT, handle);
	g_ptr_array_add(notifies, text);
	void (*hook)(janus_plugin_session *, const char *) = notify_hook;
	char *copy = hook != NULL ? g_strdup(text) : NULL;
	sfu_mutex_unlock(&rec_mutex);
	if(hook != NULL)
		hook(handle, copy);
	g_free(copy);
}

static gboolean fake_auth_is_signed(void) {
	return FALSE;
}

static gboolean fake_auth_is_signature_valid(janus_plugin *plugin, const char *token) {
	(void)plugin;
	(void)token;
	return FALSE;
}

static gboolean fake_auth_signature_contains(
	janus_plugin *plugin, const char *token, const char *descriptor) {
	(void)plugin;
	(void)token;
	(void)descriptor;
	return FALSE;
}

janus_callbacks fake_callbacks = {
	.push_event = fake_push_event,
	.relay_rtp = fake_relay_rtp,
	.relay_rtcp = fake_relay_rtcp,
	.relay_data = fake_relay_data,
	.send_pli = fake_send_pli,
	.send_pli_stream = fake_send_pli_stream,
	.send_remb = fake_send_remb,
	.close_pc = fake_close_pc,
	.end_session = fake_end_session,
	.events_is_enabled = fake_events_is_enabled,
	.notify_event = fake_notify_event,
	.auth_is_signed = fake_auth_is_signed,
	.auth_is_signature_valid = fake_auth_is_signature_valid,
	.auth_signature_contains = fake_auth_signature_contains,
};

janus_plugin fake_plugin;

/* =============================================================================
 * Lock probe
 * ==========================================================================*/

/* The plugin's probe (janus_sfu.c installs sfu_registry_lock_held) plus the sections tests mark. */
static gboolean probe(void) {
	return lock_depth > 0 || sfu_registry_lock_held();
}

void fake_core_lock_enter(void) {
	lock_depth++;
}

void fake_core_lock_leave(void) {
	g_assert_cmpint(lock_depth, >, 0);
	lock_depth--;
}

/* =============================================================================
 * Control and queries
 * ==========================================================================*/

void fake_core_reset(void) {
	sfu_mutex_lock(&rec_mutex);
	g_clear_pointer(&pushes, g_ptr_array_unref);
	g_clear_pointer(&notifies, g_ptr_array_unref);
	g_clear_pointer(&per_handle, g_hash_table_destroy);
	memset(&totals, 0, sizeof(totals));
	events_enabled = TRUE;
	end_session_hook = NULL;
	push_hook = NULL;
	notify_hook = NULL;
	ensure_tables();
	sfu_mutex_unlock(&rec_mutex);
}

void fake_core_install(void) {
	fake_core_reset();
	sfu_core_init(&fake_callbacks, &fake_plugin);
	sfu_core_set_lock_probe(probe);
}

void fake_core_uninstall(void) {
	sfu_core_set_lock_probe(NULL);
	sfu_core_shutdown();
	sfu_mutex_lock(&rec_mutex);
	g_clear_pointer(&pushes, g_ptr_array_unref);
	g_clear_pointer(&notifies, g_ptr_array_unref);
	g_clear_pointer(&per_handle, g_hash_table_destroy);
	memset(&totals, 0, sizeof(totals));
	end_session_hook = NULL;
	push_hook = NULL;
	notify_hook = NULL;
	sfu_mutex_unlock(&rec_mutex);
}

void fake_core_set_events_enabled(gboolean enabled) {
	sfu_mutex_lock(&rec_mutex);
	events_enabled = enabled;
	sfu_mutex_unlock(&rec_mutex);
}

void fake_core_set_end_session_hook(void (*hook)(janus_plugin_session *handle)) {
	sfu_mutex_lock(&rec_mutex);
	end_session_hook = hook;
	sfu_mutex_unlock(&rec_mutex);
}

void fake_core_set_notify_hook(void (*hook)(janus_plugin_session *handle, const char *event)) {
	sfu_mutex_lock(&rec_mutex);
	notify_hook = hook;
	sfu_mutex_unlock(&rec_mutex);
}

void fake_core_set_push_hook(void (*hook)(janus_plugin_session *handle, const char *message)) {
	sfu_mutex_lock(&rec_mutex);
	push_hook = hook;
	sfu_mutex_unlock(&rec_mutex);
}

guint fake_core_count(fake_call what, janus_plugin_session *handle) {
	if((unsigned)what >= FAKE_CALL__COUNT)
		return 0;
	sfu_mutex_lock(&rec_mutex);
	guint n = totals.n[what];
	if(handle != NULL) {
		counters *c = per_handle ? g_hash_table_lookup(per_handle, handle) : NULL;
		n = c ? c->n[what] : 0;
	}
	sfu_mutex_unlock(&rec_mutex);
	return n;
}

guint fake_core_push_count(void) {
	sfu_mutex_lock(&rec_mutex);
	guint n = pushes ? pushes->len : 0;
	sfu_mutex_unlock(&rec_mutex);
	return n;
}

gboolean fake_core_push_get(guint index, fake_push *out) {
	memset(out, 0, sizeof(*out));
	sfu_mutex_lock(&rec_mutex);
	gboolean found = pushes != NULL && index < pushes->len;
	if(found) {
		const fake_push *p = pushes->pdata[index];
		out->handle = p->handle;
		out->transaction = g_strdup(p->transaction);
		out->message = g_strdup(p->message);
		out->jsep = g_strdup(p->jsep);
	}
	sfu_mutex_unlock(&rec_mutex);
	return found;
}

guint fake_core_pushes_matching(janus_plugin_session *handle, const char *needle) {
	guint n = 0;
	sfu_mutex_lock(&rec_mutex);
	for(guint i = 0; pushes != NULL && i < pushes->len; i++) {
		const fake_push *p = pushes->pdata[i];
		if(handle != NULL && p->handle != handle)
			continue;
		if(needle != NULL && (p->message == NULL || strstr(p->message, needle) == NULL))
			continue;
		n++;
	}
	sfu_mutex_unlock(&rec_mutex);
	return n;
}

char *fake_core_last_push(janus_plugin_session *handle) {
	char *text = NULL;
	sfu_mutex_lock(&rec_mutex);
	for(guint i = pushes ? pushes->len : 0; i > 0; i--) {
		const fake_push *p = pushes->pdata[i - 1];
		if(p->handle == handle) {
			text = g_strdup(p->message);
			break;
		}
	}
	sfu_mutex_unlock(&rec_mutex);
	return text;
}

guint fake_core_notify_count(void) {
	sfu_mutex_lock(&rec_mutex);
	guint n = notifies ? notifies->len : 0;
	sfu_mutex_unlock(&rec_mutex);
	return n;
}

char *fake_core_last_notify(void) {
	sfu_mutex_lock(&rec_mutex);
	char *text =
		(notifies != NULL && notifies->len > 0) ? g_strdup(notifies->pdata[notifies->len - 1]) : NULL;
	sfu_mutex_unlock(&rec_mutex);
	return text;
}

void fake_push_clear(fake_push *p) {
	g_free(p->transaction);
	g_free(p->message);
	g_free(p->jsep);
	memset(p, 0, sizeof(*p));
}
