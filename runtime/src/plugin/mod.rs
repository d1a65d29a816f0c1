//! The WebAssembly side of Weir: loading plugin components, checking them against the
//! `weir:plugin` contract and running them in a sandbox.
//!
//! A [`PluginEngine`] compiles components (through an on-disk cache) and drives the deadline
//! clock. A [`LoadedPlugin`] is one checked component, shared by every instance of a step.
//! A [`PluginInstance`] is one sandboxed instance, owned by one partition worker.

mod bindings;
mod cache;
mod componentize;
mod contract;
mod engine;
mod error;
mod guest_log;
mod host;
mod inspect;
mod instance;
mod loaded;

pub use bindings::{ConfigEntry, Event, Failure, Header, Output};
pub use componentize::{ComponentizeError, componentize};
pub use contract::{CONTRACT_VERSION, HANDLER_INTERFACE};
pub use engine::PluginEngine;
pub use error::{CallError, CallErrorKind, PluginError};
pub use guest_log::LogContext;
pub use host::Sandbox;
pub use inspect::{InspectError, PluginReport, inspect_plugin};
pub use instance::{BatchResult, PluginInstance};
pub use loaded::LoadedPlugin;
