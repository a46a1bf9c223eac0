/*! \file    sfu-doctor.c
 * \brief    sfu-token doctor: a production check of a Janus configs folder with janus.plugin.sfu in it
 * \details  Janus's own files (janus.jcfg, janus.transport.http.jcfg, janus.transport.websockets.jcfg) are
 * read with libconfig, as Janus reads them; the plugin's file with sfu_config_load() and its keys with
 * sfu_token_new(), exactly as the plugin does at start. Each check adds findings: "risk" (exit status 1) for what
 * is dangerous or broken in production, "note" for what an operator should know. The reasons are in
 * docs/DEPLOYMENT.md ("The config check"), one section per finding id.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <libconfig.h>

#include "sfu_token.h"
#include "sfu_config.h"
#include "sfu_jwt.h"
#include "sfu-doctor.h"

/*! Largest room (publishers) a core serves at 100% delivery with Janus's default per-handle event loops
 * (issue 15's capacity table; docs/PERFORMANCE.md "Capacity"). */
#define DOCTOR_DEFAULT_LOOPS_MAX_ROOM 12
/*! Janus's own default plugins folder on Debian (used when janus.jcfg names none). */
#if defined(__aarch64__)
#define DOCTOR_DEBIAN_PLUGINS "/usr/lib/aarch64-linux-gnu/janus/plugins"
#else
#define DOCTOR_DEBIAN_PLUGINS "/usr/lib/x86_64-linux-gnu/janus/plugins"
#endif

static const char doctor_usage[] =
	"Usage: sfu-token doctor [--janus-config DIR] [--turn-config FILE] [--addresses IP[,IP...]] [--quiet]\n"
	"  Check the Janus configs folder DIR (default /etc/janus: janus.jcfg, the HTTP and WebSocket "
	"transports,\n"
	"  janus.plugin.sfu.jcfg) for what is risky or missing in production, one line per finding:\n"
	"    risk <id>: ...   dangerous or broken (exit status 1)\n"
	"    note <id>: ...   worth knowing\n"
	"  --turn-config FILE  coturn's config (default /etc/turnserver.conf when it exists) to find a TURN "
	"server\n"
	"  --addresses LIST    judge NAT as if these were the host's addresses (default: the interfaces')\n"
	"  --quiet             print the findings only, no summary line\n"
	"  Every finding id is explained in docs/DEPLOYMENT.md (\"The config check\").\n"
	"Exit status: 0 nothing risky, 1 something risky, 2 usage error or unreadable janus.jcfg.\n";

typedef struct doctor {
	const char *dir;   /* Janus configs folder given */
	config_t janus;    /* janus.jcfg */
	config_t http, ws; /* transports (valid only when has_*) */
	gboolean has_http, has_ws;
	sfu_config *plugin; /* NULL when the plugin's config does not load */
	char **addresses;   /* --addresses, or NULL */
	const char *turn_config;
	int risks, notes;
} doctor;

static void finding(doctor *d, gboolean risky, const char *id, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void finding(doctor *d, gboolean risky, const char *id, const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	printf("%s %s: %s\n", risky ? "risk" : "note", id, text);
	g_free(text);
	if(risky)
		d->risks++;
	else
		d->notes++;
}

/* =============================================================================
 * Reading Janus's files the way Janus does (values as text; "yes"/"true"/"1" are true)
 * ==========================================================================*/

static gboolean read_cfg(config_t *cfg, const char *dir, const char *name, GError **error) {
	char *path = g_build_filename(dir, name, NULL);
	config_init(cfg);
	gboolean ok = config_read_file(cfg, path) == CONFIG_TRUE;
	if(!ok) {
		if(config_error_type(cfg) == CONFIG_ERR_FILE_IO)
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: cannot read", path);
		else
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s", path, config_error_line(cfg),
				config_error_text(cfg));
		config_destroy(cfg);
	}
	g_free(path);
	return ok;
}

