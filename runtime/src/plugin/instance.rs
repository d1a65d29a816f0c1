use std::sync::Arc;

use wasmtime::{Store, Trap};

use super::bindings::{ConfigEntry, Event, Failure, Output, Plugin};
use super::engine::EPOCH_TICK;
use super::error::{CallError, CallErrorKind, PluginError};
use super::guest_log::LogContext;
use super::host::{HostState, Sandbox};
use super::loaded::LoadedPlugin;

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
    call_timeout: std::time::Duration,
    fuel: Option<u64>,
}

impl PluginInstance {
    /// Instantiates `plugin` in `sandbox` and calls its `init` with `config`.
    pub fn new(
        plugin: &Arc<LoadedPlugin>,
        config: &[ConfigEntry],
        sandbox: &Sandbox,
        log: LogContext,
    ) -> Result<Self, PluginError> {
        let limits = &sandbox.limits;
        // An engine that meters fuel meters every store, so a step without a fuel limit gets
        // as much as a call can burn.
        let fuel = match (limits.fuel, plugin.engine().meters_fuel()) {
            (Some(_), false) => {
                return Err(PluginError::FuelOff {
                    path: plugin.path().to_path_buf(),
                });
            }
            (Some(fuel), true) => Some(fuel),
            (None, true) => Some(u64::MAX),
            (None, false) => None,
        };
        let mut store = Store::new(plugin.engine().engine(), HostState::new(sandbox, log)?);
        store.limiter(
            |state: &mut HostState| -> &mut dyn wasmtime::ResourceLimiter { &mut state.limiter },
        );

        let deadline_ticks = limits
            .call_timeout
            .as_millis()
            .div_ceil(EPOCH_TICK.as_millis()) as u64;
        // One extra tick, because the current tick may be about to end when the call starts.
        let deadline_ticks = deadline_ticks + 1;
        store.set_epoch_deadline(deadline_ticks);
        store.epoch_deadline_trap();
        if let Some(fuel) = fuel {
            // Instantiation runs the component's start code, which burns fuel too.
            store
                .set_fuel(fuel)
                .map_err(|error| PluginError::Instantiate {
                    path: plugin.path().to_path_buf(),
                    message: format!("cannot set the instance's fuel: {error:#}"),
                })?;
        }

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
            call_timeout: limits.call_timeout,
            fuel,
        };
        instance.init(config)?;
        Ok(instance)
    }

    fn init(&mut self, config: &[ConfigEntry]) -> Result<(), PluginError> {
        self.arm()?;
        let result = self
            .bindings
            .weir_plugin_handler()
            .call_init(&mut self.store, config);
        self.store.data().log.flush();

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
        self.store
            .data()
            .log
            .set_offset(events.first().map(|event| event.offset));
        self.arm().map_err(|error| CallError {
            kind: CallErrorKind::Trap,
            message: error.to_string(),
        })?;

        let results = self
            .bindings
            .weir_plugin_handler()
            .call_process(&mut self.store, events);
        self.store.data().log.flush();
        let results = results.map_err(|error| self.classify(error))?;

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

    /// Resets the deadline and the fuel for the next call.
    fn arm(&mut self) -> Result<(), PluginError> {
        self.store.set_epoch_deadline(self.deadline_ticks);
        if let Some(fuel) = self.fuel {
            self.store
                .set_fuel(fuel)
                .map_err(|error| PluginError::Instantiate {
                    path: self.plugin.path().to_path_buf(),
                    message: format!("cannot set the call's fuel: {error:#}"),
                })?;
        }
        Ok(())
    }

    /// Returns the plugin this instance runs.
    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Names the cause of a failed call in one line. The wasm backtrace goes to the debug log
    /// only, since dead-letter headers and error logs need the cause, not the frames.
    fn classify(&mut self, error: wasmtime::Error) -> CallError {
        tracing::debug!(plugin = %self.plugin.path().display(), "plugin call failed: {error:?}");
        let trap = error.downcast_ref::<Trap>().copied();
        let (kind, message) = if self.store.data().limiter.hit {
            (CallErrorKind::MemoryLimit, error.root_cause().to_string())
        } else if trap == Some(Trap::Interrupt) {
            let message = format!(
                "the call ran past its deadline of {} (limits.call_timeout)",
                humantime::format_duration(self.call_timeout)
            );
            (CallErrorKind::Deadline, message)
        } else if trap == Some(Trap::OutOfFuel) {
            let message = format!(
                "the call burned all of its {} fuel (limits.fuel)",
                self.fuel.unwrap_or_default()
            );
            (CallErrorKind::Fuel, message)
        } else {
            (CallErrorKind::Trap, error.root_cause().to_string())
        };
        CallError { kind, message }
    }
}
