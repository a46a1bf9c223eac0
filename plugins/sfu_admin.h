/*! \file    sfu_admin.h
 * \brief    janus-sfu: Admin API requests (Janus admin \c message_plugin, behind Janus's admin_secret)
 * \details  Requests: list_rooms, list_participants {room_id}, kick {room_id, user_id},
 * list_bans {room_id?}, unban {room_id, user_id}, reload_keys, stats. Answers
 * {"success":true,...} or {"success":false,"error":"..."}. Runs on a transport thread.
 */
#ifndef SFU_ADMIN_H
#define SFU_ADMIN_H

#include <jansson.h>

#include "sfu_token.h"
#include "sfu_config.h"

/*! \brief Remember what reload_keys needs. Both must outlive the plugin's running time. */
void sfu_admin_init(const sfu_config *config, sfu_token_verifier *auth);
/*! \brief Handle one admin request (borrowed). @returns a new JSON response */
json_t *sfu_admin_handle(json_t *request);

#endif
