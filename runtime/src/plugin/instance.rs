use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::bindings::{ConfigEntry, Event, Failure, Output, Plugin};
use super::engine::EPOCH_TICK;
use super::error::{CallError, CallErrorKind, PluginError};
use super::host::{HostState, LogContext};
use super::loaded::LoadedPlugin;
use crate::config::Limits;

/// Result of one batch call: per event, its outputs or its failure.
pub type BatchResult = Vec<Result<Vec<Output>, Failure>>;

/// One sandboxed, initialised instance of a plugin, owned by one partition worker.
///
/// Calls run on the caller's thread and block it, so callers run them on threads set aside for
/// plugin work, never on the async runtime's I/O threads. After a call returns a
/// [`CallError`] the instance must be dropped: a trapped component cannot be entered again.
pub struct PluginInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<HostState>,
    bindings: Plugin,
    deadline_ticks: u64,
}

impl PluginInstance {
    /// Instantiates `plugin` under `limits` and calls its `init` with `config`.
    pub fn new(
        plugin: &Arc<LoadedPlugin>,
        config: &[ConfigEntry],
        limits: &Limits,
        log: LogContext,
    ) -> Result<Self, PluginError> {
        let max_memory = usize::try_from(limits.max_memory.as_u64()).unwrap_or(usize::MAX);
        let mut store = Store::new(plugin.engine().engine(), HostState::new(max_memory, log));
        store.limiter(|state| &mut state.limiter);

        let deadline_ticks = limits
            .call_timeout
            .as_millis()
            .div_ceil(EPOCH_TICK.as_millis()) as u64;
        // One extra tick, because the current tick may be about to end when the call starts.
        let deadline_ticks = deadline_ticks + 1;
        store.set_epoch_deadline(deadline_ticks);
        store.epoch_deadline_trap();

        let bindings =
            plugin
                .pre()
                .instantiate(&mut store)
                .map_err(|error| PluginError::Instantiate {
                    path: plugin.path().to_path_buf(),
                    message: format!("{error:#}"),
                })?;

        let mut instance = Self {
            plugin: Arc::clone(plugin),
            store,
            bindings,
            deadline_ticks,
        };
        instance.init(config)?;
        Ok(instance)
    }

    fn init(&mut self, config: &[ConfigEntry]) -> Result<(), PluginError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        let result = self
            .bindings
            .weir_plugin_handler()
            .call_init(&mut self.store, config);

        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(PluginError::InitFailed {
                path: self.plugin.path().to_path_buf(),
                message,
            }),
            Err(error) => Err(PluginError::InitTrapped {
                path: self.plugin.path().to_path_buf(),
                error: self.classify(error),
            }),
        }
    }

    /// Calls the plugin's `process` with `events`, returning one result per event.
    ///
    /// A trap, a deadline, a memory fault, or a result with the wrong number of entries is a
    /// [`CallError`], after which this instance must be dropped.
    pub fn process(&mut self, events: &[Event]) -> Result<BatchResult, CallError> {
        self.store.data_mut().log.offset = events.first().map(|event| event.offset);
        self.store.set_epoch_deadline(self.deadline_ticks);

        let results = self
            .bindings
            .weir_plugin_handler()
            .call_process(&mut self.store, events)
            .map_err(|error| self.classify(error))?;

        if results.len() != events.len() {
            return Err(CallError {
                kind: CallErrorKind::Trap,
                message: format!(
                    "the plugin returned {} results for a batch of {} events; it must return \
                     exactly one per event",
                    results.len(),
                    events.len()
                ),
            });
        }
        Ok(results)
    }

    /// Returns the plugin this instance runs.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    fn classify(&mut self, error: wasmtime::Error) -> CallError {
        let message = format!("{error:#}");
        let kind = if self.store.data().limiter.hit {
            CallErrorKind::MemoryLimit
        } else if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            CallErrorKind::Deadline
        } else {
            CallErrorKind::Trap
        };
        CallError { kind, message }
    }
}
