#!/usr/bin/env bash
# Installs the pinned JavaScript plugin toolchain (ComponentizeJS, jco, rolldown and the
# preview2 shim, exact versions in package-lock.json beside this script) from the npm registry into
# ${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}/javascript. Needs Node.js 20 or later
# and npm. Running it again when the same lock file is installed only prints the versions.
set -euo pipefail

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
toolchain_dir="${WEIR_TOOLCHAINS:-$HOME/.cache/weir/toolchains}/javascript"
stamp="$toolchain_dir/.installed"

for tool in node npm sha256sum; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: \`$tool\` not found; install Node.js 20 or later with npm first" >&2
    exit 1
  fi
done

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "error: Node.js $(node --version) is too old; ComponentizeJS needs Node.js 20 or later" >&2
  exit 1
fi

# The stamp records what was installed: the lock file and the Node.js major version,
# because npm may pick other optional native packages for another Node.js.
wanted="$(cat "$sdk_dir/package.json" "$sdk_dir/package-lock.json" | sha256sum | cut -d' ' -f1) node$node_major"

print_versions() {
  (cd "$toolchain_dir" && npm ls --depth=0 2>/dev/null | tail -n +2) || true
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" && -d "$toolchain_dir/node_modules" ]]; then
  echo "JavaScript toolchain already installed in $toolchain_dir:"
  print_versions
  exit 0
fi

mkdir -p "$toolchain_dir"
cp "$sdk_dir/package.json" "$sdk_dir/package-lock.json" "$toolchain_dir/"
rm -f "$stamp"
# `npm ci` installs exactly the lock file's versions. No package in it needs an install
# script, and skipping them keeps the install from running code at install time.
(cd "$toolchain_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$wanted" > "$stamp"

echo "Installed the JavaScript toolchain in $toolchain_dir:"
print_versions
