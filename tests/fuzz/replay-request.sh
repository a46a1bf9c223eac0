#!/bin/sh
# Replay the request fuzz corpus through the request/JSEP parsers without libFuzzer (TAP on stdout).
# Any crash, sanitizer report or invariant violation (abort) fails the test.
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
top_builddir=${top_builddir:-$top_srcdir}
exec "$top_builddir/tests/fuzz/replay-request" "$top_srcdir/tests/fuzz/corpus/request"
