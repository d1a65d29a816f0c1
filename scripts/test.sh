#!/usr/bin/env bash
# Runs every check of the project: formatting, lints, and all unit and integration tests.
# The integration tests build their plugins from source. The Kafka tests run against a
# single-node Apache Kafka broker that this script installs from Maven Central, starts on
# 127.0.0.1 and stops again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

# Installs the toolchain, rustfmt, clippy and the wasm targets that rust-toolchain.toml
# pins.
rustup toolchain install

# The guest toolchains of the other plugin languages, from the package registries, for the
# language tests. Each script is quick when its toolchain is already installed.
for language in python javascript c go; do
    bash "guest-sdk/$language/install.sh"
done

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

# A start that fails for a passing reason (a port briefly held, a slow JVM) is tried once
# more; kafka.sh prints the broker's errors either way.
.ci/kafka/kafka.sh start || { .ci/kafka/kafka.sh stop || true; .ci/kafka/kafka.sh start; }
trap '.ci/kafka/kafka.sh stop' EXIT
export WEIR_TEST_KAFKA="127.0.0.1:${WEIR_KAFKA_PORT:-19092}"

# --no-fail-fast, so that one failing test binary does not hide the results of the others.
cargo test --workspace --no-fail-fast
