/*! \file    sfu_log.h
 * \brief    janus-sfu: log-safe copies of strings that come from clients or tokens
 * \details  Room ids, user ids, whom, sub, jti and kid are chosen by clients or by token issuers.
 * Every log line that shows one goes through sfu_log_id(), so no client can forge log lines
 * (newlines, terminal escapes) or flood the log with one huge id. A token is never logged at all.
 */
#ifndef SFU_LOG_H
#define SFU_LOG_H

#include <stddef.h>

/*! \brief Size of a buffer that holds any sfu_log_id() result. */
#define SFU_LOG_ID_LEN 80

/*! \brief A log-safe copy of \p s in \p buf: printable ASCII only (others become '?'), at most 64
 * characters followed by "..." when longer, "-" when \p s is NULL. Any thread.
 * @param[out] buf At least SFU_LOG_ID_LEN bytes
 * @returns \p buf (or the static "-") */
const char *sfu_log_id(const char *s, char buf[SFU_LOG_ID_LEN]);

#endif
