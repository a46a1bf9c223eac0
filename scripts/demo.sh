#!/usr/bin/env bash
# demo.sh - THE main command: install, build, then run Janus with janus.plugin.sfu and the demo page.
#
#   ./scripts/demo.sh            # then open http://localhost:8080/ in two tabs and press Join in both
#   SFU_AUTH=0 ./scripts/demo.sh # the old open mode: no keys, no tokens, anyone may join any room
#
# The demo room is private: on first run a key pair is made with tools/sfu-token keygen (.run/demo-keys/),
# the plugin is configured with its public key, and the demo server (demo/server.mjs) gives each tab a
# short-lived join token (DEMO_TOKEN_TTL seconds, 120) that the page refreshes in-band. The first tab to join
# is the room's owner: its token may kick. DEMO_ROOM names the room (demo).
#
# Janus runs in the foreground of this script, in the host's network namespace (a browser on this machine
# reaches Janus's ICE candidates on the LAN address; Janus never gathers on loopback): WebSockets on
# 127.0.0.1:8188, HTTP on 127.0.0.1:8088, ICE restricted to the interface of the default route (DEMO_IFACE to
# choose another), one media loop thread per core (event_loops, the measured recommendation of
# docs/PERFORMANCE.md; DEMO_EVENT_LOOPS=0 for Janus's default of a thread per handle). Ctrl-C (or SIGTERM)
# stops Janus and the web server. Files live in .run/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

./scripts/install-deps.sh
./scripts/build.sh

plugin=$top/plugins/.libs/libjanus_sfu.so
[ -f "$plugin" ] || { echo "demo: $plugin was not built" >&2; exit 1; }
libdir=
for d in /usr/lib/x86_64-linux-gnu/janus /usr/lib/aarch64-linux-gnu/janus /usr/lib/janus; do
	[ -f "$d/transports/libjanus_websockets.so" ] && { libdir=$d; break; }
done
[ -n "$libdir" ] || { echo "demo: Janus transports not found (apt-get install janus)" >&2; exit 1; }

run=$top/.run/demo
rm -rf "$run/plugins" "$run/transports" "$run/loggers" "$run/events"
mkdir -p "$run/plugins" "$run/transports" "$run/loggers" "$run/events"
ln -sf "$plugin" "$run/plugins/libjanus_sfu.so"
ln -sf "$libdir/transports/libjanus_http.so" "$libdir/transports/libjanus_websockets.so" "$run/transports/"

iface=${DEMO_IFACE:-$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')}
enforce=
if [ -n "$iface" ]; then
	enforce="ice_enforce_list = \"$iface\""
else
	echo "demo: no default route; Janus gathers ICE candidates on every non-loopback interface"
fi

# Media loop threads: the recommended setting (docs/PERFORMANCE.md, "Janus settings") is a fixed pool of one
# loop per core instead of Janus's default thread per handle; DEMO_EVENT_LOOPS=0 restores the default.
loops=${DEMO_EVENT_LOOPS:-$(nproc)}

cat >"$run/janus.jcfg" <<JCFG
general: {
	configs_folder = "$run"
	plugins_folder = "$run/plugins"
	transports_folder = "$run/transports"
	loggers_folder = "$run/loggers"
	events_folder = "$run/events"
	debug_level = ${DEMO_DEBUG_LEVEL:-4}
	session_timeout = 38
	admin_secret = "demo-admin"
	event_loops = $loops
}
media: {
	rtp_port_range = "20000-40000"
}
nat: {
	$enforce
	ignore_mdns = true
}
JCFG
cat >"$run/janus.transport.http.jcfg" <<JCFG
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = 8088
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_base_path = "/admin"
	admin_http = true
	admin_port = 7088
	admin_ip = "127.0.0.1"
}
JCFG
cat >"$run/janus.transport.websockets.jcfg" <<JCFG
general: {
	json = "compact"
	ws = true
	ws_port = 8188
	ws_ip = "127.0.0.1"
	wss = false
}
admin: {
	admin_ws = false
}
JCFG

# Plugin configuration. Tokens (the default): a key pair made once, its public key as auth_key; the demo
# server mints each tab's tokens with the private key. The expiry warning comes at a third of the token's
# lifetime before it ends (at most 60 s), so short test lifetimes (DEMO_TOKEN_TTL=20) refresh too.
auth=${SFU_AUTH:-1}
case $auth in
0|1) ;;
*) echo "demo: SFU_AUTH must be 1 (tokens, the default) or 0 (open room)" >&2; exit 2 ;;
esac
ttl=${DEMO_TOKEN_TTL:-120}
if ! [[ $ttl =~ ^[0-9]+$ ]] || [ "$ttl" -lt 10 ] || [ "$ttl" -gt 86400 ]; then
	echo "demo: DEMO_TOKEN_TTL must be a whole number of seconds between 10 and 86400" >&2
	exit 2
