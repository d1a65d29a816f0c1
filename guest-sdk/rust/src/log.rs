//! Structured logging into the host's log.
//!
//! The host tags each message with the pipeline, the step and the offset of the event being
//! processed, so a message needs only what is specific to it. Messages go through the
//! imported `log` interface on `wasm32` targets. On other targets, such as a plugin's unit
//! tests, they are written to standard error instead, because no host is present.

use crate::bindings::weir::plugin::log::Level;

/// Logs `message` at trace level.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Logs `message` at debug level.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs `message` at info level.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs `message` at warn level.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs `message` at error level.
pub fn error(message: &str) {
    write(Level::Error, message);
}

#[cfg(target_arch = "wasm32")]
fn write(level: Level, message: &str) {
    crate::bindings::weir::plugin::log::log(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
fn write(level: Level, message: &str) {
    eprintln!("[{level:?}] {message}");
}
