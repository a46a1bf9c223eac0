/*! \file    fake-core.h
 * \brief    A recording janus_callbacks for unit tests (no Janus core needed)
 * \details  fake_core_install() resets the recordings and installs
 * \c fake_callbacks with sfu_core_init(), so every sfu_core_* call made by the
 * code under test lands here. push_event and notify_event are recorded as
 * compact JSON dumps with sorted keys (stable to compare against); the media
 * calls (relay_rtp/rtcp/data, send_pli) and close_pc/end_session are counted
 * per handle. Everything is thread-safe: the stress tests call in from many
 * threads.
 *
 * The lock probe: fake_core_install() also installs a probe with
 * sfu_core_set_lock_probe() that reports "forbidden lock held" while the
 * calling thread holds the registry lock (sfu_registry_lock_held(), the probe
 * the plugin installs) or is between fake_core_lock_enter() and
 * fake_core_lock_leave() (tests wrap their own critical sections with those).
 * Every core call made then is counted by sfu_core_lock_violations().
 *
 * Its own lock is a pthread mutex (sfu_lock.h), so ThreadSanitizer sees it.
 */
#ifndef SFU_FAKE_CORE_H
#define SFU_FAKE_CORE_H

#include <glib.h>
#include <jansson.h>
#include <plugins/plugin.h>

/*! \brief The recording callbacks and a dummy plugin descriptor (pass both to sfu_core_init). */
extern janus_callbacks fake_callbacks;
extern janus_plugin fake_plugin;

/*! \brief One recorded push_event or notify_event. Strings are owned by the recording. */
typedef struct fake_push {
	janus_plugin_session *handle;
	char *transaction; /*!< NULL when none was given */
	char *message;     /*!< compact, sorted-keys JSON dump, NULL when the message was NULL */
	char *jsep;        /*!< same, for the jsep */
} fake_push;

/*! \brief What a per-handle counter counts. */
typedef enum fake_call {
	FAKE_PUSH_EVENT = 0,
	FAKE_RELAY_RTP,
	FAKE_RELAY_RTCP,
	FAKE_RELAY_DATA,
	FAKE_SEND_PLI,
	FAKE_CLOSE_PC,
	FAKE_END_SESSION,
	FAKE_NOTIFY_EVENT,
	FAKE_CALL__COUNT
} fake_call;

/*! \brief Reset the recordings, install the fake with sfu_core_init() and the lock probe. */
void fake_core_install(void);
/*! \brief sfu_core_shutdown(), remove the probe, free every recording (call at the end of each test). */
void fake_core_uninstall(void);
/*! \brief Forget every recording and counter (the fake stays installed). */
void fake_core_reset(void);

/*! \brief What events_is_enabled() answers (default TRUE). */
void fake_core_set_events_enabled(gboolean enabled);
/*! \brief Called (no fake lock held) after end_session is recorded, e.g. to emulate destroy_session. */
void fake_core_set_end_session_hook(void (*hook)(janus_plugin_session *handle));

/*! \brief Called after each push_event is recorded (no fake lock held), with the message dump (NULL when
 * none), e.g. to check what holds at the moment of a push. */
void fake_core_set_push_hook(void (*hook)(janus_plugin_session *handle, const char *message));

/*! \brief Called after each notify_event (audit event) is recorded (no fake lock held), with the event dump,
 * e.g. to act at a given point of a step's second phase. */
void fake_core_set_notify_hook(void (*hook)(janus_plugin_session *handle, const char *event));

/*! \brief Number of calls of \p what to \p handle (NULL: to any handle). */
guint fake_core_count(fake_call what, janus_plugin_session *handle);

/*! \brief Number of recorded push_event calls. */
guint fake_core_push_count(void);
/*! \brief A copy of push \p index (0 = oldest), or FALSE when out of range. Free with fake_push_clear(). */
gboolean fake_core_push_get(guint index, fake_push *out);
/*! \brief Number of pushes to \p handle (NULL: any) whose message dump contains \p needle (NULL: any). */
guint fake_core_pushes_matching(janus_plugin_session *handle, const char *needle);
/*! \brief The message dump of the latest push to \p handle (new string), or NULL. */
char *fake_core_last_push(janus_plugin_session *handle);

/*! \brief Number of recorded notify_event calls, and a copy of the latest event dump (new string or NULL). */
guint fake_core_notify_count(void);
char *fake_core_last_notify(void);

/*! \brief Free the strings of a copied recording. */
void fake_push_clear(fake_push *p);

/*! \brief Mark the calling thread as holding / no longer holding a lock under which the core must not be called. */
void fake_core_lock_enter(void);
void fake_core_lock_leave(void);

#endif
