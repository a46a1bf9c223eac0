/*! \file    sfu_core.c
 * \brief    janus-sfu: thin wrappers over janus_callbacks (see sfu_core.h)
 */
#include "sfu_core.h"

static janus_callbacks *gateway = NULL;
static janus_plugin *self = NULL;
static gboolean (*lock_probe)(void) = NULL;
static volatile guint lock_violations = 0;

void sfu_core_init(janus_callbacks *callbacks, janus_plugin *plugin) {
	gateway = callbacks;
	self = plugin;
}

void sfu_core_shutdown(void) {
	gateway = NULL;
}

void sfu_core_set_lock_probe(gboolean (*probe)(void)) {
	lock_probe = probe;
}

guint sfu_core_lock_violations(void) {
	return g_atomic_int_get(&lock_violations);
}

static gboolean ready(void) {
	if(lock_probe != NULL && lock_probe())
		g_atomic_int_inc(&lock_violations);
	return gateway != NULL;
}

int sfu_core_push_event(janus_plugin_session *handle, const char *transaction, json_t *msg, json_t *jsep) {
	if(!ready() || handle == NULL)
		return -1;
	return gateway->push_event(handle, self, transaction, msg, jsep);
}

void sfu_core_relay_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet) {
	if(gateway != NULL)
		gateway->relay_rtp(handle, packet);
}

void sfu_core_relay_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet) {
	if(gateway != NULL)
		gateway->relay_rtcp(handle, packet);
}

void sfu_core_relay_data(janus_plugin_session *handle, janus_plugin_data *packet) {
	if(gateway != NULL)
		gateway->relay_data(handle, packet);
}

void sfu_core_send_pli(janus_plugin_session *handle) {
	if(gateway != NULL)
		gateway->send_pli(handle);
}

void sfu_core_close_pc(janus_plugin_session *handle) {
	if(ready())
		gateway->close_pc(handle);
}

void sfu_core_end_session(janus_plugin_session *handle) {
	if(ready())
		gateway->end_session(handle);
}

gboolean sfu_core_events_enabled(void) {
	return gateway != NULL && gateway->events_is_enabled();
}

void sfu_core_notify_event(janus_plugin_session *handle, json_t *event) {
	if(!ready() || !gateway->events_is_enabled()) {
		json_decref(event);
		return;
	}
	gateway->notify_event(self, handle, event);
}
