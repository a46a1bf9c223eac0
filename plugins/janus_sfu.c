/*! \file    janus_sfu.c
 * \brief    janus-sfu: the Janus plugin descriptor and its callbacks (glue only)
 * \details  A drop-in, Janus 1.x replacement of Mozilla's janus-plugin-sfu
 * (package \c janus.plugin.sfu), speaking its wire protocol so that unmodified
 * naf-janus-adapter clients work, with RS512 token checks on every join and
 * subscribe. Every callback here finds the plugin's handle and delegates:
 * signalling to sfu_signal, media to sfu_relay, state to sfu_registry.
 * See docs/DESIGN.md for the module map, threads and lock order.
 */
#include <plugins/plugin.h>
#include <debug.h>

#include "sfu_admin.h"
#include "sfu_token.h"
#include "sfu_access.h"
#include "sfu_config.h"
#include "sfu_core.h"
#include "sfu_events.h"
#include "sfu_registry.h"
#include "sfu_relay.h"
#include "sfu_signal.h"
#include "sfu_state.h"

#define SFU_VERSION        1
#define SFU_VERSION_STRING "0.1.0"
#define SFU_DESCRIPTION    "Janus SFU for game networking, with RS512 join tokens."
#define SFU_NAME           "Janus SFU plugin"
#define SFU_AUTHOR         "janus-sfu developers"
#define SFU_PACKAGE        "janus.plugin.sfu"
#define SFU_EXPORT         __attribute__((visibility("default")))

static int sfu_init(janus_callbacks *callback, const char *config_path);
static void sfu_destroy(void);
static int sfu_get_api_compatibility(void);
static int sfu_get_version(void);
static const char *sfu_get_version_string(void);
static const char *sfu_get_description(void);
static const char *sfu_get_name(void);
static const char *sfu_get_author(void);
static const char *sfu_get_package(void);
static void sfu_create_session(janus_plugin_session *handle, int *error);
static struct janus_plugin_result *sfu_handle_message(
	janus_plugin_session *handle, char *transaction, json_t *message, json_t *jsep);
static json_t *sfu_handle_admin_message(json_t *message);
static void sfu_setup_media(janus_plugin_session *handle);
static void sfu_incoming_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet);
static void sfu_incoming_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet);
static void sfu_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet);
static void sfu_hangup_media(janus_plugin_session *handle);
static void sfu_destroy_session(janus_plugin_session *handle, int *error);
static json_t *sfu_query_session(janus_plugin_session *handle);

static janus_plugin sfu_plugin = JANUS_PLUGIN_INIT(.init = sfu_init, .destroy = sfu_destroy,
	.get_api_compatibility = sfu_get_api_compatibility, .get_version = sfu_get_version,
	.get_version_string = sfu_get_version_string, .get_description = sfu_get_description,
	.get_name = sfu_get_name, .get_author = sfu_get_author, .get_package = sfu_get_package,
	.create_session = sfu_create_session, .handle_message = sfu_handle_message,
	.handle_admin_message = sfu_handle_admin_message, .setup_media = sfu_setup_media,
	.incoming_rtp = sfu_incoming_rtp, .incoming_rtcp = sfu_incoming_rtcp, .incoming_data = sfu_incoming_data,
	.hangup_media = sfu_hangup_media, .destroy_session = sfu_destroy_session,
	.query_session = sfu_query_session, );

/* The only exported symbol (everything else is hidden: Janus dlopens plugins RTLD_GLOBAL). */
SFU_EXPORT janus_plugin *create(void);
SFU_EXPORT janus_plugin *create(void) {
	return &sfu_plugin;
}

static volatile gint initialized = 0, stopping = 0;
static sfu_config *config = NULL;
static sfu_token_verifier *verifier = NULL;

static gboolean running(void) {
	return g_atomic_int_get(&initialized) && !g_atomic_int_get(&stopping);
}

static int sfu_init(janus_callbacks *callback, const char *config_path) {
	if(callback == NULL || config_path == NULL)
		return -1;
	GError *error = NULL;
	config = sfu_config_load(config_path, &error);
	if(config == NULL) {
		JANUS_LOG(LOG_FATAL, "[sfu] not starting: %s\n", error ? error->message : "invalid configuration");
		g_clear_error(&error);
		return -1;
	}
	verifier = sfu_token_new(config, &error);
	if(verifier == NULL) {
		JANUS_LOG(
			LOG_FATAL, "[sfu] not starting: %s\n", error ? error->message : "invalid auth configuration");
		g_clear_error(&error);
		g_clear_pointer(&config, sfu_config_free);
		return -1;
	}
	sfu_core_init(callback, &sfu_plugin);
	/* Counts (admin stats: lock_violations) any call into the core made with the registry lock held. */
	sfu_core_set_lock_probe(sfu_registry_lock_held);
	sfu_events_set_audit(config->events);
	sfu_registry_init(config->max_blocks_per_user);
	sfu_admin_init(config, verifier);
	if(sfu_access_start(config) < 0 || sfu_state_start(config, &error) < 0 ||
		sfu_signal_start(config, verifier) < 0) {
		if(error != NULL)
			JANUS_LOG(LOG_FATAL, "[sfu] not starting: %s\n", error->message);
		g_clear_error(&error);
		sfu_state_stop();
		sfu_access_stop();
		sfu_registry_shutdown();
		g_clear_pointer(&verifier, sfu_token_free);
		g_clear_pointer(&config, sfu_config_free);
		return -1;
	}
	g_atomic_int_set(&stopping, 0);
	g_atomic_int_set(&initialized, 1);
	/* One line with the effective policy, so an operator sees what the plugin will enforce. */
	char *policy = sfu_config_describe(config);
	int level = sfu_token_is_open(verifier) ? LOG_WARN : LOG_INFO;
	JANUS_LOG(level, "[sfu] %s %s started: %s; max_room_size=%u max_ccu=%u\n", SFU_NAME, SFU_VERSION_STRING,
		policy, config->max_room_size, config->max_ccu);
	g_free(policy);
	return 0;
}

