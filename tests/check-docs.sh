#!/bin/sh
# TAP: every row of the error table (plugins/sfu_errors.h) is documented in docs/PROTOCOL.md,
# every admin request of plugins/sfu_admin.c is listed there, and every test file that the scripts,
# the README and docs/ name (tests/....c|.h|.sh|.mjs) exists.
top=${top_srcdir:-$(dirname "$0")/..}
doc="$top/docs/PROTOCOL.md"
msgs=$(sed -n 's/.*XX(SFU_[A-Z_]*, "\([a-z_]*\)", \(SFU_PARSE_MSG\|"\([^"]*\)"\)).*/\3/p' "$top/plugins/sfu_errors.h" | grep -v '^$')
# Messages split over two lines in the table.
msgs="$msgs
$(grep -A1 'XX(SFU_ERR_PUBLISHER_NOT_READY' "$top/plugins/sfu_errors.h" | sed -n 's/^[[:space:]]*"\(.*\)")[[:space:]]*\\$/\1/p')"
admin=$(sed -n 's/^[[:space:]]*{"\([a-z_]*\)", [a-z_]*},$/\1/p' "$top/plugins/sfu_admin.c")
n=0
fail=0
plan=$(printf '%s\n%s\n' "$msgs" "$admin" | grep -c .)
echo "1..$((plan + 2))"
n=$((n + 1))
if grep -q 'data did not match any variant of untagged enum OptionalField' "$doc"; then
	echo "ok $n - parse error message documented"
else
	echo "not ok $n - parse error message documented"; fail=1
fi
printf '%s\n' "$msgs" | grep . > "${TMPDIR:-/tmp}/sfu-msgs.$$"
while IFS= read -r m; do
	n=$((n + 1))
	if grep -qF -- "$m" "$doc"; then echo "ok $n - documented: $m"; else echo "not ok $n - undocumented error: $m"; fail=1; fi
done < "${TMPDIR:-/tmp}/sfu-msgs.$$"
rm -f "${TMPDIR:-/tmp}/sfu-msgs.$$"
for r in $admin; do
	n=$((n + 1))
	if grep -qF "\"request\":\"$r\"" "$doc"; then echo "ok $n - admin request documented: $r"; else echo "not ok $n - admin request undocumented: $r"; fail=1; fi
done
n=$((n + 1))
missing=$(for f in "$top"/scripts/*.sh "$top"/README.md "$top"/docs/*.md; do
	grep -o 'tests/[A-Za-z0-9_./-]*\.\(mjs\|c\|h\|sh\)\b' "$f" | sort -u | while IFS= read -r t; do
		[ -e "$top/$t" ] || echo "${f#"$top"/}: $t"
	done
done)
if [ -z "$missing" ]; then
	echo "ok $n - the test files named in scripts/, README.md and docs/ exist"
else
	echo "not ok $n - the test files named in scripts/, README.md and docs/ exist"
	printf '%s\n' "$missing" | sed 's/^/#   /'
	fail=1
fi
exit $fail
