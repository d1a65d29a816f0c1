#!/usr/bin/env bash
# Regenerates the Go bindings in internal/bindings from guest-sdk/wit/plugin.wit.
#
#   bash guest-sdk/go/generate.sh
#
# Run it after a change to plugin.wit, and commit the result. It needs the wit-bindgen that
# install.sh installs. wit-bindgen's Go output imports go.bytecodealliance.org/pkg, which the
# Go module proxy does not serve, so this script points those imports at the SDK's own
# internal/witruntime and internal/wittypes packages, which provide the same functions.
set -euo pipefail

sdk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
source "$sdk_dir/versions.sh"
wit_bindgen="$WEIR_GO_TOOLCHAINS/wit-bindgen-$WIT_BINDGEN_VERSION/bin/wit-bindgen"

if [[ ! -x $wit_bindgen ]]; then
    echo "generate.sh: wit-bindgen $WIT_BINDGEN_VERSION not found at $wit_bindgen; run: bash $sdk_dir/install.sh --bindgen" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/weir-go-generate.XXXXXX")
trap 'rm -rf "$work"' EXIT

if ! "$wit_bindgen" go "$sdk_dir/../wit" --world plugin --pkg-name weirplugin/internal/bindings \
    --out-dir "$work/out" >"$work/wit-bindgen.log" 2>&1; then
    cat "$work/wit-bindgen.log" >&2
    echo "generate.sh: wit-bindgen could not generate the bindings" >&2
    exit 1
fi

# The export package is written by hand (it forwards to the SDK), so only the generated
# files are replaced.
rm -rf "$sdk_dir/internal/bindings/imports" "$sdk_dir/internal/bindings/exports/wit_exports"
mkdir -p "$sdk_dir/internal/bindings/exports"
cp -R "$work/out/imports" "$sdk_dir/internal/bindings/"
cp -R "$work/out/exports/wit_exports" "$sdk_dir/internal/bindings/exports/"

find "$sdk_dir/internal/bindings" -name '*.go' -print0 | xargs -0 sed -i \
    -e 's#"go.bytecodealliance.org/pkg/wit/runtime"#"weirplugin/internal/witruntime"#' \
    -e 's#"go.bytecodealliance.org/pkg/wit/types"#"weirplugin/internal/wittypes"#'
gofmt -w "$sdk_dir/internal/bindings"

if grep -rq 'go.bytecodealliance.org' "$sdk_dir/internal/bindings"; then
    echo "generate.sh: the bindings still import go.bytecodealliance.org; extend internal/witruntime or internal/wittypes" >&2
    exit 1
fi
echo "generated $sdk_dir/internal/bindings with wit-bindgen $WIT_BINDGEN_VERSION"
