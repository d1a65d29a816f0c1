#!/usr/bin/env bash
# Install componentize-py, which builds Weir plugins written in Python, into the
# toolchains cache. Safe to run again: it returns at once when the pinned version is there.
#
#   bash guest-sdk/python/install.sh
#
# WEIR_TOOLCHAINS sets the cache folder (default ~/.cache/weir/toolchains). The tool goes
# into the virtual environment $WEIR_TOOLCHAINS/python/venv.
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

toolchains="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}"
venv="$toolchains/python/venv"
tool="$venv/bin/componentize-py"

installed_version() {
    "$tool" --version 2>/dev/null | awk '{print $2}'
}

if [[ -x "$tool" && "$(installed_version)" == "$COMPONENTIZE_PY_VERSION" ]]; then
    echo "componentize-py $COMPONENTIZE_PY_VERSION already installed in $venv"
    exit 0
fi

if ! command -v python3 >/dev/null; then
    echo "error: python3 not found; install Python 3.9 or later first" >&2
    exit 1
fi

rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
# On Debian, `python3 -m venv` fails until the package python3-venv is installed,
# so install it and try again.
if ! python3 -m venv "$venv"; then
    rm -rf "$venv"
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing the Debian package python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        python3 -m venv "$venv"
    else
        echo "error: python3 -m venv failed; install the venv module (on Debian: apt-get install python3-venv) and run this script again" >&2
        exit 1
    fi
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "componentize-py==$COMPONENTIZE_PY_VERSION"

echo "installed componentize-py $(installed_version) in $venv"
