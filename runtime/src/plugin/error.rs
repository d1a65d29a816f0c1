use std::fmt;
use std::path::PathBuf;

/// A plugin that could not be loaded, checked or initialised.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin file `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "plugin file `{path}` is not WebAssembly (it lacks the `\\0asm` header); point the step \
         at a `.wasm` component built for wasm32-wasip2"
    )]
    NotWasm { path: PathBuf },

    #[error(
        "plugin file `{path}` is a core WebAssembly module, not a component; build it for the \
         wasm32-wasip2 target, or make a component of it with `weir plugin componentize`"
    )]
    CoreModule { path: PathBuf },

    #[error("plugin `{path}` failed to compile: {message}")]
    Compile { path: PathBuf, message: String },

    #[error(
        "plugin `{path}` was built for weir:plugin@{found} but this runtime supports \
         weir:plugin@{supported}; rebuild it with the guest SDK for {supported}"
    )]
    ContractVersion {
        path: PathBuf,
        found: String,
        supported: String,
    },

    #[error(
        "plugin `{path}` does not export `{expected}`, so it was built for another world \
         (its exports: {exports}); build it against the world `plugin` in guest-sdk/wit"
    )]
    WrongWorld {
        path: PathBuf,
        expected: String,
        exports: String,
    },

    #[error(
        "plugin `{path}` imports `{import}`, which Weir does not provide; a plugin may import \
         only `weir:plugin/log` and WASI 0.2 interfaces"
    )]
    UnsupportedImport { path: PathBuf, import: String },

    #[error(
        "a step sets `fuel` for plugin `{path}`, but the engine was started without fuel \
         metering; restart Weir so that it reads the fuel setting"
    )]
    FuelOff { path: PathBuf },

    #[error("cannot grant folder `{path}` to the plugin: {message}")]
    Grant { path: PathBuf, message: String },

    #[error("plugin `{path}` could not be instantiated: {message}")]
    Instantiate { path: PathBuf, message: String },

    #[error("plugin `{path}` rejected its config in init: {message}")]
    InitFailed { path: PathBuf, message: String },

    #[error("plugin `{path}` failed during init: {error}")]
    InitTrapped { path: PathBuf, error: CallError },
}

/// Cause of a call into a plugin instance that ended without a result. The instance is unusable after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallErrorKind {
    /// The call ran past its deadline (`call_timeout`).
    Deadline,
    /// The instance tried to grow its memory past `max_memory`.
    MemoryLimit,
    /// The call burned all the fuel it was given (`fuel`).
    Fuel,
    /// Any other trap: a panic, `unreachable`, an out-of-bounds access and the like.
    Trap,
}

/// A call into a plugin that trapped.
#[derive(Debug, Clone, thiserror::Error)]
pub struct CallError {
    pub kind: CallErrorKind,
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CallErrorKind::Deadline => write!(f, "deadline exceeded: {}", self.message),
            CallErrorKind::MemoryLimit => write!(f, "memory limit reached: {}", self.message),
            CallErrorKind::Fuel => write!(f, "out of fuel: {}", self.message),
            CallErrorKind::Trap => write!(f, "trap: {}", self.message),
        }
    }
}
