/*! \file    sfu_config.h
 * \brief    janus-sfu configuration: janus.plugin.sfu.jcfg (or legacy INI .cfg) -> validated sfu_config
 * \details  The only module that reads configuration files. It understands
 * Janus's libconfig format (\c .jcfg, group \c general) and, for deployments of
 * Mozilla's plugin, the legacy INI \c janus.plugin.sfu.cfg (section \c [general],
 * rust-ini rules: quotes stripped, \c ; and \c # comments).
 *
 * Fail closed: any mistake stops the plugin at start-up with one error naming
 * the file and the problem, so a typo can never run the plugin without the
 * authentication its operator meant to configure. Mistakes are: no config file
 * at all, a syntax error, an unknown group or key (with a "did you mean" for
 * near misses), a key outside its group, a value of the wrong type and an
 * invalid value.
 *
 * The drop-in rule: a legacy INI \c .cfg gets the old plugin's behaviour for
 * every key it does not set (tokens checked at the door only, no kick bans, no
 * stale-session replacement); a \c .jcfg gets the new defaults. See
 * docs/MIGRATING.md.
 *
 * The result is immutable once loaded; readers may share it freely.
 */
#ifndef SFU_CONFIG_H
#define SFU_CONFIG_H

#include <glib.h>

#include "sfu_codec.h"

typedef enum sfu_expiry_policy {
	SFU_EXPIRY_EJECT = 0, /*!< eject participants whose token expired (.jcfg default) */
	SFU_EXPIRY_KEEP       /*!< tokens only matter at the door (legacy .cfg default) */
} sfu_expiry_policy;

typedef enum sfu_state_backend {
	SFU_STATE_MEMORY = 0, /*!< bans, revocations, mutes, jti claims in this process only (default) */
	SFU_STATE_REDIS       /*!< shared by every node through Redis (docs/SCALING.md) */
} sfu_state_backend;

typedef enum sfu_state_unavailable {
	SFU_UNAVAILABLE_REFUSE = 0, /*!< no new admission while the shared state cannot be confirmed (default) */
	SFU_UNAVAILABLE_LAST_KNOWN  /*!< admit on the last known state, with a loud warning */
} sfu_state_unavailable;

/*! \brief Where Redis is: redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N] (tcp: port 6379). */
typedef struct sfu_redis_address {
	char *host;     /*!< host name or address; NULL for a unix socket */
	guint port;     /*!< tcp port */
	char *path;     /*!< unix socket path, or NULL */
	char *user;     /*!< ACL user name (Redis 6+), or NULL */
	char *password; /*!< or NULL */
	guint db;       /*!< SELECT db (0 = default) */
} sfu_redis_address;

/*! \brief Parse \p url into \p out (cleared first). FALSE with \p error (never echoing a password) when invalid;
 * \c rediss:// (TLS) is refused: Debian bookworm's hiredis 0.14 has no TLS (docs/SCALING.md). */
gboolean sfu_redis_address_parse(const char *url, sfu_redis_address *out, const char **error);
void sfu_redis_address_clear(sfu_redis_address *a);

