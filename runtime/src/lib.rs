//! Weir runs chains of WebAssembly plugins over partitioned event streams.
//!
//! The layers, from the outside in: [`config`] reads pipeline files, [`pipeline`] runs them,
//! [`plugin`] hosts the WebAssembly components and [`local`] stores embedded topics.
//! [`admin`] serves the state of a running process over HTTP.

pub mod admin;
pub mod config;
pub mod fixtures;
pub mod kafka;
pub mod local;
pub mod pipeline;
pub mod plugin;
pub mod sample_orders;
mod sync;
