#!/usr/bin/env bash
# test.sh - THE test command (README, .ci/run): install, build, unit tests, integration and browser tests.
#
#   ./scripts/test.sh            # everything
#   E2E_ONLY=1 ./scripts/test.sh # skip install/build/make check (quick e2e iteration)
#   ./scripts/test.sh tests/e2e/join.test.mjs     # e2e: only these files
#
# 1. scripts/install-deps.sh, scripts/build.sh
# 2. make check: GLib TAP unit tests, fuzz corpus replays, layering/doc checks (automake harness)
# 3. sanitizers (scripts/sanitize.sh, each in a copy of the tree under .run/): every unit test and the
#    registry + access stress test under ThreadSanitizer; the plugin built with ASan+UBSan for step 5.
#    SKIP_SANITIZERS=1 skips steps 3 and 5.
# 4. node --test tests/e2e/ tests/bot/ tests/soak/ inside a private two-namespace network (scripts/netns.sh): a real
#    Janus 1.1.2 with the built plugin per test file (in the server namespace), the Janus API over WebSockets,
#    headless Chromium and Firefox with naf-janus-adapter (in the client namespace, with the test runner), sfu-bot,
#    the leak test and the 2-minute soak.
# 5. the authorization and protocol e2e files again, inside real Janus with the ASan+UBSan plugin (the ASan
#    runtime preloaded); a sanitizer report in any Janus log fails the file that ran it (tests/e2e/lib/janus.mjs).
# The last line is "N passed, N failed" (make check's PASS/FAIL, TSan's tests, node's pass/fail); exit 1 if
# anything failed. Janus processes and the namespaces never outlive this script.
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
# scripts/netns.sh writes the pid of its server namespace's holder here (Janus runs in that namespace).
export SFU_NETNS_PIDFILE=$SFU_E2E_TMP/netns-server.pid
asan_so=
# The e2e files run a second time against the ASan+UBSan plugin: authorization and protocol.
asan_files=(tests/e2e/authz.test.mjs tests/e2e/tokens.test.mjs tests/e2e/join.test.mjs tests/e2e/messages.test.mjs
	tests/e2e/malformed.test.mjs tests/e2e/races.test.mjs tests/e2e/dropin.test.mjs)

# Kill whatever still runs in the test namespaces (Janus, browsers), by pid, then remove temp files.
cleanup() {
	local server_inode=
	if [ -s "$SFU_NETNS_PIDFILE" ]; then
		server_inode=$(readlink "/proc/$(cat "$SFU_NETNS_PIDFILE")/ns/net" 2>/dev/null)
		[ "$server_inode" != "$(readlink /proc/self/ns/net)" ] || server_inode=
	fi
	if [ -n "$e2e_pid" ] && kill -0 "$e2e_pid" 2>/dev/null; then
		kill -TERM "$e2e_pid" 2>/dev/null
		sleep 1
		kill -KILL "$e2e_pid" 2>/dev/null
	fi
	for ino in $ns_inode $server_inode; do
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$ino" ] || continue
			kill -KILL "${p#/proc/}" 2>/dev/null
		done
	done
	case "$SFU_E2E_TMP" in /tmp/sfu-e2e.*) rm -rf "$SFU_E2E_TMP" ;; esac
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
step() { printf '\n==== %s (at %ss)\n' "$*" "$(($(date +%s) - started))"; }

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

	if [ -z "${SKIP_SANITIZERS:-}" ]; then
		step "ThreadSanitizer: unit and stress tests (scripts/sanitize.sh thread)"
		./scripts/sanitize.sh thread 2>&1 | tee "$logdir/tsan.log"
		line=$(grep '^tsan: ' "$logdir/tsan.log" | tail -1)
		t_pass=$(printf '%s' "$line" | sed -n 's/^tsan: \([0-9]*\) passed.*/\1/p')
		t_fail=$(printf '%s' "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
		if [ -z "$t_pass" ] || [ -z "$t_fail" ]; then
			echo "test.sh: the ThreadSanitizer run gave no summary: counted as one failure"
			t_pass=0 t_fail=1
		fi
		passed=$((passed + t_pass))
		failed=$((failed + t_fail))

		step "ASan+UBSan build of the plugin (scripts/sanitize.sh address)"
		if ./scripts/sanitize.sh address 2>&1 | tee "$logdir/asan-build.log"; then
			asan_so=$(tail -1 "$logdir/asan-build.log")
		else
			echo "test.sh: the ASan+UBSan build failed: counted as one failure"
			failed=$((failed + 1))
		fi
	fi
fi

# run_e2e TAP FILE...: node --test on FILE... inside the network namespace, TAP into TAP; adds its counts to
# passed/failed/skipped. The environment (SFU_PLUGIN_SO, JANUS_LD_PRELOAD...) passes through.
run_e2e() {
	local tap=$1
	shift
	: >"$tap"
	local runner=(node --test --test-concurrency=1 --test-timeout="${E2E_TEST_TIMEOUT_MS:-300000}"
		--test-reporter=spec --test-reporter-destination=stdout
		--test-reporter=tap --test-reporter-destination="$tap" "$@")
	ns_inode=
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
	local e2e_status=$?
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
	passed=$((passed + n_pass))
	failed=$((failed + n_fail))
	skipped=$((skipped + ${n_skip:-0} + ${n_todo:-0}))
}

step "integration and browser tests (node --test, private network namespace)"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(tests/e2e/ tests/bot/ tests/soak/)
# run_e2e adds the counts to the totals (an inline copy of it once dropped them: failures did not fail the run).
run_e2e "$logdir/e2e.tap" "${files[@]}"
echo "e2e: $n_pass passed, $n_fail failed, $((${n_skip:-0} + ${n_todo:-0})) skipped"

if [ -n "$asan_so" ]; then
	step "authorization and protocol e2e files inside Janus with the ASan+UBSan plugin"
	reports=$logdir/sanitizer-reports
	rm -rf "$reports"
	# detect_leaks=0: Janus 1.1.2 does not free everything it allocated when it exits, and every plugin call
	# comes from a Janus thread, so an LSan suppression for Janus's allocations would hide the plugin's too.
	# intercept_strstr=0: Janus's SDP parser calls strstr on the rest of the message for every line, and
	# ASan's check of it measures the whole string each time (a 1 MB SDP took 30 s instead of 0.4 s). The
	# plugin calls no strstr. SFU_E2E_SLACK stretches the harness's timeouts (Janus is slower under ASan);
	# RACE_ROUNDS=1: the race tests' repetitions are for the race hunt of step 4, here they check memory.
	SFU_PLUGIN_SO=$asan_so JANUS_LD_PRELOAD=$(gcc -print-file-name=libasan.so) \
		ASAN_OPTIONS=detect_leaks=0:intercept_strstr=0:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		SFU_E2E_SLACK=${SFU_E2E_SLACK:-4} RACE_ROUNDS=1 SFU_SANITIZER_REPORTS=$reports \
		run_e2e "$logdir/e2e-asan.tap" "${asan_files[@]}"
	n_reports=$(find "$reports" -name '*.log' 2>/dev/null | wc -l)
	if [ "$n_reports" -gt 0 ]; then
		echo "test.sh: sanitizer reports in these Janus logs:"
		ls "$reports"
		if [ "$n_fail" -eq 0 ]; then
			failed=$((failed + n_reports))
			n_fail=$n_reports
		fi
	fi
	echo "e2e under ASan+UBSan: $n_pass passed, $n_fail failed, $n_reports Janus logs with sanitizer reports"
fi

echo
echo "test.sh: $(($(date +%s) - started)) s in all"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
