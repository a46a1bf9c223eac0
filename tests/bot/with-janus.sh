#!/bin/sh
# with-janus.sh - run a command next to a private Janus inside a network namespace
#
#   tests/bot/with-janus.sh [options] -- COMMAND...
#
# Janus 1.1.2 never gathers ICE candidates on loopback, so Janus and its clients
# run in a private network namespace holding lo plus a veth pair (v0 10.99.0.1,
# v1 10.99.0.2), with nat.ice_enforce_list = "v0". If v0 does not exist yet the
# script re-executes itself under `unshare --net` (root) or `unshare -rn`.
#
# Janus loads janus.plugin.sfu (SFU_PLUGIN_SO, default plugins/.libs/libjanus_sfu.so of
# the build tree) and Debian's janus.plugin.videoroom, and the HTTP transport on
# 127.0.0.1:8088. COMMAND runs with JANUS_PID, JANUS_URL and JANUS_LOG set, then
# Janus is stopped (SIGTERM) and the command's status is returned.
#
# Options:
#   --cpu N          pin Janus to core N (taskset)
#   --auth-key FILE  auth_key of janus.plugin.sfu (public key; default: open)
#   --sfu-conf TEXT  extra lines for the general: block of janus.plugin.sfu.jcfg
#   --nat-conf TEXT  extra lines for the nat: block of janus.jcfg
#                    (e.g. "ice_keepalive_conncheck = true")
#   --event-loops N  janus.jcfg event_loops: N shared media loop threads; 0 = Janus's
#                    default (a loop thread per handle); default: the recommended
#                    setting (docs/PERFORMANCE.md), one loop per core Janus may run
#                    on (1 with --cpu, else nproc), or $JANUS_EVENT_LOOPS
#   --general-conf TEXT  extra lines for the general: block of janus.jcfg
#                    (default: $JANUS_GENERAL_CONF)
#   --debug N        Janus debug_level (default 3)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$here/../.." && pwd)}

if ! ip link show v0 >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then u="unshare --net"; else u="unshare -rn"; fi
	exec $u -- sh -c 'ip link set lo up && ip link add v0 type veth peer name v1 &&
		ip addr add 10.99.0.1/24 dev v0 && ip addr add 10.99.0.2/24 dev v1 &&
		ip link set v0 up && ip link set v1 up && exec "$@"' ns "$0" "$@"
fi

loops=${JANUS_EVENT_LOOPS:-auto} cpu= auth_key= sfu_conf= nat_conf= debug=3 general_conf=${JANUS_GENERAL_CONF:-}
while [ $# -gt 0 ]; do
	case "$1" in
		--cpu) cpu=$2; shift 2 ;;
		--auth-key) auth_key=$2; shift 2 ;;
		--sfu-conf) sfu_conf=$2; shift 2 ;;
		--nat-conf) nat_conf=$2; shift 2 ;;
		--general-conf) general_conf=$2; shift 2 ;;
		--event-loops) loops=$2; shift 2 ;;
		--debug) debug=$2; shift 2 ;;
		--) shift; break ;;
		*) echo "with-janus.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

plugin_so=${SFU_PLUGIN_SO:-$top/plugins/.libs/libjanus_sfu.so}
sysplugins=/usr/lib/x86_64-linux-gnu/janus
[ -d "$sysplugins" ] || sysplugins=$(dirname "$(find /usr/lib -name libjanus_videoroom.so -print -quit)")/..

if [ "$loops" = auto ]; then
	if [ -n "$cpu" ]; then loops=1; else loops=$(nproc); fi
fi

dir=$(mktemp -d /tmp/sfu-bot-janus.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/plugins" "$dir/transports" "$dir/loggers" "$dir/events"
[ -f "$plugin_so" ] && ln -s "$plugin_so" "$dir/plugins/libjanus_sfu.so"
ln -s "$sysplugins/plugins/libjanus_videoroom.so" "$dir/plugins/"
ln -s "$sysplugins/transports/libjanus_http.so" "$dir/transports/"

cat >"$dir/janus.jcfg" <<EOF
general: {
	configs_folder = "$dir"
	plugins_folder = "$dir/plugins"
	transports_folder = "$dir/transports"
	loggers_folder = "$dir/loggers"
	events_folder = "$dir/events"
	debug_level = $debug
	session_timeout = 60
	admin_secret = "botadmin"
	event_loops = $loops
	$general_conf
}
media: {
	rtp_port_range = "20000-40000"
}
nat: {
	ice_enforce_list = "v0"
	ignore_mdns = true
	$nat_conf
}
EOF
cat >"$dir/janus.transport.http.jcfg" <<EOF
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = 8088
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
}
EOF
{
	echo "general: {"
	[ -n "$auth_key" ] && echo "	auth_key = \"$auth_key\""
	[ -n "$sfu_conf" ] && printf '%s\n' "$sfu_conf"
	echo "}"
} >"$dir/janus.plugin.sfu.jcfg"
printf 'general: {\n}\n' >"$dir/janus.plugin.videoroom.jcfg"

pin=
[ -n "$cpu" ] && pin="taskset -c $cpu"
$pin janus -F "$dir" -C "$dir/janus.jcfg" -P "$dir/plugins" -o >"$dir/janus.log" 2>&1 &
JANUS_PID=$!
i=0
until curl -sf http://127.0.0.1:8088/janus/info >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $JANUS_PID 2>/dev/null; then
		echo "with-janus.sh: Janus did not start:" >&2
		tail -20 "$dir/janus.log" >&2
		exit 1
	fi
	sleep 0.05
done
JANUS_URL=http://127.0.0.1:8088/janus
JANUS_LOG=$dir/janus.log
export JANUS_PID JANUS_URL JANUS_LOG

status=0
"$@" || status=$?
kill -TERM $JANUS_PID 2>/dev/null || true
wait $JANUS_PID 2>/dev/null || true
if [ -n "${BOT_KEEP_JANUS_LOG:-}" ]; then cp "$dir/janus.log" "$BOT_KEEP_JANUS_LOG"; fi
exit $status
