#!/usr/bin/env bash
# Runs `go vet` and `go test` on a Go plugin on the machine's own platform, with the SDK
# module `weirplugin` visible as build.sh makes it.
#
#   bash guest-sdk/go/test.sh SRC_DIR [GO_TEST_FLAGS...]
#
# On the host platform the SDK has no WebAssembly exports, so tests call the plugin's
# Process method directly; weirplugin.Log writes to standard error.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: test.sh SRC_DIR [GO_TEST_FLAGS...]" >&2
    exit 2
fi
src_dir=$(cd "$1" && pwd)
shift
sdk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/weir-go-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
go_release=$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
printf 'go %s\n\nuse (\n\t%s\n\t%s\n)\n' "$go_release" "$src_dir" "$sdk_dir" >"$work/go.work"

cd "$src_dir"
GOWORK="$work/go.work" go vet ./...
GOWORK="$work/go.work" go test "$@" ./...
