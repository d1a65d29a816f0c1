//! A test plugin for hot swaps; see `tests/plugins/tag/tag.rs`.

// The export macro exists only on wasm32, so a host build (clippy) never uses the plugin.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

const TAG: &str = "v1";
const INIT: Init = Init::Succeed;

include!("../../tag/tag.rs");
