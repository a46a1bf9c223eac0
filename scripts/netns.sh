#!/usr/bin/env bash
# netns.sh - run a command inside a private two-host network made for the WebRTC tests.
#
#   ./scripts/netns.sh COMMAND [ARGS...]
#
# Janus 1.1.2 never gathers ICE candidates on loopback, so the tests cannot use 127.0.0.1 for media. They run
# in two network namespaces joined by a veth pair, like a browser and a server on one LAN:
#
#   client namespace (COMMAND: the test runner, browsers, sfu-bot)   server namespace (Janus)
#     lo, v1 = 10.99.0.2/24, default route via 10.99.0.1      <-veth->   lo, v0 = 10.99.0.1/24
#
# COMMAND runs in the client namespace with SFU_JANUS_NETNS (a /proc/PID/ns/net path: start Janus there with
# `nsenter --net=$SFU_JANUS_NETNS janus ...`, as tests/e2e/lib/janus.mjs does), SFU_JANUS_IP=10.99.0.1 (where
# Janus binds its transports and gathers ICE, ice_enforce_list = "v0") and SFU_CLIENT_IP=10.99.0.2 (where Janus
# reaches the test process, e.g. an event handler's backend). Nothing can leave either namespace and no port can
# clash with the host.
#
# Why two namespaces and a default route (issue 14: Firefox's ICE did not complete with everything in one):
#  - Firefox without a camera/microphone permission stored for the page (the tests' fake devices with
#    media.navigator.permission.disabled store none) gathers ICE candidates in "default address only" mode:
#    the address of the interface of the default route, found by connecting a UDP socket towards a public
#    address. Without a default route that fails (MOZ_LOG=nicer:5: "PR_Connect failed: -5980", "failed to find
#    default addresses") and Firefox has no candidate at all. Hence the default route of the client namespace.
#  - With both veth ends in one namespace, that default address is 10.99.0.2; Firefox's checks reach Janus's
#    10.99.0.1 and Janus answers (libnice debug: "STUN-CC RESP to 10.99.0.2"), but Janus's packets leave through
#    v0 and arrive on v1 with a source address the namespace owns itself, which the kernel drops as martian
#    (accept_local = 0): ICE fails even against Janus's echotest. Chromium, which gathers every interface,
#    only got through on the pair 10.99.0.1 <-> 10.99.0.1 (loopback routing), which no real network has.
#  In the two-namespace network every peer reaches Janus across the veth from its own address, as on a LAN.
#
# As root: unshare --net; otherwise unshare -rn (an unprivileged user namespace; both namespaces are owned by it).
# The server namespace lives as long as a holder process (a sleep), which this script ends when COMMAND exits;
# SFU_NETNS_PIDFILE, when set, receives the holder's pid so a caller can find the server namespace (test.sh's
# cleanup). Exit status: the command's; 125 when no namespace can be made.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

if [ "$(id -u)" = 0 ]; then
	u=(unshare --net)
else
	u=(unshare -rn)
fi
if ! "${u[@]}" true 2>/dev/null; then
	echo "netns.sh: cannot create a network namespace with ${u[*]}" >&2
	exit 125
fi
exec "${u[@]}" -- bash -c '
	set -eu
	ip link set lo up
	ip link add v0 type veth peer name v1
	# The server namespace: a holder process in a namespace of its own.
	unshare --net sleep 2147483647 &
	holder=$!
	disown $holder
	self=$(readlink /proc/self/ns/net)
	for _ in $(seq 100); do
		[ "$(readlink /proc/$holder/ns/net 2>/dev/null)" != "$self" ] && break
		sleep 0.02
	done
	server=/proc/$holder/ns/net
	[ "$(readlink $server)" != "$self" ] || { echo "netns.sh: server namespace not created" >&2; exit 125; }
	[ -z "${SFU_NETNS_PIDFILE:-}" ] || echo $holder >"$SFU_NETNS_PIDFILE"
	ip link set v0 netns $holder
	nsenter --net=$server sh -c "ip link set lo up && ip addr add 10.99.0.1/24 dev v0 && ip link set v0 up"
	ip addr add 10.99.0.2/24 dev v1
	ip link set v1 up
	ip route add default via 10.99.0.1 dev v1
	# Everything still running in the server namespace (Janus, the holder) ends with COMMAND.
	stop_server() {
		ino=$(readlink $server 2>/dev/null) || return 0
		for p in /proc/[0-9]*; do
			[ "$(readlink $p/ns/net 2>/dev/null)" = "$ino" ] && kill -KILL ${p#/proc/} 2>/dev/null
		done
		return 0
	}
	trap stop_server EXIT
	trap "exit 143" TERM INT
	export SFU_JANUS_NETNS=$server SFU_JANUS_IP=10.99.0.1 SFU_CLIENT_IP=10.99.0.2
	status=0
	"$@" || status=$?
	exit $status' netns "$@"