/* The value of group.key as text (a new string), or NULL when absent or not a scalar. */
static char *get_text(const config_t *cfg, const char *group, const char *key) {
	config_setting_t *g = config_lookup(cfg, group);
	config_setting_t *s = g ? config_setting_get_member(g, key) : NULL;
	if(s == NULL)
		return NULL;
	switch(config_setting_type(s)) {
		case CONFIG_TYPE_STRING:
			return g_strdup(config_setting_get_string(s));
		case CONFIG_TYPE_INT:
			return g_strdup_printf("%d", config_setting_get_int(s));
		case CONFIG_TYPE_INT64:
			return g_strdup_printf("%lld", config_setting_get_int64(s));
		case CONFIG_TYPE_BOOL:
			return g_strdup(config_setting_get_bool(s) ? "true" : "false");
		case CONFIG_TYPE_FLOAT:
			return g_strdup_printf("%g", config_setting_get_float(s));
		default:
			return NULL;
	}
}

static gboolean is_true(const char *v) {
	return v != NULL && (!g_ascii_strcasecmp(v, "yes") || !g_ascii_strcasecmp(v, "true") || !strcmp(v, "1"));
}

static gboolean get_bool(const config_t *cfg, const char *group, const char *key) {
	char *v = get_text(cfg, group, key);
	gboolean b = is_true(v);
	g_free(v);
	return b;
}

static gboolean has_value(const config_t *cfg, const char *group, const char *key) {
	char *v = get_text(cfg, group, key);
	gboolean b = v != NULL && *g_strstrip(v) != '\0';
	g_free(v);
	return b;
}

static gint64 get_int(const config_t *cfg, const char *group, const char *key, gint64 fallback) {
	char *v = get_text(cfg, group, key);
	char *end = NULL;
	gint64 n = v ? g_ascii_strtoll(v, &end, 10) : fallback;
	if(v != NULL && (end == v || *end != '\0'))
		n = fallback;
	g_free(v);
	return n;
}

/* =============================================================================
 * The checks
 * ==========================================================================*/

/* A listener bound by ip / interface keys is local when bound to a loopback address or interface. */
static gboolean bound_to_loopback(
	const config_t *cfg, const char *group, const char *ip_key, const char *if_key) {
	char *ip = get_text(cfg, group, ip_key), *iface = get_text(cfg, group, if_key);
	gboolean local = FALSE;
	if(ip != NULL && *ip != '\0')
		local = g_str_has_prefix(ip, "127.") || !strcmp(ip, "::1") || !strcmp(ip, "localhost");
	else if(iface != NULL && *iface != '\0')
		local = !strcmp(iface, "lo");
	g_free(ip);
	g_free(iface);
	return local;
}

typedef struct listener {
	gboolean *present;
	config_t *cfg;
	const char *file, *group, *enable, *ip_key, *if_key;
	gboolean tls, admin;
} listener;

static void check_listeners(doctor *d) {
	const listener ls[] = {
		{&d->has_http, &d->http, "janus.transport.http.jcfg", "general", "http", "ip", "interface", FALSE,
			FALSE},
		{&d->has_http, &d->http, "janus.transport.http.jcfg", "general", "https", "secure_ip",
			"secure_interface", TRUE, FALSE},
		{&d->has_ws, &d->ws, "janus.transport.websockets.jcfg", "general", "ws", "ws_ip", "ws_interface",
			FALSE, FALSE},
		{&d->has_ws, &d->ws, "janus.transport.websockets.jcfg", "general", "wss", "wss_ip", "wss_interface",
			TRUE, FALSE},
		{&d->has_http, &d->http, "janus.transport.http.jcfg", "admin", "admin_http", "admin_ip",
			"admin_interface", FALSE, TRUE},
		{&d->has_http, &d->http, "janus.transport.http.jcfg", "admin", "admin_https", "admin_secure_ip",
			"admin_secure_interface", TRUE, TRUE},
		{&d->has_ws, &d->ws, "janus.transport.websockets.jcfg", "admin", "admin_ws", "admin_ws_ip",
			"admin_ws_interface", FALSE, TRUE},
		{&d->has_ws, &d->ws, "janus.transport.websockets.jcfg", "admin", "admin_wss", "admin_wss_ip",
			"admin_wss_interface", TRUE, TRUE},
	};
	gboolean admin_on = FALSE;
	for(size_t i = 0; i < G_N_ELEMENTS(ls); i++) {
		const listener *l = &ls[i];
		if(!*l->present || !get_bool(l->cfg, l->group, l->enable))
			continue;
		gboolean local = bound_to_loopback(l->cfg, l->group, l->ip_key, l->if_key);
		admin_on = admin_on || l->admin;
		if(l->admin && !local)
			finding(d, TRUE, "admin-api-public",
				"%s: %s is on and not bound to loopback (%s/%s): the admin API can list, kick and "
				"reconfigure; "
				"set %s = \"127.0.0.1\"",
				l->file, l->enable, l->ip_key, l->if_key, l->ip_key);
		else if(!l->admin && !l->tls && !local)
			finding(d, TRUE, "api-plaintext-public",
				"%s: %s is on without TLS and not bound to loopback: join tokens cross the network in clear; "
				"bind %s = \"127.0.0.1\" behind a TLS reverse proxy",
				l->file, l->enable, l->ip_key);
	}
	if(!admin_on)
		return;
	char *secret = get_text(&d->janus, "general", "admin_secret");
	if(secret == NULL || *secret == '\0')
		finding(d, TRUE, "admin-secret-weak", "the admin API is on and janus.jcfg sets no admin_secret");
	else if(!strcmp(secret, "janusoverlord") || strlen(secret) < 16)
		finding(d, TRUE, "admin-secret-weak",
			"the admin API is on and admin_secret is %s: use a random one (openssl rand -hex 24)",
			strcmp(secret, "janusoverlord") ? "shorter than 16 characters"
											: "Janus's well-known sample value");
	g_free(secret);
}

