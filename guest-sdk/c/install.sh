#!/usr/bin/env bash
# Installs the toolchain that build.sh uses to compile C plugins for Weir:
# - Debian 12 packages: clang 14, lld 14 (wasm-ld), wasi-libc (the WASI preview 1 sysroot)
#   and the compiler-rt builtins for wasm32, through apt-get;
# - the wit-bindgen CLI from crates.io, built with cargo into the toolchains cache.
# Running it again when everything is present only checks and prints the versions.
set -euo pipefail

WIT_BINDGEN_VERSION=0.61.0
TOOLCHAINS="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}"
WIT_BINDGEN_ROOT="$TOOLCHAINS/wit-bindgen-$WIT_BINDGEN_VERSION"
APT_PACKAGES=(clang lld wasi-libc libclang-rt-14-dev-wasm32)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    if ! command -v apt-get >/dev/null; then
        echo "install.sh: apt-get not found; install ${missing[*]} (Debian 12 packages) by hand" >&2
        exit 1
    fi
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    echo "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends \
        "${missing[@]}"
fi

wit_bindgen="$WIT_BINDGEN_ROOT/bin/wit-bindgen"
if [[ ! -x $wit_bindgen ]] || [[ $("$wit_bindgen" --version) != "wit-bindgen-cli $WIT_BINDGEN_VERSION" ]]; then
    if ! command -v cargo >/dev/null; then
        echo "install.sh: cargo not found; install Rust with rustup first" >&2
        exit 1
    fi
    echo "building wit-bindgen-cli $WIT_BINDGEN_VERSION with cargo (about 5 to 10 minutes)"
    # Only the C generator is needed, which halves the build time of the CLI.
    cargo install wit-bindgen-cli --version "$WIT_BINDGEN_VERSION" --locked \
        --no-default-features --features c --root "$WIT_BINDGEN_ROOT"
fi

echo "C plugin toolchain:"
for package in "${APT_PACKAGES[@]}"; do
    echo "  $package $(dpkg-query -W -f='${Version}' "$package")"
done
echo "  $("$wit_bindgen" --version) ($wit_bindgen)"
