/*! \file    sfu_config.h
 * \brief    janus-sfu configuration: janus.plugin.sfu.jcfg (or legacy INI .cfg) -> validated sfu_config
 * \details  The only module that reads configuration files. It understands
 * Janus's libconfig format (\c .jcfg, section \c general) and, as a fallback
 * for deployments of Mozilla's plugin, the legacy INI \c janus.plugin.sfu.cfg
 * (section \c [general], rust-ini rules: quotes stripped, \c ; and \c #
 * comments). A key that is present but invalid makes loading fail with a
 * message naming the file, key and problem: the plugin then refuses to start
 * (fail closed). Unknown keys are reported as warnings.
 *
 * The result is immutable once loaded; readers may share it freely.
 */
#ifndef SFU_CONFIG_H
#define SFU_CONFIG_H

#include <glib.h>

#include "sfu_codec.h"

typedef enum sfu_expiry_policy {
	SFU_EXPIRY_EJECT = 0, /*!< eject participants whose token expired (default) */
	SFU_EXPIRY_KEEP       /*!< legacy: tokens only matter at the door */
} sfu_expiry_policy;

typedef struct sfu_config {
	char *source; /*!< path of the file that was read, or NULL when defaults are used */
	/* Limits (Mozilla plugin semantics; 0 = unlimited) */
	guint max_room_size;   /*!< distinct publisher users per room */
	guint max_ccu;         /*!< distinct publisher users server-wide */
	guint message_threads; /*!< signalling workers; 0 = number of CPUs */
	/* Token verification (see docs/SECURITY.md) */
	char *auth_key;                /*!< RSA public key path (DER PKCS#1, DER SPKI or PEM); NULL = none */
	char *auth_keys;               /*!< JWKS path for kid-based rotation; NULL = none */
	char **algorithms;             /*!< NULL-terminated list of accepted JWS algs (default {"RS512"}) */
	char *audience;                /*!< required \c aud when set */
	char *issuer;                  /*!< required \c iss when set */
	guint clock_leeway_s;          /*!< leeway for exp/nbf/iat (default 0) */
	gboolean require_user_binding; /*!< tokens must carry a user_id claim */
	/* Session authorization (issue 4) */
	guint expiry_warning_s; /*!< token_expiring sent this long before exp (default 60) */
	guint expiry_grace_s;   /*!< ejection happens at exp + grace (default 0) */
	sfu_expiry_policy on_token_expiry;
	guint kick_ban_s;                /*!< a kicked user stays out this long (default 3600) */
	gboolean replace_stale_sessions; /*!< bound-user publisher rejoin replaces the old one (default TRUE) */
	gboolean one_user_per_jti;       /*!< a jti may be held by one user_id only (default FALSE) */
	gboolean events;                 /*!< send audit events to Janus event handlers (default TRUE) */
	sfu_video_policy video_codec;    /*!< room video codec policy (default auto) */
} sfu_config;

/*! \brief A config holding every default (no file read). Free with sfu_config_free. */
sfu_config *sfu_config_new_defaults(void);

/*! \brief Load \c <config_dir>/janus.plugin.sfu.jcfg, else \c <config_dir>/janus.plugin.sfu.cfg, else defaults.
 * @param[in] config_dir The folder Janus passed to init()
 * @param[out] error Set when a file exists but cannot be read or holds an invalid value
 * @returns A new config (caller frees with sfu_config_free), or NULL with \p error set */
sfu_config *sfu_config_load(const char *config_dir, GError **error);

/*! \brief Parse configuration text. \p is_ini selects the legacy INI format, else libconfig (.jcfg).
 * @param[in] text NUL-terminated file contents
 * @param[in] origin File name used in error messages
 * @returns A new config, or NULL with \p error set */
sfu_config *sfu_config_parse(const char *text, gboolean is_ini, const char *origin, GError **error);

/*! \brief Free a config (NULL is fine). */
void sfu_config_free(sfu_config *config);

#define SFU_CONFIG_ERROR (sfu_config_error_quark())
GQuark sfu_config_error_quark(void);

#endif
