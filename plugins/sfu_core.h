/*! \file    sfu_core.h
 * \brief    janus-sfu: the only holder of the Janus core callbacks
 * \details  Every call from the plugin into the Janus core goes through here,
 * so unit tests can install a recording fake (tests/unit/support/fake-core.c)
 * and so the rule "never call into the core with a registry or room lock held"
 * has one place to be checked: sfu_core_set_lock_probe() lets tests assert it.
 * All functions may be called from any thread, but never while holding the
 * registry lock (see docs/DESIGN.md, lock order).
 */
#ifndef SFU_CORE_H
#define SFU_CORE_H

#include <glib.h>
#include <jansson.h>
#include <plugins/plugin.h>

/*! \brief Install the core callbacks and the plugin descriptor (init(), before any other call). */
void sfu_core_init(janus_callbacks *callbacks, janus_plugin *plugin);
/*! \brief Forget the callbacks (destroy()). Calls after this are ignored. */
void sfu_core_shutdown(void);

/*! \brief Push an event (adds its own references: the caller still owns \p msg and \p jsep). */
int sfu_core_push_event(janus_plugin_session *handle, const char *transaction, json_t *msg, json_t *jsep);
void sfu_core_relay_rtp(janus_plugin_session *handle, janus_plugin_rtp *packet);
void sfu_core_relay_rtcp(janus_plugin_session *handle, janus_plugin_rtcp *packet);
void sfu_core_relay_data(janus_plugin_session *handle, janus_plugin_data *packet);
void sfu_core_send_pli(janus_plugin_session *handle);
void sfu_core_close_pc(janus_plugin_session *handle);
/*! \brief Ask the core to destroy the handle (comes back as destroy_session, on another call stack). */
void sfu_core_end_session(janus_plugin_session *handle);
/*! \brief TRUE when Janus has event handlers enabled. */
gboolean sfu_core_events_enabled(void);
/*! \brief Send \p event (reference stolen) to the event handlers, if enabled. */
void sfu_core_notify_event(janus_plugin_session *handle, json_t *event);

/*! \brief Debug aid for tests: \p probe is called before every core call and
 * returns TRUE when a forbidden lock is held (the call is then counted). */
void sfu_core_set_lock_probe(gboolean (*probe)(void));
/*! \brief Number of core calls made while the lock probe reported a held lock. */
guint sfu_core_lock_violations(void);

#endif
