//! Host bindings generated from the contract in `guest-sdk/wit`.

wasmtime::component::bindgen!({
    path: "../guest-sdk/wit",
    world: "plugin",
});

pub use self::weir::plugin::log::Level;
pub use exports::weir::plugin::handler::{ConfigEntry, Event, Failure, Header, Output};