static char *plugins_folder(doctor *d) {
	char *dir = get_text(&d->janus, "general", "plugins_folder");
	return dir ? dir : g_strdup(DOCTOR_DEBIAN_PLUGINS);
}

static gboolean disabled(doctor *d, const char *so) {
	char *list = get_text(&d->janus, "plugins", "disable");
	gboolean found = FALSE;
	char **names = list ? g_strsplit(list, ",", -1) : NULL;
	for(char **n = names; n != NULL && *n != NULL && !found; n++)
		found = !strcmp(g_strstrip(*n), so);
	g_strfreev(names);
	g_free(list);
	return found;
}

static int sort_names(const char **a, const char **b) {
	return strcmp(*a, *b);
}

static void check_plugins(doctor *d) {
	char *dir = plugins_folder(d);
	GDir *gd = g_dir_open(dir, 0, NULL);
	gboolean sfu = FALSE;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	for(const char *name; gd != NULL && (name = g_dir_read_name(gd)) != NULL;) {
		if(!g_str_has_suffix(name, ".so") || disabled(d, name))
			continue;
		if(!strcmp(name, "libjanus_sfu.so"))
			sfu = TRUE;
		else
			g_ptr_array_add(names, g_strdup(name));
	}
	if(gd != NULL)
		g_dir_close(gd);
	g_ptr_array_sort(names, (GCompareFunc)sort_names);
	GString *others = g_string_new(NULL);
	for(guint i = 0; i < names->len; i++)
		g_string_append_printf(others, "%s%s", i ? "," : "", (const char *)g_ptr_array_index(names, i));
	g_ptr_array_free(names, TRUE);
	if(!sfu)
		finding(d, TRUE, "plugin-missing",
			"%s holds no enabled libjanus_sfu.so: Janus will not load janus.plugin.sfu", dir);
	gboolean api_auth =
		has_value(&d->janus, "general", "api_secret") || get_bool(&d->janus, "general", "token_auth");
	if(others->len > 0 && !api_auth)
		finding(d, TRUE, "other-plugins-enabled",
			"Janus also loads %s, open to anyone who reaches its API (no api_secret/token_auth): "
			"list them in janus.jcfg plugins: disable",
			others->str);
	g_string_free(others, TRUE);
	g_free(dir);
}

static char *resolve_key(const char *path, const char *dir) {
	if(path == NULL || *path == '\0' || g_path_is_absolute(path))
		return g_strdup(path);
	char *candidate = g_build_filename(dir, path, NULL);
	if(g_file_test(candidate, G_FILE_TEST_EXISTS))
		return candidate;
	g_free(candidate);
	return g_strdup(path);
}

