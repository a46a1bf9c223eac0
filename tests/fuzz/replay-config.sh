#!/bin/sh
# Replay the config fuzz corpus through the configuration loader (both formats) without libFuzzer (TAP on stdout).
# Any crash, sanitizer report or invariant violation (abort) fails the test.
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
top_builddir=${top_builddir:-$top_srcdir}
exec "$top_builddir/tests/fuzz/replay-config" "$top_srcdir/tests/fuzz/corpus/config"
