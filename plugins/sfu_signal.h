/*! \file    sfu_signal.h
 * \brief    janus-sfu: signalling (request queue, worker threads, request handlers)
 * \details  handle_message() only enqueues: requests are kept per handle, in
 * order, and the handle is put on a ready queue served by \c message_threads
 * workers, so one handle's requests never run concurrently or out of order
 * while different handles proceed in parallel. Each request gets exactly one
 * result event with its transaction (docs/PROTOCOL.md §3.3), unless its handle
 * was destroyed before it ran. Handlers are table-driven (one row per kind).
 */
#ifndef SFU_SIGNAL_H
#define SFU_SIGNAL_H

#include <glib.h>
#include <jansson.h>

#include "sfu_token.h"
#include "sfu_config.h"
#include "sfu_registry.h"

/*! \brief Start the workers. \p config and \p auth must outlive sfu_signal_stop(). @returns 0 or -1 */
int sfu_signal_start(const sfu_config *config, sfu_token_verifier *auth);
/*! \brief Stop the workers (pending requests are dropped without a response) and join them. */
void sfu_signal_stop(void);

/*! \brief Queue a request. Takes ownership of \p h's reference, \p transaction, \p message and \p jsep in
 * every case. Transport thread; never blocks on signalling work.
 * @returns FALSE when \p h already has max_queued_requests waiting: the request was dropped and the caller
 * answers the client with an error */
gboolean sfu_signal_enqueue(sfu_handle *h, char *transaction, json_t *message, json_t *jsep);

/*! \brief A handle's PeerConnection is up: a subscriber asks its publisher for a keyframe. */
void sfu_signal_media_up(sfu_handle *h);


#endif
