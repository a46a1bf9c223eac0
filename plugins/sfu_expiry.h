/*! \file    sfu_expiry.h
 * \brief    janus-sfu: one timer scheduler for every participant's deadlines
 * \details  Keeps, per (room, user, kind), one deadline in a balanced tree
 * ordered by time (O(log n) per change) and a hash table for lookups; one
 * thread sleeps until the earliest deadline and calls the fire callback for
 * each due entry, with no lock held, so the callback may call into the core.
 * Kinds: the expiry warning, the token expiry and the session limit.
 */
#ifndef SFU_EXPIRY_H
#define SFU_EXPIRY_H

#include <glib.h>

typedef enum sfu_expiry_kind {
	SFU_EXPIRY_WARN = 0, /*!< send token_expiring */
	SFU_EXPIRY_TOKEN,    /*!< eject: token_expired */
	SFU_EXPIRY_SESSION,  /*!< eject: session_limit */
	SFU_EXPIRY__KINDS
} sfu_expiry_kind;

/*! \brief Called on the scheduler thread when a deadline passes (the entry is already removed).
 * @param[in] lateness_us How late the call is relative to the deadline */
typedef void (*sfu_expiry_fire_cb)(
	const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us, gint64 lateness_us);

/*! \brief Start the scheduler thread. @returns 0 or -1 */
int sfu_expiry_start(sfu_expiry_fire_cb fire);
/*! \brief Stop and join the thread; forget every deadline. */
void sfu_expiry_stop(void);
/*! \brief Set (or move) the deadline of (room, user, kind), in real time µs (g_get_real_time()); 0 cancels. */
void sfu_expiry_set(const char *room_id, const char *user_id, sfu_expiry_kind kind, gint64 deadline_us);
/*! \brief The current deadline of (room, user, kind), 0 when none. */
gint64 sfu_expiry_get(const char *room_id, const char *user_id, sfu_expiry_kind kind);
/*! \brief Cancel every deadline of (room, user). */
void sfu_expiry_cancel_user(const char *room_id, const char *user_id);
/*! \brief Number of scheduled deadlines. */
guint sfu_expiry_count(void);

#endif