static void sfu_destroy(void) {
	if(!g_atomic_int_get(&initialized))
		return;
	g_atomic_int_set(&stopping, 1);
	sfu_signal_stop();
	sfu_state_stop();
	sfu_access_stop();
	sfu_registry_shutdown();
	sfu_core_shutdown();
	g_clear_pointer(&verifier, sfu_token_free);
	g_clear_pointer(&config, sfu_config_free);
	g_atomic_int_set(&initialized, 0);
	JANUS_LOG(LOG_INFO, "[sfu] %s destroyed\n", SFU_NAME);
}

static int sfu_get_api_compatibility(void) {
	return JANUS_PLUGIN_API_VERSION;
}

static int sfu_get_version(void) {
	return SFU_VERSION;
}

static const char *sfu_get_version_string(void) {
	return SFU_VERSION_STRING;
}

static const char *sfu_get_description(void) {
	return SFU_DESCRIPTION;
}

static const char *sfu_get_name(void) {
	return SFU_NAME;
}

static const char *sfu_get_author(void) {
	return SFU_AUTHOR;
}

static const char *sfu_get_package(void) {
	return SFU_PACKAGE;
}

static void sfu_create_session(janus_plugin_session *handle, int *error) {
	if(!running()) {
		*error = -1;
		return;
	}
	sfu_handle *h = sfu_registry_add(handle);
	if(h == NULL) {
		*error = -2;
		return;
	}
	handle->plugin_handle = h;
}

static struct janus_plugin_result *sfu_handle_message(
	janus_plugin_session *handle, char *transaction, json_t *message, json_t *jsep) {
	sfu_handle *h = running() ? sfu_registry_lookup(handle) : NULL;
	if(h == NULL) {
		g_free(transaction);
		json_decref(message);
		json_decref(jsep);
		return janus_plugin_result_new(
			JANUS_PLUGIN_ERROR, running() ? "No handle associated with message!" : "Shutting down", NULL);
	}
	if(!sfu_signal_enqueue(h, transaction, message, jsep)) /* takes h's reference in every case */
		return janus_plugin_result_new(JANUS_PLUGIN_ERROR, "Too many requests pending for this handle", NULL);
	return janus_plugin_result_new(JANUS_PLUGIN_OK_WAIT, "Processing.", NULL);
}

static json_t *sfu_handle_admin_message(json_t *message) {
	if(!running())
		return json_pack("{sbss}", "success", 0, "error", "not running");
	return sfu_admin_handle(message);
}

/* Media callbacks: find the handle without the registry lock (the core keeps
 * plugin_handle valid until destroy_session returns). */
static sfu_handle *media_handle(janus_plugin_session *handle) {
	if(handle == NULL || g_atomic_int_get(&handle->stopped))
		return NULL;
	sfu_handle *h = handle->plugin_handle;
	if(h == NULL || g_atomic_int_get(&h->destroyed))
		return NULL;
	return h;
}

static void sfu_setup_media(janus_plugin_session *handle) {
	sfu_handle *h = running() ? sfu_registry_lookup(handle) : NULL;
	if(h == NULL)
		return;
	sfu_signal_media_up(h);
	sfu_handle_unref(h);
}

static void sfu_incoming_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet) {
	sfu_handle *h = media_handle(handle);
	if(h != NULL && packet != NULL && packet->buffer != NULL)
		sfu_relay_rtp(h, packet);
}

static void sfu_incoming_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet) {
	sfu_handle *h = media_handle(handle);
	if(h != NULL && packet != NULL && packet->buffer != NULL)
		sfu_relay_rtcp(h, packet);
}

static void sfu_incoming_data(janus_plugin_session *handle, janus_plugin_data *packet) {
	sfu_handle *h = media_handle(handle);
	if(h != NULL && packet != NULL && packet->buffer != NULL && packet->length > 0)
		sfu_relay_data(h, packet);
}

static void sfu_hangup_media(janus_plugin_session *handle) {
	sfu_handle *h = media_handle(handle);
	if(h != NULL)
		g_atomic_int_set(&h->media_up, 0);
}

static void sfu_destroy_session(janus_plugin_session *handle, int *error) {
	/* First: the core has already dropped its own reference to \p handle, so once the plugin's goes (when the
	 * last sfu_handle reference does, inside sfu_access_detach) \p handle may be freed. */
	handle->plugin_handle = NULL;
	if(!sfu_access_detach(handle))
		*error = -2;
}

static json_t *sfu_query_session(janus_plugin_session *handle) {
	sfu_handle *h = running() ? sfu_registry_lookup(handle) : NULL;
	if(h == NULL)
		return NULL;
	json_t *info = sfu_handle_describe(h);
	sfu_handle_unref(h);
	json_object_set_new(info, "auth", json_string(sfu_token_is_open(verifier) ? "off" : "on"));
	return info;
}
