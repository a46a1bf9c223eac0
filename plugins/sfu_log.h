/*! \file    sfu_log.h
 * \brief    janus-sfu: log-safe copies of strings that come from clients or tokens
 * \details  Room ids, user ids, whom, sub, jti and kid are chosen by clients or by token issuers.
 * Every log line that shows one goes through sfu_log_id(), so no client can forge log lines
 * (newlines, terminal escapes) or flood the log with one huge id. A token is never logged at all.
 */
#ifndef SFU_LOG_H
#define SFU_LOG_H

#include <pthread.h>
#include <stddef.h>

/*! \brief Size of a buffer that holds any sfu_log_id() result. */
#define SFU_LOG_ID_LEN 80

/*! \brief A log-safe copy of \p s in \p buf: printable ASCII only (others become '?'), at most 64
 * characters followed by "..." when longer, "-" when \p s is NULL. Any thread.
 * @param[out] buf At least SFU_LOG_ID_LEN bytes
 * @returns \p buf (or the static "-") */
const char *sfu_log_id(const char *s, char buf[SFU_LOG_ID_LEN]);

/*! \brief A limit on how many lines of one kind are logged: \c burst at once, then \c per_second. Lines over
 * it are counted, and the next line allowed says how many were left out, so nobody can flood the log (e.g.
 * with invalid tokens) while an operator still sees that it happened. Initialise with SFU_LOG_LIMITER(rate, burst). */
typedef struct sfu_log_limiter {
	pthread_mutex_t lock;
	double per_second, burst, tokens;
	long long last_ms;        /*!< monotonic ms of the last refill, 0: never */
	unsigned long suppressed; /*!< lines left out since the last one allowed */
} sfu_log_limiter;

#define SFU_LOG_LIMITER(rate, cap)                                                                           \
	{ PTHREAD_MUTEX_INITIALIZER, (rate), (cap), (cap), 0, 0 }

/*! \brief Whether one more line may be logged now. Any thread.
 * @param[out] suppressed How many lines were left out before this one (when allowed), else 0
 * @returns 1 when the line may be logged */
int sfu_log_allow(sfu_log_limiter *l, unsigned long *suppressed);

#endif
