#!/bin/sh
# The named token suite (TAP). tests/fixtures/tokens/cases.mjs builds keys with the openssl CLI and
# signs every token with Node's crypto (an implementation independent of ours), then this script
# runs `sfu-token verify` on each and checks the verdict AND the reason against expect.tsv.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
tool="$top_builddir/tools/sfu-token"

if ! command -v node >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
	echo "1..0 # SKIP node and the openssl CLI are needed to generate the token suite"
	exit 0
fi
if [ ! -x "$tool" ]; then
	echo "Bail out! $tool not built"
	exit 99
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/sfu-tokens.XXXXXX") || exit 99
trap 'rm -rf "$out"' EXIT INT TERM
if ! node "$top_srcdir/tests/fixtures/tokens/cases.mjs" "$out" >"$out/generator.log" 2>&1; then
	echo "Bail out! token generator failed:"
	sed 's/^/# /' "$out/generator.log"
	exit 99
fi

total=$(grep -vc '^#' "$out/expect.tsv")
echo "1..$total"
n=0
failed=0
tab=$(printf '\t')
while IFS="$tab" read -r name config purpose room user now verdict reason todo; do
	case "$name" in "#"*) continue ;; esac
	n=$((n + 1))
	set -- --config "$out/$config" --room "$room" --purpose "$purpose"
	[ "$user" != "-" ] && set -- "$@" --user "$user"
	[ "$now" != "-" ] && set -- "$@" --now "$now"
	got=$("$tool" verify "$@" "$(cat "$out/tokens/$name.jwt")" 2>"$out/stderr")
	rc=$?
	if [ "$verdict" = "error" ]; then
		# The configuration itself must be refused (fail closed): exit status 2, no verdict.
		if [ $rc -eq 2 ] && [ -z "$got" ]; then
			echo "ok $n - $name: configuration refused ($(head -c 120 "$out/stderr" | tr '\n' ' '))"
		else
			echo "not ok $n - $name: expected the configuration to be refused, got rc=$rc '$got'"
			failed=1
		fi
		continue
	fi
	want="verdict=$verdict reason=$reason"
	want_rc=1
	[ "$verdict" = "ok" ] && want_rc=0
	# A row with a TODO note is a known failure: reported, not counted (an unexpected pass is an XPASS).
	directive=
	[ -n "$todo" ] && [ "$todo" != "-" ] && directive=" # TODO $todo"
	if [ "$got" = "$want" ] && [ $rc -eq $want_rc ]; then
		echo "ok $n - $name: $want$directive"
	else
		echo "not ok $n - $name: expected '$want' (rc $want_rc), got '$got' (rc $rc)$directive"
		sed 's/^/# /' "$out/stderr"
		[ -z "$directive" ] && failed=1
	fi
done <"$out/expect.tsv"
exit $failed
