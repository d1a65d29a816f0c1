#!/usr/bin/env bash
# Build a Weir plugin written in Python into a WebAssembly component.
#
#   bash guest-sdk/python/build.sh SRC_DIR OUT.wasm
#
# SRC_DIR holds the module `app.py`, which defines the class `Handler` (usually
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

mkdir -p "$(dirname "$out")"
# componentize-py adds the site-packages of an active virtual environment to the path,
# so a plugin's pure-Python dependencies can come from there. Only what app.py imports
# ends up in the component.
"$tool" -d "$wit_dir" -w plugin componentize app \
    -p "$src_dir" -p "$sdk_dir" -o "$out"
echo "built $out ($(du -h "$out" | cut -f1))"
