#!/usr/bin/env bash
# build.sh - build the plugin, the tools and the tests: autogen, configure, make.
#
#   ./scripts/build.sh [extra configure arguments]
#
# With CI=true warnings are errors (--enable-werror). configure is re-run only when the build tree is not
# configured yet or the arguments changed, so repeated runs are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")
if [ "${CI:-}" = true ]; then
	args=(--enable-werror "${args[@]}")
fi

stamp=.run/configure-args
mkdir -p .run
want="${args[*]}"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	./autogen.sh
fi
if [ ! -f Makefile ] || [ ! -f config.status ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || [ configure -nt config.status ]; then
	./configure "${args[@]}"
	printf '%s' "$want" >"$stamp"
fi
make -j"${MAKE_JOBS:-2}"
# The load client (sfu-bot) is not part of "all"; its test runs in the suite.
make -j"${MAKE_JOBS:-2}" sfu-bot
