#!/bin/sh
# TAP: the module layering of docs/DESIGN.md ("Modules") and STYLE.md §5, checked on the
# #include lines (and the few call sites that matter) of plugins/. One TAP line per rule.
top=${top_srcdir:-$(dirname "$0")/..}
p="$top/plugins"
n=0
fail=0

# ok_if RULE OFFENDERS: pass when OFFENDERS (one per line) is empty.
ok_if() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/#   /'
		fail=1
	fi
}

# includes FILE...: the quoted/bracketed names of their #include lines, "file: name" per line.
includes() {
	for f in "$@"; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$f" |
			sed "s|^|$(basename "$f"): |"
	done
}

# sfu_includes FILE...: the sfu_*.h headers they include.
sfu_includes() {
	includes "$@" | grep ': sfu_[a-z_]*\.h$'
}

# only_allowed MODULE ALLOWED...: sfu_ headers included by MODULE.{c,h} other than its own and ALLOWED.
only_allowed() {
	m=$1
	shift
	allowed="$m.h"
	for a in "$@"; do allowed="$allowed $a.h"; done
	sfu_includes "$p/$m.c" "$p/$m.h" | while IFS= read -r line; do
		hdr=${line#*: }
		case " $allowed " in
			*" $hdr "*) ;;
			*) echo "$line" ;;
		esac
	done
}

echo "1..11"

# 1. Only sfu_core calls the core: no janus_callbacks member call and no gateway-> elsewhere.
#    (janus_sfu.c names the type in init() only to hand the pointer to sfu_core_init.)
calls='->[[:space:]]*\(push_event\|relay_rtp\|relay_rtcp\|relay_data\|send_pli\|send_pli_stream\|send_remb\|close_pc\|end_session\|events_is_enabled\|notify_event\|auth_is_signed\|auth_is_signature_valid\|auth_signature_contains\)[[:space:]]*('
off=$({
	grep -n -e "$calls" -e 'gateway[[:space:]]*->' "$p"/*.c "$p"/*.h 2>/dev/null | grep -v '/sfu_core\.[ch]:'
	grep -ln 'janus_callbacks' "$p"/*.c "$p"/*.h 2>/dev/null | grep -v -e '/sfu_core\.[ch]$' -e '/janus_sfu\.c$'
})
ok_if "only sfu_core uses janus_callbacks" "$off"

# 2. Only sfu_config reads configuration: libconfig.h, Janus's config.h, janus_config_*.
off=$({
	includes "$p"/*.c "$p"/*.h | grep -e ': libconfig\.h$' -e ': config\.h$' -e ': janus/config\.h$' |
		grep -v '^sfu_config\.c:'
	grep -ln '\<janus_config_\|\<config_read\|\<config_lookup' "$p"/*.c 2>/dev/null | grep -v '/sfu_config\.c$'
})
ok_if "only sfu_config includes libconfig.h or Janus config.h" "$off"

# 3. The media path never reaches token verification, signalling or configuration parsing
#    (directly or through the sfu_ headers it includes).
closure() {
	todo="$*"
	seen=""
	while [ -n "$todo" ]; do
		set -- $todo
		todo=""
		for f in "$@"; do
			for h in $(sfu_includes "$p/$f" | sed 's/.*: //'); do
				case " $seen " in *" $h "*) continue ;; esac
				seen="$seen $h"
				todo="$todo $h"
			done
		done
	done
	echo $seen
}
off=$(for h in $(closure sfu_relay.c sfu_relay.h); do
	case $h in sfu_token.h | sfu_jwt.h | sfu_signal.h | sfu_config.h) echo "sfu_relay: $h" ;; esac
done)
ok_if "sfu_relay does not include sfu_token.h, sfu_jwt.h, sfu_signal.h or sfu_config.h" "$off"

# 4. sfu_jwt: libc, OpenSSL and jansson only (no GLib, no Janus, no other module).
if [ -f "$p/sfu_jwt.c" ]; then
	off=$(includes "$p/sfu_jwt.c" "$p/sfu_jwt.h" | while IFS= read -r line; do
		hdr=${line#*: }
		case $hdr in
			sfu_jwt.h | jansson.h | openssl/*) ;;
			assert.h | ctype.h | errno.h | inttypes.h | limits.h | pthread.h | stdarg.h | stdbool.h) ;;
			stddef.h | stdint.h | stdio.h | stdlib.h | string.h | strings.h | time.h) ;;
			*) echo "$line" ;;
		esac
	done)
	ok_if "sfu_jwt includes only libc, OpenSSL and jansson headers" "$off"
else
	n=$((n + 1))
	echo "ok $n - sfu_jwt includes only libc, OpenSSL and jansson headers # SKIP plugins/sfu_jwt.c absent"
fi

# 5. Nobody but the glue includes sfu_signal.h (the Admin API reads the counters in sfu_stats).
off=$(includes "$p"/*.c "$p"/*.h | grep ': sfu_signal\.h$' | grep -v -e '^janus_sfu\.c:' -e '^sfu_signal\.[ch]:')
ok_if "only janus_sfu.c includes sfu_signal.h" "$off"

# 6-10. The leaf modules: registry and request know only the error table, errors and stats nothing,
#      events the core and the registry's handle type (docs/DESIGN.md).
ok_if "sfu_registry includes no sfu_ header but sfu_errors.h and sfu_lock.h" \
	"$(only_allowed sfu_registry sfu_errors sfu_lock)"
ok_if "sfu_request includes no sfu_ header but sfu_errors.h" "$(only_allowed sfu_request sfu_errors)"
ok_if "sfu_errors includes no other sfu_ header" "$(only_allowed sfu_errors)"
ok_if "sfu_stats includes no other sfu_ header" "$(only_allowed sfu_stats)"
ok_if "sfu_events includes only sfu_errors.h, sfu_core.h and sfu_registry.h" \
	"$(only_allowed sfu_events sfu_errors sfu_core sfu_registry)"

# 11. Only the state backend talks to Redis: hiredis.h in sfu_state.c alone (never on the join or media path).
off=$(includes "$p"/*.c "$p"/*.h | grep -e ': hiredis\.h$' -e ': hiredis/' | grep -v '^sfu_state\.c:')
ok_if "only sfu_state includes hiredis" "$off"

exit $fail
