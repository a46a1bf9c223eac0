#!/usr/bin/env bash
# test.sh - THE test command (README, .ci/run): install, build, unit tests, integration and browser tests.
#
#   ./scripts/test.sh            # everything
#   E2E_ONLY=1 ./scripts/test.sh # skip install/build/make check (quick e2e iteration)
#   ./scripts/test.sh tests/e2e/signal.test.mjs   # e2e: only these files
#
# 1. scripts/install-deps.sh, scripts/build.sh
# 2. make check: GLib TAP unit tests, fuzz corpus replays, layering/doc checks (automake harness)
# 3. node --test tests/e2e/ tests/bot/ tests/soak/ inside a private network namespace (scripts/netns.sh): a real Janus
#    1.1.2 with the built plugin per test file, the Janus API over WebSockets, headless Chromium with naf-janus-adapter,
#    sfu-bot, and the 2-minute soak.
# The last line is "N passed, N failed" (make check's PASS/FAIL plus node's pass/fail); exit 1 if anything
# failed. Janus processes and the namespace never outlive this script.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
mkdir -p .run
logdir=$top/.run
export SFU_E2E_TMP=${SFU_E2E_TMP:-$(mktemp -d /tmp/sfu-e2e.XXXXXX)}

passed=0
failed=0
skipped=0
ns_inode=
e2e_pid=

# Kill whatever still runs in the test namespace (Janus, Chromium), by pid, then remove temp files.
cleanup() {
	if [ -n "$e2e_pid" ] && kill -0 "$e2e_pid" 2>/dev/null; then
		kill -TERM "$e2e_pid" 2>/dev/null
		sleep 1
		kill -KILL "$e2e_pid" 2>/dev/null
	fi
	if [ -n "$ns_inode" ]; then
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$ns_inode" ] || continue
			kill -KILL "${p#/proc/}" 2>/dev/null
		done
	fi
	case "$SFU_E2E_TMP" in /tmp/sfu-e2e.*) rm -rf "$SFU_E2E_TMP" ;; esac
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n==== %s\n' "$*"; }

if [ -z "${E2E_ONLY:-}" ]; then
	step "install-deps"
	if ! ./scripts/install-deps.sh; then
		echo "test.sh: install-deps failed"
		echo "0 passed, 1 failed"
		exit 1
	fi

	step "build"
	if ! ./scripts/build.sh; then
		echo "test.sh: build failed"
		echo "0 passed, 1 failed"
		exit 1
	fi

	step "make check"
	make -j"${MAKE_JOBS:-2}" check 2>&1 | tee "$logdir/make-check.log"
	check_status=${PIPESTATUS[0]}
	# The automake summary: "# PASS:  N", "# FAIL:  N", "# ERROR: N", "# XPASS: N", "# SKIP: N".
	count() { sed -n "s/^# $1: *\([0-9][0-9]*\)\$/\1/p" "$logdir/make-check.log" | awk '{s+=$1} END {print s+0}'; }
	c_pass=$(count PASS)
	c_fail=$(($(count FAIL) + $(count ERROR) + $(count XPASS)))
	c_skip=$(count SKIP)
	if [ "$check_status" -ne 0 ] && [ "$c_fail" -eq 0 ]; then
		echo "test.sh: make check failed (exit $check_status) without a failing test: counted as one failure"
		c_fail=1
	fi
	echo "make check: $c_pass passed, $c_fail failed, $c_skip skipped"
	passed=$((passed + c_pass))
	failed=$((failed + c_fail))
	skipped=$((skipped + c_skip))
fi

step "integration and browser tests (node --test, private network namespace)"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/e2e/ tests/bot/ tests/soak/)
tap=$logdir/e2e.tap
: >"$tap"
runner=(node --test --test-concurrency=1 --test-timeout="${E2E_TEST_TIMEOUT_MS:-300000}"
	--test-reporter=spec --test-reporter-destination=stdout
	--test-reporter=tap --test-reporter-destination="$tap" "${files[@]}")
if [ "$(id -u)" = 0 ] || unshare -rn true 2>/dev/null; then
	./scripts/netns.sh "${runner[@]}" &
	e2e_pid=$!
	# The namespace is the one of the runner process (unshare execs sh, which execs node).
	for _ in $(seq 50); do
		ino=$(readlink "/proc/$e2e_pid/ns/net" 2>/dev/null)
		if [ -n "$ino" ] && [ "$ino" != "$(readlink /proc/self/ns/net)" ]; then ns_inode=$ino; break; fi
		sleep 0.1
	done
else
	echo "test.sh: WARNING: no network namespace possible here; running the e2e tests in the host namespace"
	"${runner[@]}" &
	e2e_pid=$!
fi
wait "$e2e_pid"
e2e_status=$?
e2e_pid=
tapcount() { sed -n "s/^# $1 \([0-9][0-9]*\)\$/\1/p" "$tap" | tail -1; }
n_pass=$(tapcount pass)
n_fail=$(tapcount fail)
n_cancel=$(tapcount cancelled)
n_skip=$(tapcount skipped)
n_todo=$(tapcount todo)
if [ -z "$n_pass" ]; then
	echo "test.sh: node --test produced no summary (exit $e2e_status): counted as one failure"
	n_pass=0 n_fail=1 n_cancel=0 n_skip=0 n_todo=0
fi
n_fail=$((n_fail + ${n_cancel:-0}))
if [ "$e2e_status" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
	echo "test.sh: node --test exited $e2e_status without a failing test: counted as one failure"
	n_fail=1
fi
echo "e2e: $n_pass passed, $n_fail failed, $((${n_skip:-0} + ${n_todo:-0})) skipped"
passed=$((passed + n_pass))
failed=$((failed + n_fail))
skipped=$((skipped + ${n_skip:-0} + ${n_todo:-0}))

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
