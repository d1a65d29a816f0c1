#!/usr/bin/env bash
# Builds a Go plugin into a Weir plugin component.
#
#   bash guest-sdk/go/build.sh SRC_DIR OUT.wasm
#
# SRC_DIR is a Go module whose package main imports "weirplugin" and calls
# weirplugin.Export from an init function (see template/). The script compiles it with
# GOOS=wasip1 GOARCH=wasm as a reactor module (-buildmode=c-shared), in a Go workspace that
# adds this SDK, and turns the module into a component with `weir plugin componentize`.
# Run install.sh once first.
#
# Environment:
#   WEIR_BIN         the weir binary (default: weir on PATH)
#   GO_BUILD_FLAGS   extra flags for `go build`, such as -race or -gcflags=all=-N
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: build.sh SRC_DIR OUT.wasm" >&2
    exit 2
fi
src_dir=$1
out=$2

sdk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
source "$sdk_dir/versions.sh"
weir="${WEIR_BIN:-weir}"

fail() {
    echo "build.sh: $*" >&2
    exit 1
}

go_version=$(go env GOVERSION 2>/dev/null || true)
if [[ -z $go_version ]] || ! bash "$sdk_dir/install.sh" --check-go >/dev/null 2>&1; then
    fail "Go $GO_MIN_VERSION or newer is missing (found '${go_version:-none}'); run: bash $sdk_dir/install.sh"
fi
if ! "$weir" plugin componentize --help >/dev/null 2>&1; then
    fail "'$weir plugin componentize' is not available; set WEIR_BIN to a weir binary that has it"
fi
[[ -f $src_dir/go.mod ]] || fail "$src_dir/go.mod not found; SRC_DIR must be a Go module"
src_dir=$(cd "$src_dir" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/weir-go-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A workspace file outside the sources makes the SDK module `weirplugin` visible to the
# plugin without a replace directive that would hard-code the SDK's location.
go_release=$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
cat >"$work/go.work" <<WORK
go $go_release

use (
	$src_dir
	$sdk_dir
)
WORK

# c-shared makes a reactor: the host calls _initialize, which starts the Go runtime and
# runs the init functions, and then the exports. main never runs.
# shellcheck disable=SC2086 # GO_BUILD_FLAGS is a list of flags.
(cd "$src_dir" && GOWORK="$work/go.work" GOOS=wasip1 GOARCH=wasm \
    go build -buildmode=c-shared -trimpath ${GO_BUILD_FLAGS:-} -o "$work/core.wasm" .)

mkdir -p "$(dirname "$out")"
"$weir" plugin componentize "$work/core.wasm" --output "$out"
echo "built $out ($(du -h "$out" | cut -f1))"
