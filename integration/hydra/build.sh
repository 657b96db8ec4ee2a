#!/usr/bin/env bash
# build.sh builds the Ory Hydra binary that the integration/hydra tests run, from the
# pinned tools module next to this script, into a cache outside the source tree.
#
# Usage: integration/hydra/build.sh [--force]
#
# The binary goes to $CUTOVER_HYDRA_BIN if set, else to
#   ${XDG_CACHE_HOME:-$HOME/.cache}/cutover/hydra/<version>/hydra   (Linux)
#   $HOME/Library/Caches/cutover/hydra/<version>/hydra              (macOS)
# which is where package integration/hydra looks when CUTOVER_HYDRA_BIN is unset.
# A build is skipped when that binary exists and was built from the same tools
# go.mod/go.sum and flags (recorded in hydra.stamp beside it); --force rebuilds.
# The binary's path is printed on stdout, progress on stderr, so that
#   CUTOVER_HYDRA_BIN=$(integration/hydra/build.sh)
# works. A cold build takes 2 to 5 minutes on 2 cores (module download, then a CGO
# build of Hydra and go-sqlite3); a cached one returns at once.
set -euo pipefail

readonly VERSION=v2.3.0
readonly PKG=github.com/ory/hydra/v2
readonly TAGS=sqlite,sqlite_omit_load_extension
readonly LDFLAGS="-X github.com/ory/hydra/v2/driver/config.Version=${VERSION}"

die() {
	printf 'integration/hydra/build.sh: %s\n' "$*" >&2
	exit 1
}
say() { printf 'integration/hydra/build.sh: %s\n' "$*" >&2; }

force=0
for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	-h | --help)
		sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 0
		;;
	*) die "unknown argument '$arg' (usage: build.sh [--force])" ;;
	esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$here/tools"
[[ -f "$tools/go.mod" && -f "$tools/go.sum" ]] || die "missing $tools/go.mod or go.sum"

command -v go >/dev/null 2>&1 || die "'go' is not on PATH; install Go 1.26 or newer"

if [[ -n "${CUTOVER_HYDRA_BIN:-}" ]]; then
	bin="$CUTOVER_HYDRA_BIN"
else
	if [[ "$(uname -s)" == Darwin ]]; then
		cache="$HOME/Library/Caches"
	else
		cache="${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}"
	fi
	bin="$cache/cutover/hydra/$VERSION/hydra"
fi
dir=$(dirname "$bin")
stampfile="$bin.stamp"

# The stamp names everything that decides the binary's content, so an edited tools
# module or a new Go toolchain rebuilds even though the version did not change.
stamp=$(
	{
		printf '%s\n' "$VERSION" "$TAGS" "$LDFLAGS" "$(go env GOVERSION GOOS GOARCH)"
		cat "$tools/go.mod" "$tools/go.sum"
	} | sha256sum | cut -d' ' -f1
)

if ((force == 0)) && [[ -x "$bin" && -f "$stampfile" && "$(cat "$stampfile")" == "$stamp" ]]; then
	say "hydra $VERSION is up to date: $bin"
	printf '%s\n' "$bin"
	exit 0
fi

cc="${CC:-cc}"
command -v "$cc" >/dev/null 2>&1 ||
	die "no C compiler ('$cc' not on PATH): Hydra's SQLite driver needs CGO; on Debian run: apt-get install -y gcc libc6-dev"
mkdir -p "$dir" || die "cannot create $dir"
tmp=$(mktemp "$dir/.hydra.XXXXXX") || die "cannot write in $dir"
trap 'rm -f "$tmp"' EXIT

say "building hydra $VERSION into $bin (a cold build takes a few minutes)"
start=$SECONDS
# GOWORK=off: a go.work above this directory must not pull the tools module into
# anything else. GOFLAGS is reset so that a caller's -mod=vendor or similar does not
# apply to this module.
if ! (cd "$tools" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=1 \
	go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$tmp" "$PKG"); then
	die "go build of $PKG@$VERSION failed (see the compiler output above)"
fi
"$tmp" version >/dev/null 2>&1 || die "the built binary does not run: $tmp version failed"
mv -f "$tmp" "$bin"
trap - EXIT
printf '%s\n' "$stamp" >"$stampfile"
say "built hydra $VERSION in $((SECONDS - start))s: $bin"
printf '%s\n' "$bin"
