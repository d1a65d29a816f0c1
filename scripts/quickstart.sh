#!/usr/bin/env bash
# Builds Weir and the example plugins, loads the 100,000-event sample into embedded topics
# under .weir/, and runs the quick-start pipeline over it. Each run starts from empty topics.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

# Installs the toolchain and the wasm32-wasip2 target that rust-toolchain.toml pins.
rustup toolchain install

cargo build --release -p weir
cargo build --target wasm32-wasip2 --profile plugin \
    -p drop-test-orders -p redact-customer -p order-lines

target_dir=${CARGO_TARGET_DIR:-target}
weir=$target_dir/release/weir
export WEIR_DATA=.weir/data
rm -rf .weir
mkdir -p .weir

"$weir" topic create orders --partitions 6
"$weir" topic create orders-clean --partitions 6
"$weir" topic create order-lines --partitions 6
"$weir" topic create orders-dead-letter --partitions 1

"$weir" sample orders --count 100000 --seed 42 --output .weir/orders.jsonl
"$weir" topic produce orders --input .weir/orders.jsonl

# The pipeline file expects the plugins under target/; with another CARGO_TARGET_DIR, run a
# copy whose plugin paths point there.
pipeline=pipelines/quickstart.yaml
if [[ $target_dir != target ]]; then
    plugins=$(cd "$target_dir/wasm32-wasip2/plugin" && pwd)
    sed -e "s#\.\./target/wasm32-wasip2/plugin#$plugins#" -e "s#\.\./\.weir/data#$PWD/.weir/data#" \
        pipelines/quickstart.yaml >.weir/quickstart.yaml
    pipeline=.weir/quickstart.yaml
fi

# The pipeline logs every dead-lettered event at error level; the sample contains some on
# purpose.
"$weir" run "$pipeline" --stop-at-end

echo
"$weir" topic list
echo
echo "Look at the outputs with, for example:"
echo "  WEIR_DATA=.weir/data $weir topic consume orders-clean --max 3"
echo "  WEIR_DATA=.weir/data $weir topic consume order-lines --max 3"
echo "  WEIR_DATA=.weir/data $weir topic consume orders-dead-letter --max 1"
echo "  WEIR_DATA=.weir/data $weir group describe orders-quickstart"
