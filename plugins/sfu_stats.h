/*! \file    sfu_stats.h
 * \brief    janus-sfu: the plugin's counters, one table for every module
 * \details  Every counter the Admin API \c stats request reports (docs/PROTOCOL.md) lives here, named once
 * in SFU_STATS_MAP: signalling (requests, joins, rejections, kicks, queue refusals), relay (packets and bytes
 * relayed or dropped for a mute), authorization (refreshes, expiries, bans, mutes, ...) and the state
 * backend's messages. Each is a relaxed atomic counted since the plugin was loaded and never reset: any
 * thread, the media path included, may count without a lock and without allocating. The modules that own
 * the events count them here; the Admin API reads them here (sfu_admin for signalling and relay,
 * sfu_access_stats() and sfu_state_stats() for their sections).
 *
 * Kicks are counted once, by who asked: SFU_STAT_KICKS (a participant's \c kick request) and
 * SFU_STAT_ADMIN_KICKS (the Admin API's \c kick). \c stats reports signalling.kicks = the first and
 * authorization.kicks = both.
 *
 * Threads: any; no lock is taken.
 */
#ifndef SFU_STATS_H
#define SFU_STATS_H

#include <glib.h>

/* XX(name): one counter each. */
#define SFU_STATS_MAP(XX)                                                                                    \
	/* signalling (sfu_signal) */                                                                            \
	XX(REQUESTS)           /* requests processed by the signalling workers */                                \
	XX(JOINS_ACCEPTED)     /* joins that succeeded */                                                        \
	XX(REJECTIONS)         /* requests refused for their token or by an access step (ban, binding) */        \
	XX(KICKS)              /* participants' kick requests that passed the token check */                     \
	XX(REFUSED_QUEUE_FULL) /* requests refused because the handle's queue was full */                        \
	/* the Admin API (sfu_admin) */                                                                          \
	XX(ADMIN_KICKS) /* Admin API kick requests (with room_id and user_id) */                                 \
	/* relay (sfu_relay, media path) */                                                                      \
	XX(RTP_PACKETS)       /* RTP packets sent to subscribers */                                              \
	XX(RTP_BYTES)         /* and their bytes */                                                              \
	XX(DATA_MESSAGES)     /* data channel messages sent */                                                   \
	XX(DATA_BYTES)        /* and their bytes */                                                              \
	XX(MUTED_RTP_PACKETS) /* RTP received from muted publishers and not relayed */                           \
	XX(MUTED_RTP_BYTES)   /* and their bytes */                                                              \
	/* authorization (sfu_access) */                                                                         \
	XX(REFRESHES)         /* accepted token refreshes */                                                     \
	XX(EXPIRIES)          /* users ejected at token expiry */                                                \
	XX(SESSION_LIMITS)    /* users ejected at max_session_s */                                               \
	XX(EXPIRY_WARNINGS)   /* token_expiring events sent */                                                   \
	XX(BANS)              /* kicks whose bans were recorded (one per kicked user) */                         \
	XX(BANS_DROPPED)      /* bans not kept (ban table full) */                                               \
	XX(REPLACED_HANDLES)  /* stale handles replaced by a join */                                             \
	XX(REVOKED_EJECTIONS) /* handles ended by a revocation */                                                \
	XX(MUTES)             /* owner mutes and unmutes */                                                      \
	/* the state backend (sfu_state) */                                                                      \
	XX(STATE_PUBLISHED)   /* messages published to Redis */                                                  \
	XX(STATE_RECEIVED)    /* messages received from Redis */                                                 \
	XX(STATE_APPLIED)     /* other nodes' messages applied */                                                \
	XX(STATE_OWN)         /* own messages received back (skipped) */                                         \
	XX(STATE_INVALID)     /* messages not understood or not applied */                                       \
	XX(STATE_DROPPED)     /* local changes dropped (write queue full) */                                     \
	XX(STATE_CONNECTIONS) /* (re)connections to Redis */                                                     \
	XX(STATE_RESYNCS)     /* catch-ups after a (re)connection */                                             \
	XX(STATE_RESEEDED)    /* entries written back to a Redis that restarted and lost them */                 \
	XX(STATE_ERRORS)      /* Redis commands that failed to run (connection errors) */

typedef enum sfu_stat {
#define SFU_STAT_ENUM(name) SFU_STAT_##name,
	SFU_STATS_MAP(SFU_STAT_ENUM)
#undef SFU_STAT_ENUM
		SFU_STAT_COUNT
} sfu_stat;

/*! \brief Add \p n to counter \p which. Any thread, no lock, no allocation. */
void sfu_stats_add(sfu_stat which, guint64 n);
/*! \brief Add one to counter \p which. */
void sfu_stats_inc(sfu_stat which);
/*! \brief The current value of counter \p which. */
guint64 sfu_stats_get(sfu_stat which);

#endif
