/*! \file    sfu_log.c
 * \brief    janus-sfu: log-safe identifiers (see sfu_log.h)
 */
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
