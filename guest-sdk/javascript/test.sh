#!/usr/bin/env bash
# Runs a JavaScript plugin's unit tests (files named *.test.mjs in SRC_DIR and its
# subfolders, outside node_modules) on the host's Node.js with its built-in test runner.
#
#   bash guest-sdk/javascript/test.sh SRC_DIR
#
# The tests import the plugin's modules directly, so they need no component, no
# ComponentizeJS and no Weir. Module hooks in test-support/ resolve `weir-plugin` to the
# SDK and the WIT import `weir:plugin/log@0.1.0` to a stub that records each log call in
# its `logRecords` array. Module hooks need Node.js 20.6 or later. To run a built
# component against fixtures, use `weir test` instead.
set -euo pipefail

if (( $# != 1 )); then
  echo "usage: $0 SRC_DIR" >&2
  exit 2
fi
if [[ ! -d "$1" ]]; then
  echo "error: plugin folder $1 not found" >&2
  exit 2
fi
src_dir="$(cd "$1" && pwd)"
sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v node >/dev/null; then
  echo "error: \`node\` not found; install Node.js 20.6 or later to run the unit tests" >&2
  exit 1
fi
# Prints "ok" when this Node.js has module.register, which Node.js 20 gained in 20.6.0.
node_check="$(node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  console.log(major > 20 || (major === 20 && minor >= 6) ? "ok" : "old");
')"
if [[ "$node_check" != "ok" ]]; then
  echo "error: Node.js $(node --version) is too old; the unit tests need Node.js 20.6 or later" \
    "for module.register" >&2
  exit 1
fi

test_files=()
while IFS= read -r -d '' file; do
  test_files+=("$file")
done < <(find "$src_dir" -name node_modules -prune -o -type f -name '*.test.mjs' -print0 | sort -z)
if (( ${#test_files[@]} == 0 )); then
  echo "error: no unit tests (files named *.test.mjs) found in $src_dir" >&2
  exit 1
fi

cd "$src_dir"
exec node --import "$sdk_dir/test-support/register.mjs" --test --test-reporter=spec "${test_files[@]}"
