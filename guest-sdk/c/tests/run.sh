#!/usr/bin/env bash
# Builds and runs the native tests of weir_plugin.c with AddressSanitizer, LeakSanitizer
# and UBSan, using the host's C compiler (CC, default cc) and the wit-bindgen of
# install.sh. Build output goes to a temporary folder.
set -euo pipefail

tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sdk_dir="$tests_dir/.."
WIT_BINDGEN_VERSION=0.61.0
wit_bindgen="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}/wit-bindgen-$WIT_BINDGEN_VERSION/bin/wit-bindgen"
if [[ ! -x $wit_bindgen ]]; then
    echo "run.sh: wit-bindgen $WIT_BINDGEN_VERSION is missing; run: bash $sdk_dir/install.sh" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/weir-c-sdk-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$wit_bindgen" c "$sdk_dir/../wit" --world plugin --rename-world weir_bindings \
    --no-object-file --out-dir "$work" >/dev/null 2>&1

# The bindings carry wasm-only attributes (import and export names) that a native
# compiler ignores, so their warnings are off.
"${CC:-cc}" -std=c11 -g -O1 -Wall -Wextra -Wno-attributes \
    -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -I "$sdk_dir" -I "$work" \
    "$tests_dir/test_sdk.c" "$sdk_dir/weir_plugin.c" "$work/weir_bindings.c" \
    -o "$work/test_sdk"
"$work/test_sdk"
