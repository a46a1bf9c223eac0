#!/bin/bash
# sfu-token doctor (TAP): a production-ready Janus configs folder passes with exit status 0 and no risk; then each
# finding is provoked by one change to that folder (and, where it matters, shown to go away with the fix of
# docs/DEPLOYMENT.md). Keys are made at test time with sfu-token keygen.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
tool="$top_builddir/tools/sfu-token"
if [ ! -x "$tool" ]; then
	echo "Bail out! $tool not built"
	exit 99
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sfu-doctor.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
"$tool" keygen --out "$tmp/keys" >/dev/null || { echo "Bail out! keygen failed"; exit 99; }

n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

# good: a configs folder as docs/DEPLOYMENT.md leaves it (only the plugin in the plugins folder).
good() {
	rm -rf "$tmp/conf" "$tmp/plugins"
	mkdir -p "$tmp/conf" "$tmp/plugins"
	: >"$tmp/plugins/libjanus_sfu.so"
	cat >"$tmp/conf/janus.jcfg" <<EOF
general: {
	configs_folder = "$tmp/conf"
	plugins_folder = "$tmp/plugins"
	admin_secret = "0123456789abcdef0123456789abcdef"
	session_timeout = 60
	event_loops = 2
}
media: {
	rtp_port_range = "20000-40000"
}
nat: {
	nat_1_1_mapping = "203.0.113.10"
	turn_rest_api = "https://turn.example.com/api"
}
EOF
	cat >"$tmp/conf/janus.transport.http.jcfg" <<EOF
general: {
	http = true
	ip = "127.0.0.1"
}
admin: {
	admin_http = true
	admin_ip = "127.0.0.1"
}
EOF
	cat >"$tmp/conf/janus.transport.websockets.jcfg" <<EOF
general: {
	ws = true
	ws_ip = "127.0.0.1"
}
admin: {
	admin_ws = false
}
EOF
	cat >"$tmp/conf/janus.plugin.sfu.jcfg" <<EOF
general: {
	auth_key = "$tmp/keys/public.der"
	max_room_size = 16
	max_ccu = 1000
}
EOF
	: >"$tmp/turnserver.conf"
}

