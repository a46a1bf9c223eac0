#!/bin/sh
# run-bench.sh - WebRTC benchmarks: janus.plugin.sfu and janus.plugin.videoroom side by side (issue #5)
#
#   make bench            (or: top_builddir=. bench/run-bench.sh)
#
# Every scenario starts a fresh private Janus in its own network namespace
# (tests/bot/with-janus.sh) pinned to core $JANUS_CPU, with the load client
# tools/sfu-bot/sfu-bot pinned to core $BOT_CPU; the bot reads Janus's CPU
# (/proc/PID/stat) and RSS over its measurement window. Both plugins run back to
# back with the same load, and the ratio ours/VideoRoom is printed.
#   (1) token verification: make bench-verify, when that target exists
#   (2) join storm: $STORM_N participants joining as fast as they can
#       ($STORM_CONCURRENCY in flight); RS512 tokens for ours when
#       tools/sfu-token is built, none for VideoRoom
#   (3) relay: $RELAY_P publishers x $RELAY_S subscribers each, $RELAY_S_SECONDS s
#   (4) scaling: one publisher to S = $SCALING_S subscribers -> JSON + PNG (gnuplot)
#   (5) Janus RSS per connected participant ($MEM_P publishers + 1 subscriber each)
#   (6) capacity: the largest full-mesh room (and the most participants in rooms
#       of 8) per Janus setting (default, event_loops) and SRTP profile, ours and
#       VideoRoom, with the bottleneck of each limit (bench/capacity.mjs: its
#       CAP_* variables; CAP_QUICK=1 for a short version, CAPACITY=0 to skip)
# BENCH_ONLY="storm relay scaling memory capacity" runs only the scenarios named
# (make bench-capacity: BENCH_ONLY=capacity).
# Results: bench/results/<UTC date>/ (one JSON per run, summary.json, summary.md,
# scaling.png) and bench/results/latest -> that folder. Not part of make check.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$here/.." && pwd)}
bot=${SFU_BOT:-$top/tools/sfu-bot/sfu-bot}
with_janus="$here/../tests/bot/with-janus.sh"
export SFU_PLUGIN_SO=${SFU_PLUGIN_SO:-$top/plugins/.libs/libjanus_sfu.so}

