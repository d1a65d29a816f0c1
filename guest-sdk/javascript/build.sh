#!/usr/bin/env bash
# Builds the JavaScript plugin in SRC_DIR (entry module SRC_DIR/plugin.js) into the Weir
# component OUT.wasm, with the toolchain that install.sh installed.
#
# Usage: bash guest-sdk/javascript/build.sh SRC_DIR OUT.wasm
set -euo pipefail

if (( $# != 2 )); then
  echo "usage: $0 SRC_DIR OUT.wasm" >&2
  exit 2
fi

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchain_dir="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}/javascript"
source_dir="$1"
out_path="$2"

if [[ ! -f "$toolchain_dir/.installed" ]]; then
  echo "error: the JavaScript toolchain is not installed in $toolchain_dir;" \
    "run: bash $sdk_dir/install.sh" >&2
  exit 1
fi
if ! cmp -s "$sdk_dir/package-lock.json" "$toolchain_dir/package-lock.json"; then
  echo "error: the JavaScript toolchain in $toolchain_dir does not match" \
    "$sdk_dir/package-lock.json; run: bash $sdk_dir/install.sh" >&2
  exit 1
fi
if [[ ! -d "$source_dir" ]]; then
  echo "error: plugin folder $source_dir not found" >&2
  exit 1
fi

mkdir -p "$(dirname "$out_path")"
out_path="$(cd "$(dirname "$out_path")" && pwd)/$(basename "$out_path")"

exec node "$sdk_dir/build.mjs" "$toolchain_dir" "$source_dir" "$out_path"