static void check_plugin_config(doctor *d) {
	char *confdir = get_text(&d->janus, "general", "configs_folder");
	const char *dir = confdir ? confdir : d->dir;
	char *jcfg = g_build_filename(dir, "janus.plugin.sfu.jcfg", NULL);
	char *cfg = g_build_filename(dir, "janus.plugin.sfu.cfg", NULL);
	GError *error = NULL;
	if(!g_file_test(jcfg, G_FILE_TEST_EXISTS) && !g_file_test(cfg, G_FILE_TEST_EXISTS)) {
		finding(d, TRUE, "plugin-config-missing",
			"neither %s nor %s exists: copy janus.plugin.sfu.jcfg.sample and set auth_key", jcfg, cfg);
	} else if((d->plugin = sfu_config_load(dir, &error)) == NULL) {
		finding(d, TRUE, "plugin-config-invalid", "%s: the plugin will refuse to start",
			error ? error->message : "invalid");
	} else {
		sfu_config *c = d->plugin;
		char *key = resolve_key(c->auth_key, dir), *keys = resolve_key(c->auth_keys, dir);
		if(key == NULL && keys == NULL) {
			finding(d, TRUE, "auth-off",
				"%s sets neither auth_key nor auth_keys: anyone may join any room and nobody may kick",
				c->source ? c->source : jcfg);
		} else {
			g_free(c->auth_key);
			g_free(c->auth_keys);
			c->auth_key = g_strdup(key);
			c->auth_keys = g_strdup(keys);
			sfu_token_verifier *auth = sfu_token_new(c, &error);
			if(auth == NULL)
				finding(d, TRUE, "auth-key-unusable", "%s: the plugin will refuse to start",
					error ? error->message : "cannot load the keys");
			sfu_token_free(auth);
			sfu_jwt_thread_cleanup();
		}
		g_free(key);
		g_free(keys);
	}
	g_clear_error(&error);
	g_free(jcfg);
	g_free(cfg);
	g_free(confdir);
}

static void check_event_loops(doctor *d) {
	gint64 loops = get_int(&d->janus, "general", "event_loops", 0);
	guint room = d->plugin ? d->plugin->max_room_size : 0;
	if(loops > 0)
		return;
	char size[32] = "unlimited";
	if(room > 0)
		g_snprintf(size, sizeof(size), "%u", room);
	if(room == 0 || room > DOCTOR_DEFAULT_LOOPS_MAX_ROOM)
		finding(d, TRUE, "event-loops-default",
			"janus.jcfg sets no event_loops (one thread per handle) and max_room_size is %s: measured, a "
			"core "
			"then delivers every packet only up to %d-person rooms; event_loops = 1 (one per core) holds 16",
			size, DOCTOR_DEFAULT_LOOPS_MAX_ROOM);
	else
		finding(d, FALSE, "event-loops-default",
			"janus.jcfg sets no event_loops: fine for rooms of %u; set event_loops = <cores> before allowing "
			"rooms above %d",
			room, DOCTOR_DEFAULT_LOOPS_MAX_ROOM);
}

static void check_ports(doctor *d) {
	char *range = get_text(&d->janus, "media", "rtp_port_range");
	guint room = d->plugin ? d->plugin->max_room_size : 0, ccu = d->plugin ? d->plugin->max_ccu : 0;
	unsigned lo = 0, hi = 0;
	if(range == NULL || sscanf(range, "%u-%u", &lo, &hi) != 2 || lo == 0 || hi < lo || hi > 65535) {
		finding(d, FALSE, "port-range-unset",
			"janus.jcfg media: rtp_port_range is %s: Janus uses any ephemeral UDP port, so a firewall must "
			"open them all",
			range ? "not MIN-MAX" : "unset");
		g_free(range);
		return;
	}
	g_free(range);
	/* naf-janus-adapter: one publisher PeerConnection per user plus one subscriber PeerConnection per other
	 * publisher in the room; with BUNDLE and rtcp-mux each PeerConnection takes one UDP port. */
	guint64 ports = (guint64)hi - lo + 1;
	guint64 room_need = (guint64)room * room, need = (guint64)ccu * (room ? room : ccu);
	if(room > 0 && ports < room_need)
		finding(d, TRUE, "port-range-small",
			"rtp_port_range %u-%u has %" G_GUINT64_FORMAT
			" ports; one full room of max_room_size %u takes %" G_GUINT64_FORMAT
			" (each user: 1 publisher + %u subscriber PeerConnections)",
			lo, hi, ports, room, room_need, room - 1);
	else if(ccu > 0 && ports < need)
		finding(d, TRUE, "port-range-small",
			"rtp_port_range %u-%u has %" G_GUINT64_FORMAT
			" ports; max_ccu %u users in rooms of %u take %" G_GUINT64_FORMAT,
			lo, hi, ports, ccu, room ? room : ccu, need);
	else if(ccu == 0 && room == 0)
		finding(d, FALSE, "port-range-unbounded",
			"max_ccu and max_room_size are unlimited: rtp_port_range %u-%u caps the node at "
			"%" G_GUINT64_FORMAT " PeerConnections (one port each)",
			lo, hi, ports);
	else if(ccu == 0)
		finding(d, FALSE, "port-range-unbounded",
			"max_ccu is unlimited: rtp_port_range %u-%u (%" G_GUINT64_FORMAT
			" ports) holds %" G_GUINT64_FORMAT " users in full rooms of %u",
			lo, hi, ports, ports / room, room);
}

