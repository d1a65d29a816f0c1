#!/usr/bin/env bash
# Build a Weir plugin written in Python into a WebAssembly component.
#
#   bash guest-sdk/python/build.sh SRC_DIR OUT.wasm
#
# SRC_DIR contains the module `app.py`, which defines the class `Handler` (usually
# `Handler = weir_plugin.export(init, process)`), and any other modules it imports.
# Run guest-sdk/python/install.sh once first. WEIR_TOOLCHAINS sets where it installed
# componentize-py (default ~/.cache/weir/toolchains).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 SRC_DIR OUT.wasm" >&2
    exit 2
fi
src_dir="$1"
out="$2"

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit_dir="$sdk_dir/../wit"
toolchains="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}"
tool="$toolchains/python/venv/bin/componentize-py"

if [[ ! -x "$tool" ]]; then
    echo "error: componentize-py not found at $tool; run: bash $sdk_dir/install.sh" >&2
    exit 1
fi
if [[ ! -f "$src_dir/app.py" ]]; then
    echo "error: $src_dir/app.py not found; the plugin's entry module must be app.py" >&2
    exit 1
fi

# componentize-py runs app.py at build time and writes bytecode next to every module it
# imports, so it builds from copies to keep __pycache__ folders out of the sources.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/app" "$stage/sdk"
tar -C "$src_dir" --exclude=__pycache__ --exclude=.venv --exclude=.git --exclude='*.wasm' \
    -cf - . | tar -C "$stage/app" -xf -
cp -R "$sdk_dir/weir_plugin" "$stage/sdk/"

mkdir -p "$(dirname "$out")"
# componentize-py also adds the site-packages of an active virtual environment to the
# path, so a plugin's pure-Python dependencies can come from there.
"$tool" -d "$wit_dir" -w plugin componentize app \
    -p "$stage/app" -p "$stage/sdk" -o "$out"
echo "built $out ($(du -h "$out" | cut -f1))"