typedef struct sfu_config {
	char *source;    /*!< path of the file that was read, or NULL for sfu_config_new_defaults() */
	gboolean legacy; /*!< read from the legacy INI .cfg: old-plugin defaults for the keys it does not set */
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
	guint clock_leeway_s;          /*!< leeway for exp/nbf/iat and the ejection deadline (default 60) */
	gboolean require_user_binding; /*!< tokens must carry a user_id claim */
	gboolean
		bind_user_id; /*!< a user_id claim binds the token to that user (.jcfg TRUE; legacy FALSE: ignored) */
	char *room_claim; /*!< a string claim naming the token's one room (Reticulum: "hub_id"); NULL = none */
	/* Session authorization */
	guint expiry_warning_s; /*!< token_expiring sent this long before exp (default 60) */
	guint expiry_grace_s;   /*!< ejection happens at exp + leeway + grace (default 0) */
	sfu_expiry_policy on_token_expiry;
	guint kick_ban_s;                /*!< a kicked user stays out this long (.jcfg 3600, legacy 0 = no ban) */
	gboolean sub_identifies_user;    /*!< the issuer's \c sub names one person: kicks also ban sub and jti */
	gboolean replace_stale_sessions; /*!< bound-user publisher rejoin replaces the old one (.jcfg TRUE) */
	gboolean one_user_per_jti;       /*!< a jti may be held by one user_id only (default FALSE) */
	gboolean events;                 /*!< send audit events to Janus event handlers (default TRUE) */
	sfu_video_policy video_codec;    /*!< room video codec policy (default auto) */
	/* Bounds of the plugin's tables (every one has one) */
	guint max_blocks_per_user; /*!< distinct users one user may block (default 1000) */
	guint max_bans; /*!< kick bans kept in all; when full the room holding most drops its soonest (100000) */
	guint max_bans_per_room;   /*!< kick bans per room; a room at it drops its own soonest (1000) */
	guint max_jti_claims;      /*!< token ids remembered for one_user_per_jti (default 1000000) */
	guint max_queued_requests; /*!< requests waiting per handle before new ones are refused (default 64) */
	guint max_publishers_per_user; /*!< publisher handles per user_id and room (default 8) */
	guint data_msgs_per_s; /*!< websocket data messages per second per user and room (bursts of twice; 100) */
	guint
		data_bytes_per_s;  /*!< websocket data bytes per second per user and room (bursts of twice; 262144) */
	guint max_revocations; /*!< token revocations kept; a new one is refused when full (100000) */
	guint max_mutes;       /*!< room mutes kept; the soonest to expire goes first when full (100000) */
	/* Moderation */
	guint
		max_token_lifetime_s; /*!< the longest token lifetime accepted: default length of a revocation (86400) */
	guint mute_s;             /*!< how long an owner's mute holds, across reconnects, unless lifted (86400) */
	/* Shared state (group state; docs/SCALING.md) */
	sfu_state_backend state_backend;      /*!< "memory" (default) or "redis" */
	char *redis_url;                      /*!< required with redis */
	char *redis_password_file;            /*!< file holding the password (instead of the URL's), or NULL */
	char *key_prefix;                     /*!< prefix of every key and of the channel (default "sfu:") */
	guint connect_timeout_ms;             /*!< (default 1000) */
	guint command_timeout_ms;             /*!< (default 1000) */
	sfu_state_unavailable on_unavailable; /*!< (default refuse) */
	char *node_id;                        /*!< this node's name in the directory (default: host name) */
	char *node_url;             /*!< what the directory tells token endpoints to give clients, or NULL */
	guint directory_interval_s; /*!< seconds between directory updates (default 5) */
	guint max_pending_writes;   /*!< writes queued for Redis while it is away (default 10000) */
} sfu_config;

/*! \brief A config holding every .jcfg default (no file read). Free with sfu_config_free. */
sfu_config *sfu_config_new_defaults(void);

/*! \brief Load \c <config_dir>/janus.plugin.sfu.jcfg, else \c <config_dir>/janus.plugin.sfu.cfg.
 * Relative key paths are resolved against \p config_dir when the file is there.
 * @param[in] config_dir The folder Janus passed to init()
 * @param[out] error Set when neither file exists, or the file cannot be read or holds a mistake
 * @returns A new config (caller frees with sfu_config_free), or NULL with \p error set */
sfu_config *sfu_config_load(const char *config_dir, GError **error);

/*! \brief Load one configuration file (\c .cfg: legacy INI, anything else: libconfig), with the same rules
 * and errors as sfu_config_load. */
sfu_config *sfu_config_load_file(const char *path, GError **error);

/*! \brief Load from \p path as an operator names it to a tool (sfu-token verify --config, directory --config): a folder is taken
 * as the Janus configuration folder (sfu_config_load: the same file choice as the plugin), anything else as
 * the one file to read (sfu_config_load_file). Same errors as those two. */
sfu_config *sfu_config_load_path(const char *path, GError **error);

/*! \brief Parse configuration text. \p is_ini selects the legacy INI format, else libconfig (.jcfg).
 * @param[in] text NUL-terminated file contents
 * @param[in] origin File name used in error messages
 * @returns A new config, or NULL with \p error set */
sfu_config *sfu_config_parse(const char *text, gboolean is_ini, const char *origin, GError **error);

/*! \brief One line describing the effective policy (auth, key source, expiry, bans, leeway). New string. */
char *sfu_config_describe(const sfu_config *config);

/*! \brief Free a config (NULL is fine). */
void sfu_config_free(sfu_config *config);

#define SFU_CONFIG_ERROR (sfu_config_error_quark())
GQuark sfu_config_error_quark(void);

/*! \brief Codes of SFU_CONFIG_ERROR. */
typedef enum sfu_config_error_code {
	SFU_CONFIG_ERROR_VALUE = 1,   /*!< a key has an invalid value */
	SFU_CONFIG_ERROR_SYNTAX = 2,  /*!< the file does not parse */
	SFU_CONFIG_ERROR_UNKNOWN = 3, /*!< an unknown group or key */
	SFU_CONFIG_ERROR_PLACE = 4,   /*!< a key outside its group */
	SFU_CONFIG_ERROR_TYPE = 5,    /*!< a value of the wrong type */
	SFU_CONFIG_ERROR_MISSING = 6, /*!< no configuration file */
	SFU_CONFIG_ERROR_READ = 7     /*!< the file cannot be read */
} sfu_config_error_code;

#endif