JANUS_CPU=${JANUS_CPU:-0}
BOT_CPU=${BOT_CPU:-1}
STORM_N=${STORM_N:-500}
STORM_CONCURRENCY=${STORM_CONCURRENCY:-100}
STORM_ROOM_SIZE=${STORM_ROOM_SIZE:-0}
RELAY_P=${RELAY_P:-4}
RELAY_S=${RELAY_S:-8}
RELAY_S_SECONDS=${RELAY_SECONDS:-30}
AUDIO_PPS=${AUDIO_PPS:-50}
VIDEO_PPS=${VIDEO_PPS:-100}
SCALING_S=${SCALING_S:-1 2 4 8 16 32}
SCALING_SECONDS=${SCALING_SECONDS:-10}
SCALING_VIDEO_PPS=${SCALING_VIDEO_PPS:-250}
MEM_P=${MEM_P:-50}
SRTP=${SRTP:-cm}
CAPACITY=${CAPACITY:-1}
BENCH_ONLY=${BENCH_ONLY:-}
# want SCENARIO: whether BENCH_ONLY (empty: all) names it
want() {
	[ -z "$BENCH_ONLY" ] && return 0
	case " $BENCH_ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

for f in "$bot" "$SFU_PLUGIN_SO"; do
	[ -f "$f" ] || { echo "run-bench.sh: $f is missing (make sfu-bot all)" >&2; exit 1; }
done
command -v janus >/dev/null || { echo "run-bench.sh: janus is not installed" >&2; exit 1; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$here/results/$stamp"
mkdir -p "$out"
ln -sfn "$stamp" "$here/results/latest"
log="$out/run.log"
echo "results in $out"

# --- machine and versions -------------------------------------------------
{
	echo "{"
	echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
	echo "  \"cpu\": \"$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)\","
	echo "  \"cores\": $(nproc),"
	echo "  \"kernel\": \"$(uname -r)\","
	echo "  \"os\": \"$(. /etc/os-release && echo "$PRETTY_NAME")\","
	echo "  \"janus\": \"$(dpkg-query -W -f='${Version}' janus 2>/dev/null || echo unknown)\","
	echo "  \"libsrtp2\": \"$(pkg-config --modversion libsrtp2 2>/dev/null || echo unknown)\","
	echo "  \"libnice\": \"$(pkg-config --modversion nice 2>/dev/null || echo unknown)\","
	echo "  \"openssl\": \"$(openssl version | cut -d' ' -f2)\","
	echo "  \"commit\": \"$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown)\","
	echo "  \"janus_event_loops\": \"${JANUS_EVENT_LOOPS:-1 (one per core: Janus is pinned to one)}\","
	echo "  \"srtp\": \"$SRTP\""
	echo "}"
} >"$out/machine.json"

# bot PLUGIN NAME [janus options] -- [bot options]: one scenario on a fresh Janus
run() {
	plugin=$1 name=$2
	shift 2
	jopts=
	while [ "$1" != "--" ]; do jopts="$jopts $1"; shift; done
	shift
	echo "== $name ($plugin)" | tee -a "$log"
	# shellcheck disable=SC2086
	"$with_janus" --cpu "$JANUS_CPU" --debug 2 $jopts -- sh -c \
		'exec taskset -c "$0" "$@" --watch-pid "$JANUS_PID"' "$BOT_CPU" "$bot" \
		--url http://127.0.0.1:8088/janus --plugin "$plugin" --srtp "$SRTP" \
		--json "$out/$name-$plugin.json" "$@" >/dev/null 2>>"$log" || echo "   (not every peer came up)" | tee -a "$log"
}

# --- (1) token verification -------------------------------------------------
if ! want verify; then
	:
elif make -C "$top" -n bench-verify >/dev/null 2>&1; then
	echo "== bench-verify" | tee -a "$log"
	make -C "$top" -s bench-verify 2>&1 | tee "$out/bench-verify.txt"
else
	echo "== bench-verify: no such make target, skipped" | tee -a "$log"
fi

# --- tokens for our plugin ---------------------------------------------------
sfu_janus_opts=
sfu_bot_token=
if [ -x "$top/tools/sfu-token" ]; then
	keys=$(mktemp -d /tmp/sfu-bench-keys.XXXXXX) # a throw-away key pair, never in the results
	trap 'rm -rf "$keys"' EXIT
	openssl genrsa -out "$keys/private.pem" 2048 2>/dev/null
	openssl rsa -in "$keys/private.pem" -pubout -out "$keys/public.pem" 2>/dev/null
	sfu_janus_opts="--auth-key $keys/public.pem"
	sfu_bot_token="$top/tools/sfu-token mint --key $keys/private.pem --room %r --user %u --join --ttl 3600"
	echo "janus.plugin.sfu runs with RS512 tokens (tools/sfu-token)" | tee -a "$log"
else
	echo "tools/sfu-token is not built: janus.plugin.sfu runs OPEN (no token check)" | tee -a "$log"
fi
# run_sfu NAME [bot options]: our plugin, with tokens when available
run_sfu() {
	name=$1
	shift
	if [ -n "$sfu_bot_token" ]; then
		# shellcheck disable=SC2086
		run sfu "$name" $sfu_janus_opts -- --token-cmd "$sfu_bot_token" "$@"
	else
		run sfu "$name" -- "$@"
	fi
}

# --- (2) join storm -----------------------------------------------------------
storm="-P 0 -J $STORM_N --room-size $STORM_ROOM_SIZE -c $STORM_CONCURRENCY -d 1 --timeout 20"
if want storm; then
	# shellcheck disable=SC2086
	run_sfu storm $storm
	# shellcheck disable=SC2086
	run videoroom storm -- $storm
fi

# --- (3) relay ----------------------------------------------------------------
relay="-P $RELAY_P -S $RELAY_S --audio-pps $AUDIO_PPS --video-pps $VIDEO_PPS -d $RELAY_S_SECONDS"
if want relay; then
	# shellcheck disable=SC2086
	run_sfu relay $relay
	# shellcheck disable=SC2086
	run videoroom relay -- $relay
fi

# --- (4) scaling --------------------------------------------------------------
want scaling || SCALING_S=
for s in $SCALING_S; do
	sc="-P 1 -S $s --audio-pps $AUDIO_PPS --video-pps $SCALING_VIDEO_PPS -d $SCALING_SECONDS"
	# shellcheck disable=SC2086
	run_sfu "scaling-$s" $sc
	# shellcheck disable=SC2086
	run videoroom "scaling-$s" -- $sc
done

# --- (5) memory ---------------------------------------------------------------
mem="-P $MEM_P -S 1 --audio-pps 10 --video-pps 10 -d 2"
if want memory; then
	# shellcheck disable=SC2086
	run_sfu memory $mem
	# shellcheck disable=SC2086
	run videoroom memory -- $mem
fi

# --- (6) capacity ---------------------------------------------------------------
if [ "$CAPACITY" != 0 ] && want capacity; then
	echo "== capacity (bench/capacity.mjs)" | tee -a "$log"
	CAP_AUTH_KEY=${sfu_janus_opts#--auth-key } CAP_TOKEN_CMD=$sfu_bot_token JANUS_CPU=$JANUS_CPU BOT_CPU=$BOT_CPU \
		AUDIO_PPS=$AUDIO_PPS VIDEO_PPS=$VIDEO_PPS top_builddir=$top SFU_BOT=$bot node "$here/capacity.mjs" "$out"
fi

# --- summary --------------------------------------------------------------------
node "$here/summarize.mjs" "$out" | tee "$out/summary.md"
if [ -z "$(ls "$out"/scaling-*.json 2>/dev/null)" ]; then
	:
elif command -v gnuplot >/dev/null; then
	sh "$here/plot.sh" "$out" && echo "plot: $out/scaling.png"
else
	echo "gnuplot is not installed (apt-get install gnuplot-nox): no PNG" >&2
fi
