#!/usr/bin/env bash
# netns.sh - run a command inside a private network namespace made for the WebRTC tests.
#
#   ./scripts/netns.sh COMMAND [ARGS...]
#
# Janus 1.1.2 never gathers ICE candidates on loopback, so the tests run Janus and its clients in a namespace
# holding lo plus a veth pair: v0 = 10.99.0.1/24, v1 = 10.99.0.2/24 (Janus gets ice_enforce_list = "v0").
# Nothing can leave the namespace and no port can clash with the host. As root: unshare --net; otherwise
# unshare -rn (an unprivileged user namespace). The namespace disappears with its last process.
# Exit status: the command's; 125 when no namespace can be made.
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
exec "${u[@]}" -- sh -c '
	set -e
	ip link set lo up
	ip link add v0 type veth peer name v1
	ip addr add 10.99.0.1/24 dev v0
	ip addr add 10.99.0.2/24 dev v1
	ip link set v0 up
	ip link set v1 up
	exec "$@"' netns "$@"
