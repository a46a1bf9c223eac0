/*! \file    janus-stubs.h
 * \brief    Test helpers over the stubbed Janus logger (see janus-stubs.c)
 */
#ifndef SFU_JANUS_STUBS_H
#define SFU_JANUS_STUBS_H

#include <glib.h>

/*! \brief TRUE when any log line since the last clear contains \p needle. */
gboolean sfu_test_log_contains(const char *needle);
/*! \brief How many times \p needle occurs in the log since the last clear. */
guint sfu_test_log_count(const char *needle);
/*! \brief Forget the captured log. */
void sfu_test_log_clear(void);

#endif
