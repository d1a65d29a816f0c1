#!/usr/bin/env bash
# Builds a C plugin into a Weir plugin component.
#
#   bash guest-sdk/c/build.sh SRC_DIR OUT.wasm
#
# Compiles every *.c file directly in SRC_DIR (not in subfolders, so tests can live in
# one) together with the C SDK and the bindings that wit-bindgen generates from
# guest-sdk/wit/plugin.wit. Then it links a WASI preview 1 reactor module and turns it into
# a component with `weir plugin componentize`. Needs the toolchain of install.sh, and the
# weir binary from $WEIR_BIN (default: `weir` on PATH).
#
# Environment:
#   WEIR_BIN          the weir binary (default: weir)
#   WEIR_TOOLCHAINS   the toolchains cache of install.sh (default: ~/.cache/weir/toolchains)
#   CFLAGS            extra compiler flags, added after the defaults (such as -O0 -g)
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: build.sh SRC_DIR OUT.wasm" >&2
    exit 2
fi
src_dir=$1
out=$2

sdk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wit_dir="$sdk_dir/../wit"
WIT_BINDGEN_VERSION=0.61.0
TOOLCHAINS="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}"
wit_bindgen="$TOOLCHAINS/wit-bindgen-$WIT_BINDGEN_VERSION/bin/wit-bindgen"
weir="${WEIR_BIN:-weir}"

fail() {
    echo "build.sh: $*" >&2
    exit 1
}

if [[ ! -x $wit_bindgen ]] || ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null ||
    [[ ! -f /usr/include/wasm32-wasi/stdlib.h ]]; then
    fail "the C plugin toolchain is missing; run: bash $sdk_dir/install.sh"
fi
if ! "$weir" plugin componentize --help >/dev/null 2>&1; then
    fail "$weir plugin componentize is not available; set WEIR_BIN to a weir binary that has the command"
fi
[[ -d $src_dir ]] || fail "source folder $src_dir not found"

shopt -s nullglob
sources=("$src_dir"/*.c)
shopt -u nullglob
((${#sources[@]} > 0)) || fail "no .c files in $src_dir"

work=$(mktemp -d "${TMPDIR:-/tmp}/weir-c-build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The world is renamed so the generated files cannot clash with a plugin's own plugin.c.
if ! "$wit_bindgen" c "$wit_dir" --world plugin --rename-world weir_bindings \
    --out-dir "$work/bindings" >"$work/wit-bindgen.log" 2>&1; then
    cat "$work/wit-bindgen.log" >&2
    fail "wit-bindgen could not generate the bindings from $wit_dir"
fi

# Debian's clang finds the wasi-libc headers and libraries for this target by itself.
# A reactor has no main: the host calls its exports after running its constructors.
# The 1 MiB stack leaves room for recursive code, because wasm-ld's default is 64 KiB.
flags=(
    --target=wasm32-wasi
    -std=c11 -O2 -Wall -Wextra
    -I "$src_dir" -I "$sdk_dir" -I "$work/bindings"
)
# shellcheck disable=SC2206 # CFLAGS is a list of flags, split on spaces as make does.
flags+=(${CFLAGS:-})

objects=()
index=0
for source in "$sdk_dir/weir_plugin.c" "$work/bindings/weir_bindings.c" "${sources[@]}"; do
    object="$work/$index-$(basename "${source%.c}").o"
    clang "${flags[@]}" -c "$source" -o "$object"
    objects+=("$object")
    index=$((index + 1))
done

clang "${flags[@]}" -mexec-model=reactor -Wl,-z,stack-size=1048576 -Wl,--strip-debug \
    -o "$work/core.wasm" "${objects[@]}" "$work/bindings/weir_bindings_component_type.o"

"$weir" plugin componentize "$work/core.wasm" -o "$out"
