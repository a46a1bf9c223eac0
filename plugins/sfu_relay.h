/*! \file    sfu_relay.h
 * \brief    janus-sfu: the media path (RTP, RTCP and data-channel fan-out, keyframe requests)
 * \details  Called on the core's media threads. Takes no registry lock, never
 * allocates and never parses JSON: it reads the snapshot arrays of the
 * registry, the block table's fast path and the handle's permission flags.
 */
#ifndef SFU_RELAY_H
#define SFU_RELAY_H

#include <plugins/plugin.h>

#include "sfu_registry.h"

/*! \brief RTP from \p h: to each subscriber of \p h not blocked either way, as audio mindex 0 / video mindex 1. */
void sfu_relay_rtp(sfu_handle *h, janus_plugin_rtp *packet);
/*! \brief RTCP from \p h: PLI/FIR go to the publisher \p h receives; anything else to \p h's subscribers. */
void sfu_relay_rtcp(sfu_handle *h, janus_plugin_rtcp *packet);
/*! \brief Data-channel message from \p h: to every other publisher handle of its room (label kept). */
void sfu_relay_data(sfu_handle *h, janus_plugin_data *packet);
/*! \brief Ask \p pub for a keyframe (RTCP FIR, with its own sequence number). */
void sfu_relay_request_keyframe(sfu_handle *pub);


#endif
