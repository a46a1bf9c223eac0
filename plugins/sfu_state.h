/*! \file    sfu_state.h
 * \brief    janus-sfu: the state backend (memory, or Redis shared by every node)
 * \details  With \c backend = "memory" (the default) this module does nothing: bans,
 * revocations, mutes and jti claims live in sfu_bans, in this process. With
 * \c backend = "redis", one thread of its own (\c sfu-state) keeps them shared:
 *  - every change made here (sfu_access's listener: kick, ban, unban, revoke, unrevoke, mute, jti claim) is
 *    queued (bounded: \c max_pending_writes) and written by the thread: a key with a TTL equal to the entry's
 *    expiry, then a message on the channel \c <prefix>events;
 *  - every message of another node is applied by the thread through the same sfu_access steps (a remote kick
 *    evicts and bans here as a local one; a revocation evicts the participants under the revoked token);
 *  - on (re)connection it subscribes, writes what was queued, then reads every ban, revocation and mute key
 *    (a starting node learns the current state; a Redis that restarted empty is re-seeded from this node);
 *  - every \c directory_interval_s it writes this node's rooms and occupancy (the room directory).
 * The join path never waits for Redis: admission checks are lookups in sfu_bans, under the registry lock.
 * While Redis cannot be reached, \c on_unavailable decides: "refuse" (default) refuses new admissions
 * (\c state_unavailable) until the node is current again; "last_known" admits on the last known state with a
 * loud warning. Keys, messages and failure modes: docs/SCALING.md.
 *
 * Threads: start/stop from the plugin's init/destroy; the listener's callbacks from any thread (no lock held);
 * everything else on the \c sfu-state thread. Its queue lock is a leaf.
 */
#ifndef SFU_STATE_H
#define SFU_STATE_H

#include <glib.h>
#include <jansson.h>

#include "sfu_config.h"

/*! \brief Start the backend of \p config (which must outlive sfu_state_stop()). Redis: read the password,
 * install the sfu_access listener, start the thread (which connects in the background: an unreachable Redis does
 * not stop the plugin). @returns 0, or -1 with \p error set (unreadable password file) */
int sfu_state_start(const sfu_config *config, GError **error);
/*! \brief Stop the thread (removing this node from the directory when connected). */
void sfu_state_stop(void);
/*! \brief Counters for the admin API (new object): backend, connected, current, published, received, applied,
 * pending, dropped, reconnects, resyncs, propagation latency of received messages (p50/p99/max µs). */
json_t *sfu_state_stats(void);

/*! \brief A connected, authenticated Redis context (a redisContext *) for \p config's redis_url / password
 * (for tools: sfu-token directory). NULL with \p error set. Free with sfu_state_redis_free(). */
void *sfu_state_redis_connect(const char *url, const char *password_file, guint timeout_ms, GError **error);
void sfu_state_redis_free(void *ctx);
/*! \brief The room directory under \p prefix (new object): {"nodes":[...], "rooms":{R:{nodes,users,
 * publisher_users}}, "users", "publisher_users"}. NULL with \p error set on a Redis error. */
json_t *sfu_state_directory(void *ctx, const char *prefix, GError **error);

#endif