static gboolean private_address(const char *ip) {
	struct in_addr a4;
	struct in6_addr a6;
	if(inet_pton(AF_INET, ip, &a4) == 1) {
		guint32 a = ntohl(a4.s_addr);
		return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
			   (a >> 22) == (0x6440 >> 6) || (a >> 16) == 0xa9fe;
	}
	if(inet_pton(AF_INET6, ip, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) || (a6.s6_addr[0] & 0xfe) == 0xfc;
	return TRUE;
}

/* Janus's list match: an entry matches an interface whose name or address starts with it. */
static gboolean listed(const char *list, const char *name, const char *ip) {
	if(list == NULL)
		return FALSE;
	char **items = g_strsplit(list, ",", -1);
	gboolean hit = FALSE;
	for(char **i = items; *i != NULL && !hit; i++) {
		const char *e = g_strstrip(*i);
		hit = *e != '\0' && ((name && g_str_has_prefix(name, e)) || g_str_has_prefix(ip, e));
	}
	g_strfreev(items);
	return hit;
}

/* The addresses Janus would gather candidates on: a new NULL-terminated list. */
static char **candidate_addresses(doctor *d) {
	if(d->addresses != NULL)
		return g_strdupv(d->addresses);
	char *enforce = get_text(&d->janus, "nat", "ice_enforce_list"),
		 *ignore = get_text(&d->janus, "nat", "ice_ignore_list");
	gboolean ipv6 = get_bool(&d->janus, "media", "ipv6");
	GPtrArray *out = g_ptr_array_new();
	struct ifaddrs *ifs = NULL;
	if(getifaddrs(&ifs) == 0) {
		for(struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
			if(i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
				continue;
			int fam = i->ifa_addr->sa_family;
			if(fam != AF_INET && !(fam == AF_INET6 && ipv6))
				continue;
			char ip[INET6_ADDRSTRLEN] = "";
			const void *src = fam == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
											 : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			inet_ntop(fam, src, ip, sizeof(ip));
			if((enforce && !listed(enforce, i->ifa_name, ip)) ||
				(!enforce && listed(ignore, i->ifa_name, ip)))
				continue;
			g_ptr_array_add(out, g_strdup(ip));
		}
		freeifaddrs(ifs);
	}
	g_ptr_array_add(out, NULL);
	g_free(enforce);
	g_free(ignore);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* A coturn config that lets clients authenticate: TURN REST API secret or long-term users. */
static gboolean coturn_configured(const char *path) {
	char *text = NULL;
	if(path == NULL || !g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	gboolean secret = FALSE, rest = FALSE, users = FALSE, lt = FALSE;
	char **lines = g_strsplit(text, "\n", -1);
	for(char **l = lines; *l != NULL; l++) {
		const char *s = g_strstrip(*l);
		secret = secret || g_str_has_prefix(s, "static-auth-secret=");
		rest = rest || !strcmp(s, "use-auth-secret");
		users = users || g_str_has_prefix(s, "user=");
		lt = lt || !strcmp(s, "lt-cred-mech");
	}
	g_strfreev(lines);
	g_free(text);
	return (secret && rest) || (users && lt);
}

static void check_nat(doctor *d) {
	gboolean mapping = has_value(&d->janus, "nat", "nat_1_1_mapping");
	gboolean stun = has_value(&d->janus, "nat", "stun_server");
	gboolean janus_turn =
		has_value(&d->janus, "nat", "turn_server") || has_value(&d->janus, "nat", "turn_rest_api");
	char **addrs = candidate_addresses(d);
	gboolean public_addr = FALSE;
	for(char **a = addrs; *a != NULL; a++)
		public_addr = public_addr || !private_address(*a);
	char *list = g_strjoinv(",", addrs);
	g_strfreev(addrs);
	gboolean natted = mapping || !public_addr;
	if(!public_addr && !mapping && !stun)
		finding(d, TRUE, "behind-nat-unreachable",
			"Janus's candidate addresses (%s) are all private and janus.jcfg sets neither nat_1_1_mapping "
			"nor "
			"stun_server: clients outside this network cannot reach it",
			*list ? list : "none");
	if(natted && !janus_turn && !coturn_configured(d->turn_config))
		finding(d, TRUE, "nat-no-turn",
			"this Janus is behind NAT (%s) and no TURN server is configured (janus.jcfg nat: turn_server/"
			"turn_rest_api, or coturn with use-auth-secret in %s): clients whose network blocks UDP cannot "
			"connect",
			mapping ? "nat_1_1_mapping" : "private addresses only",
			d->turn_config ? d->turn_config : "--turn-config");
	g_free(list);
}

static void check_sessions(doctor *d) {
	gint64 timeout = get_int(&d->janus, "general", "session_timeout", 60);
	if(timeout == 0)
		finding(d, TRUE, "session-timeout-off",
			"janus.jcfg session_timeout = 0: sessions of clients that vanish are never freed (their users "
			"stay in "
			"their rooms and count against max_ccu)");
}

/* =============================================================================
 * Entry point
 * ==========================================================================*/

static int run(doctor *d) {
	GError *error = NULL;
	if(!read_cfg(&d->janus, d->dir, "janus.jcfg", &error)) {
		fprintf(stderr, "sfu-token doctor: %s\n", error->message);
		g_error_free(error);
		return 2;
	}
	d->has_http = read_cfg(&d->http, d->dir, "janus.transport.http.jcfg", &error);
	if(!d->has_http && error->code != G_FILE_ERROR_NOENT)
		finding(d, TRUE, "transport-config-invalid", "%s", error->message);
	g_clear_error(&error);
	d->has_ws = read_cfg(&d->ws, d->dir, "janus.transport.websockets.jcfg", &error);
	if(!d->has_ws && error->code != G_FILE_ERROR_NOENT)
		finding(d, TRUE, "transport-config-invalid", "%s", error->message);
	g_clear_error(&error);

	check_plugins(d);
	check_plugin_config(d);
	check_listeners(d);
	check_event_loops(d);
	check_ports(d);
	check_nat(d);
	check_sessions(d);

	config_destroy(&d->janus);
	if(d->has_http)
		config_destroy(&d->http);
	if(d->has_ws)
		config_destroy(&d->ws);
	sfu_config_free(d->plugin);
	return d->risks > 0 ? 1 : 0;
}

int sfu_doctor_main(int argc, char **argv) {
	static const struct option opts[] = {{"janus-config", required_argument, NULL, 'j'},
		{"turn-config", required_argument, NULL, 't'}, {"addresses", required_argument, NULL, 'a'},
		{"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	doctor d = {.dir = "/etc/janus"};
	gboolean quiet = FALSE, turn_given = FALSE;
	int c;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
			case 'j':
				d.dir = optarg;
				break;
			case 't':
				d.turn_config = optarg;
				turn_given = TRUE;
				break;
			case 'a':
				g_strfreev(d.addresses);
				d.addresses = g_strsplit(optarg, ",", -1);
				break;
			case 'q':
				quiet = TRUE;
				break;
			case 'h':
				fputs(doctor_usage, stdout);
				return 0;
			default:
				fputs(doctor_usage, stderr);
				return 2;
		}
	}
	if(optind < argc) {
		fprintf(stderr, "sfu-token doctor: unexpected argument '%s'\n%s", argv[optind], doctor_usage);
		return 2;
	}
	if(!turn_given && g_file_test("/etc/turnserver.conf", G_FILE_TEST_EXISTS))
		d.turn_config = "/etc/turnserver.conf";
	int rc = run(&d);
	if(rc != 2 && !quiet)
		printf("sfu-token doctor: %s: %d risk%s, %d note%s\n", d.dir, d.risks, d.risks == 1 ? "" : "s",
			d.notes, d.notes == 1 ? "" : "s");
	g_strfreev(d.addresses);
	return rc;
}
