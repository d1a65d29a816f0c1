#!/usr/bin/env bash
# Run a Python plugin's unit tests (files named test_*.py in SRC_DIR) on the host's CPython.
#
#   bash guest-sdk/python/test.sh SRC_DIR
#
# The tests import the plugin module and `weir_plugin` directly, on stub bindings that
# componentize-py generates from the WIT, so they need no component and no Weir. The
# stubs use typing.Self, so this needs Python 3.11 or later. To run a built component
# against fixtures, use `weir test` instead.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 SRC_DIR" >&2
    exit 2
fi
src_dir="$(cd "$1" && pwd)"

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchains="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}"
tool="$toolchains/python/venv/bin/componentize-py"
if [[ ! -x "$tool" ]]; then
    echo "error: componentize-py not found at $tool; run: bash $sdk_dir/install.sh" >&2
    exit 1
fi

bindings="$(mktemp -d)"
trap 'rm -rf "$bindings"' EXIT
"$tool" -d "$sdk_dir/../wit" -w plugin bindings "$bindings" >/dev/null

cd "$src_dir"
PYTHONPATH="$src_dir:$sdk_dir:$bindings" PYTHONDONTWRITEBYTECODE=1 \
    python3 -m unittest discover --start-directory . --pattern 'test_*.py'
