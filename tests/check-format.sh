#!/bin/sh
# TAP: every C source follows the checked-in .clang-format (Janus's surface style, docs/DESIGN.md).
top=${top_srcdir:-$(dirname "$0")/..}
cd "$top" || exit 99
if ! command -v clang-format >/dev/null 2>&1; then
	echo "1..0 # SKIP clang-format is not installed"
	exit 0
fi
files=$(ls plugins/*.c plugins/*.h tools/*.c tools/sfu-bot/*.c tools/sfu-bot/*.h tests/unit/*.c tests/unit/*.h \
	tests/unit/support/*.c tests/unit/support/*.h tests/fuzz/*.c bench/*.c 2>/dev/null)
set -- $files
echo "1..$#"
n=0
fail=0
for f in $files; do
	n=$((n + 1))
	if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f is not clang-formatted (clang-format -i $f)"
		fail=1
	fi
done
exit $fail