# doctor [args]: runs it on $tmp/conf; sets $out and $rc.
doctor() {
	out=$("$tool" doctor --janus-config "$tmp/conf" --turn-config "$tmp/turnserver.conf" --addresses 10.0.0.5 "$@" 2>&1)
	rc=$?
}
# set_key FILE GROUP KEY VALUE: replace or add KEY = VALUE in GROUP of FILE (a one-level libconfig file).
set_key() {
	local f=$tmp/conf/$1
	sed -i "/^[[:space:]]*$3[[:space:]]*=/d" "$f"
	grep -q "^$2: {" "$f" || printf '%s: {\n}\n' "$2" >>"$f"
	sed -i "/^$2: {/a\\	$3 = $4" "$f"
}
del_key() { sed -i "/^[[:space:]]*$2[[:space:]]*=/d" "$tmp/conf/$1"; }
# expect KIND ID WHAT: the last run printed "KIND ID:" (risk: exit 1; note: exit 0 when nothing else is risky).
expect() {
	local want=0
	[ "$1" = risk ] && want=1
	printf '%s\n' "$out" | grep -q "^$1 $2: " && [ "$rc" = "$want" ]
	ok $? "$3 -> $1 $2"
	[ $? = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
}
absent() {
	! printf '%s\n' "$out" | grep -q " $1: "
	ok $? "$2 -> no $1"
}

good
doctor
[ "$rc" = 0 ] && ! printf '%s\n' "$out" | grep -q '^risk ' && printf '%s\n' "$out" | grep -q ': 0 risks, 0 notes$'
ok $? "the deployment of docs/DEPLOYMENT.md: exit 0, no finding"
[ $? = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'

good; rm "$tmp/plugins/libjanus_sfu.so"; doctor
expect risk plugin-missing "no libjanus_sfu.so in plugins_folder"
good; set_key janus.jcfg plugins disable '"libjanus_sfu.so"'; doctor
expect risk plugin-missing "libjanus_sfu.so in plugins: disable"

good; : >"$tmp/plugins/libjanus_streaming.so"; doctor
expect risk other-plugins-enabled "Debian's other plugins left enabled"
set_key janus.jcfg plugins disable '"libjanus_streaming.so"'; doctor
absent other-plugins-enabled "the other plugin disabled"
good; : >"$tmp/plugins/libjanus_streaming.so"; set_key janus.jcfg general token_auth true; doctor
absent other-plugins-enabled "the other plugin behind token_auth"

good; rm "$tmp/conf/janus.plugin.sfu.jcfg"; doctor
expect risk plugin-config-missing "no janus.plugin.sfu.jcfg"
good; set_key janus.plugin.sfu.jcfg general max_room_size '"many"'; doctor
expect risk plugin-config-invalid "max_room_size = \"many\""
printf '%s\n' "$out" | grep -q 'max_room_size'
ok $? "plugin-config-invalid names the key (sfu_config_load's message)"

good; del_key janus.plugin.sfu.jcfg auth_key; doctor
expect risk auth-off "no auth_key or auth_keys"
good; echo "not a key" >"$tmp/keys/garbage.der"; set_key janus.plugin.sfu.jcfg general auth_key "\"$tmp/keys/garbage.der\""; doctor
expect risk auth-key-unusable "auth_key that is not an RSA key"
good; set_key janus.plugin.sfu.jcfg general auth_key '"public.der"'; cp "$tmp/keys/public.der" "$tmp/conf/"; doctor
absent auth-key-unusable "a relative auth_key, resolved against the configs folder as the plugin does"

good; set_key janus.transport.http.jcfg admin admin_ip '"0.0.0.0"'; doctor
expect risk admin-api-public "admin_http on 0.0.0.0"
good; set_key janus.transport.websockets.jcfg admin admin_ws true; doctor
expect risk admin-api-public "admin_ws on, bound nowhere"
good; set_key janus.transport.websockets.jcfg admin admin_ws true; set_key janus.transport.websockets.jcfg admin admin_ws_interface '"lo"'; doctor
absent admin-api-public "admin_ws bound to interface lo"

good; set_key janus.jcfg general admin_secret '"janusoverlord"'; doctor
expect risk admin-secret-weak "Janus's sample admin_secret"
good; del_key janus.jcfg admin_secret; doctor
expect risk admin-secret-weak "no admin_secret"
good; del_key janus.jcfg admin_secret; set_key janus.transport.http.jcfg admin admin_http false; doctor
absent admin-secret-weak "no admin_secret and no admin API"

good; del_key janus.transport.websockets.jcfg ws_ip; doctor
expect risk api-plaintext-public "plain ws on every interface"
good; set_key janus.transport.http.jcfg general ip '"10.0.0.5"'; doctor
expect risk api-plaintext-public "plain http on a LAN address"

good; del_key janus.jcfg event_loops; doctor
expect risk event-loops-default "no event_loops, max_room_size 16"
good; del_key janus.jcfg event_loops; set_key janus.plugin.sfu.jcfg general max_room_size 10; doctor
expect note event-loops-default "no event_loops, max_room_size 10"

good; set_key janus.jcfg media rtp_port_range '"20000-20200"'; doctor
expect risk port-range-small "201 ports, max_room_size 16 (256 PeerConnections)"
good; set_key janus.jcfg media rtp_port_range '"20000-29999"'; set_key janus.plugin.sfu.jcfg general max_ccu 1000; doctor
expect risk port-range-small "10000 ports, max_ccu 1000 in rooms of 16 (16000)"
good; set_key janus.jcfg media rtp_port_range '"20000-40000"'; set_key janus.plugin.sfu.jcfg general max_ccu 1000; doctor
absent port-range-small "20001 ports for 16000 PeerConnections"
good; del_key janus.jcfg rtp_port_range; doctor
expect note port-range-unset "no rtp_port_range"
good; del_key janus.plugin.sfu.jcfg max_ccu; doctor
expect note port-range-unbounded "max_ccu unlimited"
good; del_key janus.plugin.sfu.jcfg max_ccu; del_key janus.plugin.sfu.jcfg max_room_size; doctor
expect note port-range-unbounded "max_ccu and max_room_size unlimited"
! printf '%s\n' "$out" | grep -q 'rooms of 0'
ok $? "max_ccu and max_room_size unlimited -> no 'users in full rooms of 0'"
[ $? = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'

good; del_key janus.jcfg nat_1_1_mapping; doctor
expect risk behind-nat-unreachable "private addresses only, no nat_1_1_mapping or stun_server"
good; del_key janus.jcfg nat_1_1_mapping; doctor --addresses 198.51.100.7
absent behind-nat-unreachable "a public address"
good; del_key janus.jcfg nat_1_1_mapping; set_key janus.jcfg nat stun_server '"stun.example.com"'; doctor
absent behind-nat-unreachable "stun_server set"

good; del_key janus.jcfg turn_rest_api; doctor
expect risk nat-no-turn "nat_1_1_mapping and no TURN anywhere"
printf 'listening-port=3478\nuse-auth-secret\nstatic-auth-secret=abc\nrealm=example.com\n' >"$tmp/turnserver.conf"; doctor
absent nat-no-turn "coturn with use-auth-secret (the TURN REST API)"
printf 'lt-cred-mech\nuser=alice:secret\n' >"$tmp/turnserver.conf"; doctor
absent nat-no-turn "coturn with long-term credentials"
printf '#use-auth-secret\n#static-auth-secret=abc\n' >"$tmp/turnserver.conf"; doctor
expect risk nat-no-turn "Debian's commented-out turnserver.conf"
good; del_key janus.jcfg turn_rest_api; del_key janus.jcfg nat_1_1_mapping; doctor --addresses 198.51.100.7
absent nat-no-turn "a public address without NAT"

good; set_key janus.jcfg general session_timeout 0; doctor
expect risk session-timeout-off "session_timeout = 0"

good; echo "general: { ws = true" >"$tmp/conf/janus.transport.websockets.jcfg"; doctor
expect risk transport-config-invalid "a WebSocket transport config that does not parse"

good; rm "$tmp/conf/janus.jcfg"; doctor
[ "$rc" = 2 ] && printf '%s\n' "$out" | grep -q 'janus.jcfg: cannot read'
ok $? "no janus.jcfg: exit status 2, named"

good; doctor --quiet
[ -z "$out" ] && [ "$rc" = 0 ]
ok $? "--quiet prints nothing when all is well"

echo "1..$n"
exit $failed
