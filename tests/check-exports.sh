#!/bin/sh
# TAP: the plugin exports exactly one symbol, create() (Janus dlopens plugins RTLD_GLOBAL: anything else
# we exported could clash with another plugin), and it loads against Janus's API version.
so=${top_builddir:-.}/plugins/.libs/libjanus_sfu.so
echo "1..2"
if [ ! -f "$so" ]; then
	echo "not ok 1 - $so exists"
	echo "not ok 2 - exports # SKIP no plugin"
	exit 1
fi
echo "ok 1 - $so exists"
syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v -e '^_init$' -e '^_fini$' -e '^_edata$' \
	-e '^_end$' -e '^__bss_start$' | sort | tr '\n' ' ')
if [ "$syms" = "create " ]; then
	echo "ok 2 - only create() is exported"
else
	echo "not ok 2 - exported symbols: $syms"
	exit 1
fi
