#!/usr/bin/env bash
# sanitize.sh - sanitizer builds of janus-sfu, each in its own copy of the tree.
#
#   ./scripts/sanitize.sh thread    # .run/tsan: build with -fsanitize=thread, run every unit test (and the
#                                   # registry + access stress test) under ThreadSanitizer; fails on any report
#   ./scripts/sanitize.sh address   # .run/asan: build the plugin with -fsanitize=address,undefined (for the
#                                   # e2e files scripts/test.sh runs inside real Janus with it)
#
# automake refuses a VPATH build next to a configured source tree, so each build lives in a copy: the files
# git knows (tracked, and untracked but not ignored) plus the generated build system (configure,
# Makefile.in, ...) of this tree; only what changed since the last run is copied, so rebuilds are incremental.
# The last line of "thread" is "tsan: N passed, N failed, R reports" (tests, ThreadSanitizer reports).
# The last line of "address" is the path of the ASan+UBSan plugin (.so).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
kind=${1:?usage: sanitize.sh thread|address}
jobs=${MAKE_JOBS:-2}

case $kind in
	thread) dir=.run/tsan flags=thread ;;
	address) dir=.run/asan flags=address,undefined ;;
	*)
		echo "sanitize.sh: unknown kind '$kind' (thread or address)" >&2
		exit 2
		;;
esac

# 1. The copy: files whose contents differ are copied with the current time, so make rebuilds exactly what
# changed (a copy keeping the source's time could look older than an object built from other contents).
mkdir -p "$dir"
sync_file() {
	if [ -f "$1" ] && ! cmp -s "$1" "$dir/$1"; then
		mkdir -p "$dir/$(dirname "$1")"
		cp "$1" "$dir/$1"
	fi
}
while IFS= read -r -d '' f; do
	sync_file "$f"
done < <(git ls-files -co --exclude-standard -z)
for f in configure Makefile.in aclocal.m4; do
	sync_file "$f"
done
for f in build-aux/* m4/*; do
	sync_file "$f"
done
cd "$dir" || exit 1
[ -x configure ] || ./autogen.sh >autogen.log 2>&1 || {
	echo "sanitize.sh: autogen failed (see $dir/autogen.log)"
	exit 1
}

# 2. Configure once per set of flags (-O1 -g: usable stacks, tolerable speed).
want="--enable-sanitizers=$flags CFLAGS=-O1 -g"
if [ ! -f config.status ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ] || [ configure -nt config.status ]; then
	if ! ./configure --enable-sanitizers="$flags" CFLAGS="-O1 -g" >configure.log 2>&1; then
		echo "sanitize.sh: configure failed (see $dir/configure.log)"
		exit 1
	fi
	printf '%s' "$want" >.configure-args
fi

if [ "$kind" = address ]; then
	if ! make -j"$jobs" plugins/libjanus_sfu.la >make.log 2>&1; then
		tail -30 make.log
		echo "sanitize.sh: the ASan+UBSan build failed (see $dir/make.log)"
		exit 1
	fi
	echo "$top/$dir/plugins/.libs/libjanus_sfu.so"
	exit 0
fi

# 3. ThreadSanitizer: every unit test, reports counted from the test logs. GLib's own locks are futexes
# TSan cannot see; tests/tsan.supp names the few GLib internals that need it, nothing of ours.
if ! make -j"$jobs" >make.log 2>&1; then
	tail -30 make.log
	echo "sanitize.sh: the ThreadSanitizer build failed (see $dir/make.log)"
	echo "tsan: 0 passed, 1 failed, 0 reports"
	exit 1
fi
# GLib 2.74's slice allocator recycles memory between threads behind its own futex locks: TSan would take a
# recycled block for a race. always-malloc makes every GList/GPtrArray an ordinary malloc TSan follows.
export G_SLICE=always-malloc
export TSAN_OPTIONS="suppressions=$top/tests/tsan.supp halt_on_error=0 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
make -j"$jobs" check-unit >check.log 2>&1
status=$?
grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS)' check.log | grep -v '^PASS' || true
count() { sed -n "s/^# $1: *\([0-9][0-9]*\)\$/\1/p" check.log | awk '{s+=$1} END {print s+0}'; }
pass=$(count PASS)
fail=$(($(count FAIL) + $(count ERROR) + $(count XPASS)))
reports=$(cat tests/unit/*.log 2>/dev/null | grep -c 'WARNING: ThreadSanitizer' || true)
if [ "$reports" -gt 0 ]; then
	grep -l 'WARNING: ThreadSanitizer' tests/unit/*.log | sed 's/^/tsan: reports in /'
	[ "$fail" -gt 0 ] || fail=1
fi
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
	fail=1
fi
echo "tsan: $pass passed, $fail failed, $reports reports"
[ "$fail" -eq 0 ]
