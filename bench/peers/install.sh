#!/usr/bin/env bash
# Installs what the peer benchmark (bench/peers/run.sh) needs, or says how:
# Debian's python3-locust (Locust and its FastHttpUser) and tcpdump (the wire
# count), and Artillery from npm, pinned, into OUT/node_modules. vegeta is
# cutover's own Go dependency: run.sh builds it from the module cache.
#
#   bench/peers/install.sh [OUT]     (default out/peers)
set -euo pipefail

OUT=${1:-out/peers}
ARTILLERY_VERSION=2.0.21 # the last 2.x release that runs on Node.js 18 and 20 (2.0.22 wants 22.13)

fail() {
  echo "bench-peers: $*" >&2
  exit 2
}

need_apt=()
[ -x /usr/bin/locust ] || need_apt+=(python3-locust)
command -v tcpdump >/dev/null 2>&1 || need_apt+=(tcpdump)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "missing ${need_apt[*]}: run 'sudo apt-get install -y ${need_apt[*]}' (Debian 12 or later), then make bench-peers again"
  fi
  echo "installing ${need_apt[*]} (apt-get install -y ${need_apt[*]})"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null; } ||
    fail "apt-get could not install ${need_apt[*]}: is a Debian mirror reachable?"
fi

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  fail "Node.js 18.16 or later and npm are needed for Artillery: 'sudo apt-get install -y nodejs npm'"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 16) ? 0 : 1)' ||
  fail "Artillery $ARTILLERY_VERSION needs Node.js 18.16 or later; this is $(node --version)"

have=$(node -p "require(require('path').resolve('$OUT/node_modules/artillery/package.json')).version" 2>/dev/null || true)
if [ "$have" != "$ARTILLERY_VERSION" ]; then
  echo "installing artillery@$ARTILLERY_VERSION into $OUT/node_modules (npm; about a minute)"
  mkdir -p "$OUT"
  # Artillery's Playwright engine would fetch a browser; the benchmark needs none.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$OUT" --no-audit --no-fund --save-exact \
    --loglevel=error "artillery@$ARTILLERY_VERSION" >"$OUT/npm-install.log" 2>&1 ||
    fail "npm could not install artillery@$ARTILLERY_VERSION (is the npm registry reachable?): see $OUT/npm-install.log"
fi
