use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::Level;
use super::bindings::weir::plugin::log;

/// Log lines a plugin instance may emit per second; the rest are counted and reported.
const LOG_LINES_PER_SECOND: u32 = 100;

/// Location of a plugin instance (pipeline, step, partition, offset), attached to every line it logs.
#[derive(Debug, Clone)]
pub struct LogContext {
    pub pipeline: Arc<str>,
    pub step: Arc<str>,
    /// Short digest of the plugin version.
    pub plugin: Arc<str>,
    /// Partition whose events the instance processes, when it serves one.
    pub partition: Option<u32>,
    /// Offset of the first event of the batch being processed.
    pub offset: Option<i64>,
}

/// The state of one plugin instance's store: its WASI context, memory limit and log context.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) log: LogContext,
    log_window: LogWindow,
}

impl HostState {
    /// Creates the state with a WASI context that grants nothing: no preopened directory, no
    /// environment variable, no argument, no network, and empty standard streams.
    pub(crate) fn new(max_memory: usize, log: LogContext) -> Self {
        Self {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(max_memory),
            log,
            log_window: LogWindow::default(),
        }
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
        if !self.log_window.admit() {
            return;
        }

        let LogContext {
            pipeline,
            step,
            plugin,
            partition,
            offset,
        } = &self.log;
        let pipeline = pipeline.as_ref();
        let step = step.as_ref();
        let plugin = plugin.as_ref();
        match level {
            Level::Trace => {
                tracing::trace!(target: "weir::guest", pipeline, step, plugin, ?partition, ?offset, "{message}")
            }
            Level::Debug => {
                tracing::debug!(target: "weir::guest", pipeline, step, plugin, ?partition, ?offset, "{message}")
            }
            Level::Info => {
                tracing::info!(target: "weir::guest", pipeline, step, plugin, ?partition, ?offset, "{message}")
            }
            Level::Warn => {
                tracing::warn!(target: "weir::guest", pipeline, step, plugin, ?partition, ?offset, "{message}")
            }
            Level::Error => {
                tracing::error!(target: "weir::guest", pipeline, step, plugin, ?partition, ?offset, "{message}")
            }
        }
    }
}

/// A one-second window that admits [`LOG_LINES_PER_SECOND`] lines and counts the rest.
#[derive(Default)]
struct LogWindow {
    started: Option<Instant>,
    admitted: u32,
    suppressed: u64,
}

impl LogWindow {
    fn admit(&mut self) -> bool {
        let now = Instant::now();
        let expired = self
            .started
            .is_none_or(|started| now.duration_since(started) >= Duration::from_secs(1));
        if expired {
            if self.suppressed > 0 {
                tracing::warn!(
                    target: "weir::guest",
                    suppressed = self.suppressed,
                    "plugin logged more than {LOG_LINES_PER_SECOND} lines per second; lines were dropped"
                );
            }
            self.started = Some(now);
            self.admitted = 0;
            self.suppressed = 0;
        }

        if self.admitted < LOG_LINES_PER_SECOND {
            self.admitted += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }
}

/// Caps an instance's linear memory and remembers whether the cap was hit, so a trap that
/// follows can be reported as a memory fault rather than a generic one.
pub(crate) struct MemoryLimiter {
    max_memory: usize,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    fn new(max_memory: usize) -> Self {
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
