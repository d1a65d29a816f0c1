#!/usr/bin/env bash
# Builds and runs the native unit tests of redact.c and json.c with AddressSanitizer and
# UBSan, using the host's C compiler (CC, default cc). Build output goes to a temporary
# folder.
set -euo pipefail

tests_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
plugin_dir="$tests_dir/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/redact-customer-c-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

"${CC:-cc}" -std=c11 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    "$tests_dir/test_redact.c" "$plugin_dir/redact.c" "$plugin_dir/json.c" \
    -lm -o "$work/test_redact"
"$work/test_redact"