fi
ttl=$((10#$ttl))
keys=$top/.run/demo-keys
auth_lines=
if [ "$auth" = 1 ]; then
	if [ ! -f "$keys/private.pem" ] || [ ! -f "$keys/public.der" ]; then
		rm -rf "$keys"
		mkdir -p "$keys"
		chmod 700 "$keys"
		./tools/sfu-token keygen --out "$keys" >/dev/null
		echo "demo: made the demo's token key pair in $keys"
	fi
	warn=$((ttl / 3))
	[ "$warn" -gt 60 ] && warn=60
	auth_lines="auth_key = \"$keys/public.der\"
	expiry_warning_s = $warn"
fi
cat >"$run/janus.plugin.sfu.jcfg" <<JCFG
general: {
	$auth_lines
	max_room_size = 30
}
JCFG

for port in 8188 8088 8080; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		# On a machine running systemd, installing Debian's janus package starts janus.service on 8088 and 8188.
		if [ "$port" != 8080 ] && systemctl is-active --quiet janus 2>/dev/null; then
			echo "demo: port $port is taken by Debian's janus.service (started when the janus package was installed):" >&2
			echo "demo: stop it with 'systemctl disable --now janus' (or run the demo on another machine)" >&2
			exit 1
		fi
		echo "demo: port $port on 127.0.0.1 is already in use (another demo running?)" >&2
		exit 1
	fi
done

janus_pid=
server_pid=
stop() {
	local rc=${1:-$?}
	trap - INT TERM HUP EXIT
	echo
	echo "demo: stopping"
	# (if, not &&: under set -e a failing kill of an already finished process would end the script here)
	if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; fi
	if [ -n "$janus_pid" ]; then kill -TERM "$janus_pid" 2>/dev/null || true; fi
	for _ in $(seq 30); do
		if [ -z "$janus_pid" ] || ! kill -0 "$janus_pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	if [ -n "$janus_pid" ] && kill -0 "$janus_pid" 2>/dev/null; then
		echo "demo: Janus did not stop in 3 s; killing it"
		kill -KILL "$janus_pid" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	exit "$rc"
}
trap 'stop 0' INT TERM HUP
trap stop EXIT

# Own sessions (setsid): Ctrl-C reaches this script only, whose trap stops both processes in order.
setsid janus -F "$run" -C "$run/janus.jcfg" -P "$run/plugins" -o >"$run/janus.log" 2>&1 &
janus_pid=$!
for _ in $(seq 100); do
	curl -sf http://127.0.0.1:8088/janus/info >/dev/null 2>&1 && break
	kill -0 "$janus_pid" 2>/dev/null || { echo "demo: Janus exited:" >&2; tail -20 "$run/janus.log" >&2; exit 1; }
	sleep 0.1
done
if ! curl -sf http://127.0.0.1:8088/janus/info | grep -q '"janus.plugin.sfu"'; then
	echo "demo: Janus runs but janus.plugin.sfu did not load:" >&2
	grep -i sfu "$run/janus.log" | tail -10 >&2
	exit 1
fi

JANUS_WS_URL=ws://127.0.0.1:8188/ SFU_AUTH=$auth SFU_KEY=$keys/private.pem DEMO_TOKEN_TTL=$ttl \
	setsid node demo/server.mjs &
server_pid=$!

echo "demo: Janus with janus.plugin.sfu: ws://127.0.0.1:8188/ (log: $run/janus.log, ICE on ${iface:-all interfaces})"
if [ "$auth" = 1 ]; then
	echo "demo: private room: each tab gets a join token ($ttl s, refreshed in-band); the first tab to join owns the room (it can kick)"
else
	echo "demo: OPEN room (SFU_AUTH=0): no tokens, nobody can kick"
fi
echo "demo: open http://localhost:8080/ in two tabs (or two browsers) and press Join in both. Ctrl-C stops."
# Foreground: wait until either process ends (or Ctrl-C, which runs stop at once).
wait -n "$janus_pid" "$server_pid" || true
sleep 0.2
echo "demo: a process ended unexpectedly; see $run/janus.log" >&2
exit 1
