use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::Level;
use super::bindings::weir::plugin::log;
use super::error::PluginError;
use super::guest_log::{GuestLevel, GuestLog, GuestSource, LogContext};
use crate::config::{Limits, ResolvedDirGrant};

/// The sandbox of a step's plugin instances: their limits and the host resources granted.
#[derive(Debug, Clone, Default)]
pub struct Sandbox {
    pub limits: Limits,
    /// Host folders the plugin may open.
    pub dirs: Vec<ResolvedDirGrant>,
    /// Environment variables the plugin sees, with their values.
    pub env: Vec<(String, String)>,
}

/// The state of one plugin instance's store: its WASI context, memory limit and log.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: GuestLog,
}

impl HostState {
    /// Creates the state with a WASI context that grants only what `sandbox` lists: no other
    /// folder or variable, no argument, no network and no standard input. Standard output and
    /// error go to the log.
    pub(crate) fn new(sandbox: &Sandbox, log: LogContext) -> Result<Self, PluginError> {
        let log = GuestLog::new(log);
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(log.stream(GuestSource::Stdout))
            .stderr(log.stream(GuestSource::Stderr));
        for (name, value) in &sandbox.env {
            builder.env(name, value);
        }
        for grant in &sandbox.dirs {
            let perms = if grant.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder
                .preopened_dir(&grant.host, &grant.guest, perms)
                .map_err(|error| PluginError::Grant {
                    path: grant.host.clone(),
                    message: format!("{error:#}"),
                })?;
        }

        let max_memory = usize::try_from(sandbox.limits.max_memory.as_u64()).unwrap_or(usize::MAX);
        Ok(Self {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(max_memory),
            log,
        })
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => GuestLevel::Trace,
            Level::Debug => GuestLevel::Debug,
            Level::Info => GuestLevel::Info,
            Level::Warn => GuestLevel::Warn,
            Level::Error => GuestLevel::Error,
        };
        self.log.line(level, &message);
    }
}

/// Caps an instance's linear memory and remembers whether the cap was hit, so a trap that
/// follows can be reported as a memory fault rather than a generic one.
pub(crate) struct MemoryLimiter {
    max_memory: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(max_memory: usize) -> Self {
        Self {
            max_memory,
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.hit = true;
            wasmtime::bail!(
                "linear memory would grow to {desired} bytes, over the limit of {} bytes",
                self.max_memory
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million entries is far beyond any real plugin.
        Ok(desired <= 1_000_000)
    }
}
