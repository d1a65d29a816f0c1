//! Turns a core WebAssembly module built for WASI preview 1 (C with wasi-libc, Go's wasip1
//! target) into a Weir plugin component, so that those languages need no tool beside `weir`.

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::Resolve;

/// The contract, compiled into the binary so that it always matches the host.
const PLUGIN_WIT: &str = include_str!("../../../guest-sdk/wit/plugin.wit");

/// A module that cannot be made into a plugin component.
#[derive(Debug, thiserror::Error)]
pub enum ComponentizeError {
    #[error("the input is not WebAssembly (it lacks the `\\0asm` header)")]
    NotWasm,

    #[error("the input is already a component; load it as a plugin as it is")]
    AlreadyComponent,

    #[error("cannot read the weir:plugin contract: {0:#}")]
    Contract(anyhow::Error),

    #[error(
        "cannot make a component of the module: {0:#}. Check that it is a WASI preview 1 \
         reactor (no `main`; for C, -mexec-model=reactor) that exports the functions of the \
         `plugin` world"
    )]
    Encode(anyhow::Error),
}

/// Returns the component of `module`: the `weir:plugin` world embedded when the module does
/// not carry its own component type, and WASI preview 1 imports adapted to WASI 0.2.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, ComponentizeError> {
    if module.len() < 8 || &module[..4] != b"\0asm" {
        return Err(ComponentizeError::NotWasm);
    }
    if u16::from_le_bytes([module[6], module[7]]) != 0 {
        return Err(ComponentizeError::AlreadyComponent);
    }

    let mut module = module.to_vec();
    if !has_component_type(&module) {
        let mut resolve = Resolve::default();
        let package = resolve
            .push_str("plugin.wit", PLUGIN_WIT)
            .map_err(ComponentizeError::Contract)?;
        let world = resolve
            .select_world(&[package], Some("plugin"))
            .map_err(ComponentizeError::Contract)?;
        embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8, false)
            .map_err(ComponentizeError::Encode)?;
    }

    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|encoder| {
            encoder.adapter(
                WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|encoder| encoder.encode())
        .map_err(ComponentizeError::Encode)
}

/// Tells whether the module carries a `component-type` custom section, which bindings
/// generators such as wit-bindgen add.
fn has_component_type(module: &[u8]) -> bool {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .filter_map(Result::ok)
        .any(|payload| match payload {
            wasmparser::Payload::CustomSection(section) => {
                section.name().starts_with("component-type")
            }
            _ => false,
        })
}
