#!/usr/bin/env bash
# install-deps.sh - install everything janus-sfu needs to build, test and run its demo (Debian bookworm).
#
#   ./scripts/install-deps.sh
#
# Idempotent and fast when nothing is missing: the Debian packages are checked with dpkg-query first and
# apt-get runs only for what is absent (as root, or through sudo). Then the npm packages of package.json
# are installed in the repository root (npm ci with the lock file, npm install without).
# Works without a tty (CI). Node.js and npm come with the machine image; Debian's npm package is never
# installed (it cannot be installed next to it).
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
	# build
	build-essential autoconf automake libtool pkg-config
	janus janus-dev libglib2.0-dev libjansson-dev libssl-dev libconfig-dev libjwt-dev openssl libhiredis-dev
	# fuzzing, sanitizers (gcc's ThreadSanitizer, AddressSanitizer and UBSan runtimes: scripts/sanitize.sh),
	# memory checks
	clang clang-format libclang-rt-14-dev libtsan2 libasan8 libubsan1 valgrind
	# sfu-bot (headless WebRTC load client)
	libnice-dev libsrtp2-dev libcurl4-openssl-dev
	# benchmarks (make bench): plots
	gnuplot-nox
	# browser tests (Chromium and Firefox), network namespaces, process control
	chromium firefox-esr iproute2 util-linux procps curl ca-certificates
	# the shared state of several nodes (state backend "redis", tests/e2e/cluster.test.mjs, make bench-state)
	redis-server redis-tools
	# the Debian package (make deb) and docs/DEPLOYMENT.md followed by tests/e2e/deploy.test.mjs
	dpkg-dev debhelper fakeroot git nginx coturn jq
)
# Node.js: the machine image ships its own; only if node is missing do we ask Debian for it.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	if [ "$(id -u)" = 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null 2>&1; then
		sudo=(sudo -n)
	else
		echo "install-deps: missing packages (${missing[*]}) and not root, no sudo" >&2
		exit 1
	fi
	# Wait for another apt/dpkg run to finish instead of failing on its lock.
	apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=900)
	"${sudo[@]}" apt-get update -q -o DPkg::Lock::Timeout=900 </dev/null
	"${sudo[@]}" apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null
else
	echo "install-deps: Debian packages already installed"
fi

if ! command -v npm >/dev/null 2>&1; then
	echo "install-deps: npm not found. It ships with the machine's Node.js; Debian's npm package cannot be" >&2
	echo "install-deps: installed next to it. Install Node.js 20 with npm (e.g. the nodesource nodejs package)." >&2
	exit 1
fi

# npm packages (ws, playwright-core, puppeteer-core, naf-janus-adapter 4.0.1). Skip when node_modules matches the lock.
if [ -f package.json ]; then
	stamp=node_modules/.install-stamp
	if [ -f "$stamp" ] && [ "$stamp" -nt package.json ] && { [ ! -f package-lock.json ] || [ "$stamp" -nt package-lock.json ]; }; then
		echo "install-deps: npm packages up to date"
	else
		export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
		# playwright-core and puppeteer-core never download a browser (the tests use Debian's chromium and
		# firefox-esr); make sure no postinstall tries either.
		export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
		if [ -f package-lock.json ]; then
			npm ci --no-progress </dev/null
		else
			npm install --no-progress </dev/null
		fi
		touch "$stamp"
	fi
fi
echo "install-deps: done"
