#!/usr/bin/env bash
# Runs every check of the project: formatting, lints, and all unit and integration tests.
# The integration tests build their plugins from source and start what they need themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

# Installs the toolchain, rustfmt, clippy and the wasm32-wasip2 target that
# rust-toolchain.toml pins.
rustup toolchain install

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
