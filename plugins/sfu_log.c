/*! \file    sfu_log.c
 * \brief    janus-sfu: log-safe identifiers (see sfu_log.h)
 */
#include <time.h>

#include "sfu_log.h"

#define SFU_LOG_ID_SHOWN 64

const char *sfu_log_id(const char *s, char buf[SFU_LOG_ID_LEN]) {
	if(s == NULL)
		return "-";
	size_t o = 0;
	for(size_t i = 0; s[i] != '\0'; i++) {
		if(i == SFU_LOG_ID_SHOWN) {
			buf[o++] = '.';
			buf[o++] = '.';
			buf[o++] = '.';
			break;
		}
		unsigned char c = (unsigned char)s[i];
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[o] = '\0';
	return buf;
}

int sfu_log_allow(sfu_log_limiter *l, unsigned long *suppressed) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	*suppressed = 0;
	pthread_mutex_lock(&l->lock);
	if(l->last_ms != 0)
		l->tokens += (double)(now - l->last_ms) * l->per_second / 1000.0;
	if(l->tokens > l->burst)
		l->tokens = l->burst;
	l->last_ms = now;
	int allowed = l->tokens >= 1.0;
	if(allowed) {
		l->tokens -= 1.0;
		*suppressed = l->suppressed;
		l->suppressed = 0;
	} else {
		l->suppressed++;
	}
	pthread_mutex_unlock(&l->lock);
	return allowed;
}
