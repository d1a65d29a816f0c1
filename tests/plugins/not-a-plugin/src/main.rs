//! A plain WASI command: built for wasm32-wasip2 it is a component that exports
//! `wasi:cli/run` and nothing of the `weir:plugin` contract.

fn main() {
    println!("this component is not a Weir plugin");
}
