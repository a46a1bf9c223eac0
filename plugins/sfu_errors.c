/*! \file    sfu_errors.c
 * \brief    janus-sfu error table lookups (see sfu_errors.h)
 */
#include "sfu_errors.h"

static const struct {
	const char *name, *reason, *msg;
} errors[] = {
#define SFU_ERR_ROW(name, reason, msg) {#name, reason, msg},
	SFU_ERROR_MAP(SFU_ERR_ROW)
#undef SFU_ERR_ROW
};

const char *sfu_error_msg(sfu_err err) {
	if((unsigned)err >= SFU_ERR__COUNT)
		return errors[SFU_ERR_INTERNAL].msg;
	return errors[err].msg;
}

const char *sfu_error_reason(sfu_err err) {
	if((unsigned)err >= SFU_ERR__COUNT)
		return errors[SFU_ERR_INTERNAL].reason;
	return errors[err].reason;
}

const char *sfu_error_name(sfu_err err) {
	if((unsigned)err >= SFU_ERR__COUNT)
		return "SFU_ERR_UNKNOWN";
	return errors[err].name;
}
