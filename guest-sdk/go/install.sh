#!/usr/bin/env bash
# Installs the toolchain for Go plugins: checks the machine's Go and, with --bindgen, the
# pinned wit-bindgen that generate.sh uses to regenerate the bindings.
#
#   bash guest-sdk/go/install.sh             # what build.sh needs
#   bash guest-sdk/go/install.sh --bindgen   # also wit-bindgen, for generate.sh
#   bash guest-sdk/go/install.sh --check-go  # only checks Go, printing nothing on success
#
# build.sh needs only Go and the weir binary: the SDK ships the generated bindings and
# takes no module from the Go module proxy. wit-bindgen is built from crates.io with cargo
# into ${WEIR_TOOLCHAINS:-~/.cache/weir/toolchains}/wit-bindgen-VERSION, which takes about
# ten minutes on two cores the first time and nothing after.
set -euo pipefail

sdk_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.sh
source "$sdk_dir/versions.sh"

with_bindgen=false
check_go_only=false
for argument in "$@"; do
    case $argument in
    --bindgen) with_bindgen=true ;;
    --check-go) check_go_only=true ;;
    *)
        echo "usage: install.sh [--bindgen | --check-go]" >&2
        exit 2
        ;;
    esac
done

# Prints the version of the go command, such as 1.26.8, or fails.
go_version() {
    go env GOVERSION 2>/dev/null | sed -E 's/^go//'
}

# Tells whether version $1 (such as 1.26.8) is at least $GO_MIN_VERSION (such as 1.26).
go_is_recent() {
    local major minor min_major min_minor
    IFS=. read -r major minor _ <<<"$1"
    IFS=. read -r min_major min_minor <<<"$GO_MIN_VERSION"
    ((major > min_major || (major == min_major && minor >= min_minor)))
}

version=$(go_version || true)
if [[ -z $version ]] || ! go_is_recent "$version"; then
    echo "install.sh: Go $GO_MIN_VERSION or newer is required, found '${version:-no go command}'." >&2
    echo "Install it from Debian's packages or go.dev, or set GOTOOLCHAIN=go$GO_MIN_VERSION.0 to let the go command fetch it from the Go module proxy." >&2
    exit 1
fi
if $check_go_only; then
    exit 0
fi
echo "Go $version: ok (needs $GO_MIN_VERSION or newer)"

if $with_bindgen; then
    root="$WEIR_GO_TOOLCHAINS/wit-bindgen-$WIT_BINDGEN_VERSION"
    wit_bindgen="$root/bin/wit-bindgen"
    if [[ -x $wit_bindgen ]] && [[ $("$wit_bindgen" --version) == "wit-bindgen-cli $WIT_BINDGEN_VERSION" ]] &&
        "$wit_bindgen" help go >/dev/null 2>&1; then
        echo "wit-bindgen $WIT_BINDGEN_VERSION: already installed at $wit_bindgen"
    else
        echo "installing wit-bindgen-cli $WIT_BINDGEN_VERSION (feature go) into $root"
        CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo install wit-bindgen-cli \
            --version "$WIT_BINDGEN_VERSION" --locked --no-default-features --features go \
            --root "$root"
        echo "wit-bindgen $WIT_BINDGEN_VERSION: installed at $wit_bindgen"
    fi
fi
