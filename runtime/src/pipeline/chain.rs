use std::sync::Arc;

use super::slot::StepSlot;
use crate::config::FailurePolicy;
use crate::plugin::{
    CallError, CallErrorKind, ConfigEntry, Event, Failure, LoadedPlugin, LogContext, Output,
    PluginError, PluginInstance, Sandbox,
};

/// One version of a step of a pipeline, shared by the chains of all its partition workers.
#[derive(Clone)]
pub struct StepSpec {
    pub pipeline: Arc<str>,
    pub name: Arc<str>,
    pub plugin: Arc<LoadedPlugin>,
    pub config: Vec<ConfigEntry>,
    pub sandbox: Sandbox,
    pub failure: FailurePolicy,
}

/// Failure of one event in the chain.
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// Index of the failing step in the chain.
    pub step_index: usize,
    pub step: Arc<str>,
    /// Digest of the plugin version that failed.
    pub plugin_digest: String,
    pub kind: StepFailureKind,
    pub message: String,
}

/// The kinds of [`StepFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepFailureKind {
    /// The plugin returned `retry`.
    Retry,
    /// The plugin returned `reject`.
    Reject,
    /// The chain's outputs for the event cannot be written: too many, too large, or routed to
    /// a topic that is invalid or missing.
    InvalidOutput,
    /// The plugin trapped, ran past its deadline or hit its memory limit on this event.
    Trap(CallErrorKind),
    /// No instance of the plugin could be made, so the event was not processed.
    Unavailable,
}

impl StepFailureKind {
    /// Tells whether another attempt may succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            StepFailureKind::Reject | StepFailureKind::InvalidOutput
        )
    }

    /// Name used in logs and dead-letter headers.
    pub fn as_str(self) -> &'static str {
        match self {
            StepFailureKind::Retry => "retry",
            StepFailureKind::Reject => "reject",
            StepFailureKind::InvalidOutput => "invalid-output",
            StepFailureKind::Trap(CallErrorKind::Deadline) => "deadline",
            StepFailureKind::Trap(CallErrorKind::MemoryLimit) => "memory-limit",
            StepFailureKind::Trap(CallErrorKind::Fuel) => "fuel",
            StepFailureKind::Trap(CallErrorKind::Trap) => "trap",
            StepFailureKind::Unavailable => "unavailable",
        }
    }
}

/// Result of the chain for one source event.
pub type EventOutcome = Result<Vec<Output>, StepFailure>;

/// The plugin chain of one partition worker: one instance per step, reused across batches.
pub struct Chain {
    steps: Vec<StepRunner>,
    partition: Option<u32>,
    versions: String,
}

struct StepRunner {
    index: usize,
    slot: Arc<StepSlot>,
    /// The version this worker runs, and its generation in the slot.
    spec: Arc<StepSpec>,
    generation: u64,
    /// A newer generation whose instance could not be made here, so that it is not tried
    /// again on every batch.
    failed_generation: Option<u64>,
    instance: Option<PluginInstance>,
    log: LogContext,
}

fn log_context(spec: &StepSpec, partition: Option<u32>) -> LogContext {
    LogContext {
        pipeline: Arc::clone(&spec.pipeline),
        step: Arc::clone(&spec.name),
        plugin: spec.plugin.short_digest().into(),
        partition,
        offset: None,
    }
}

impl Chain {
    /// Instantiates and initialises the current version of every step for the worker of
    /// `partition`.
    pub fn new(slots: &[Arc<StepSlot>], partition: Option<u32>) -> Result<Self, PluginError> {
        let mut runners = Vec::with_capacity(slots.len());
        for (index, slot) in slots.iter().enumerate() {
            let (generation, spec) = slot.current();
            let log = log_context(&spec, partition);
            let instance =
                PluginInstance::new(&spec.plugin, &spec.config, &spec.sandbox, log.clone())?;
            runners.push(StepRunner {
                index,
                slot: Arc::clone(slot),
                spec,
                generation,
                failed_generation: None,
                instance: Some(instance),
                log,
            });
        }
        let mut chain = Self {
            steps: runners,
            partition,
            versions: String::new(),
        };
        chain.versions = chain.describe_versions();
        Ok(chain)
    }

    /// Switches every step whose slot has a newer version to it. Called between batches only,
    /// so each batch runs wholly on one version of each step. Returns whether any step
    /// switched.
    ///
    /// A version whose instance cannot be made for this partition is logged and skipped: the
    /// partition keeps the version it runs until a newer one is published.
    pub fn refresh(&mut self) -> bool {
        let mut switched = false;
        for runner in &mut self.steps {
            let generation = runner.slot.generation();
            if generation == runner.generation || runner.failed_generation == Some(generation) {
                continue;
            }

            let (generation, spec) = runner.slot.current();
            let log = log_context(&spec, self.partition);
            match PluginInstance::new(&spec.plugin, &spec.config, &spec.sandbox, log.clone()) {
                Ok(instance) => {
                    tracing::info!(
                        pipeline = %spec.pipeline,
                        step = %spec.name,
                        partition = ?self.partition,
                        from = runner.spec.plugin.short_digest(),
                        to = spec.plugin.short_digest(),
                        generation,
                        "partition switched to a new step version"
                    );
                    runner.spec = spec;
                    runner.generation = generation;
                    runner.failed_generation = None;
                    runner.instance = Some(instance);
                    runner.log = log;
                    switched = true;
                }
                Err(error) => {
                    tracing::error!(
                        pipeline = %spec.pipeline,
                        step = %spec.name,
                        partition = ?self.partition,
                        plugin = spec.plugin.short_digest(),
                        generation,
                        %error,
                        "cannot start the new step version for this partition; it keeps the version it runs"
                    );
                    runner.failed_generation = Some(generation);
                }
            }
        }
        if switched {
            self.versions = self.describe_versions();
        }
        switched
    }

    /// Returns the step versions this chain runs, as `step@digest,...` with 12-digit digests:
    /// the value of the `weir.plugins` header on every output.
    pub fn versions(&self) -> &str {
        &self.versions
    }

    fn describe_versions(&self) -> String {
        self.steps
            .iter()
            .map(|runner| format!("{}@{}", runner.spec.name, runner.spec.plugin.short_digest()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Returns the number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Tells whether the chain has no step, which a loaded pipeline never has.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Returns the version of the step at `index` that this chain runs.
    pub fn step_spec(&self, index: usize) -> &Arc<StepSpec> {
        &self.steps[index].spec
    }

    /// Runs `events` through every step and returns one outcome per event, in order.
    ///
    /// The outputs of one step are the events of the next. An output's topic, when the plugin
    /// sets one, is kept to the end and routes the final output. An event that fails in any
    /// step fails as a whole: none of its outputs survive, and its neighbours are unaffected.
    pub fn process(&mut self, events: &[Event]) -> Vec<EventOutcome> {
        let mut failures: Vec<Option<StepFailure>> = vec![None; events.len()];
        let mut origins: Vec<(usize, Option<String>)> = Vec::new();
        let mut current: Vec<Event> = Vec::new();

        for (position, step) in self.steps.iter_mut().enumerate() {
            let batch: &[Event] = if position == 0 { events } else { &current };
            if batch.is_empty() {
                break;
            }
            let results = step.run(batch);

            let mut next_origins = Vec::new();
            let mut next = Vec::new();
            for (item, result) in results.into_iter().enumerate() {
                let (source, target) = if position == 0 {
                    (item, None)
                } else {
                    origins[item].clone()
                };
                if failures[source].is_some() {
                    continue;
                }
                match result {
                    Ok(outputs) => {
                        let event = &batch[item];
                        for output in outputs {
                            let target = output.topic.clone().or_else(|| target.clone());
                            next.push(Event {
                                topic: target.clone().unwrap_or_else(|| event.topic.clone()),
                                partition: event.partition,
                                offset: event.offset,
                                timestamp_ms: event.timestamp_ms,
                                key: output.key,
                                value: output.value,
                                headers: output.headers,
                            });
                            next_origins.push((source, target));
                        }
                    }
                    Err(failure) => failures[source] = Some(failure),
                }
            }

            // An event that failed here may have had other, successful parts before it.
            let mut kept_origins = Vec::with_capacity(next_origins.len());
            let mut kept = Vec::with_capacity(next.len());
            for (origin, event) in next_origins.into_iter().zip(next) {
                if failures[origin.0].is_none() {
                    kept_origins.push(origin);
                    kept.push(event);
                }
            }
            origins = kept_origins;
            current = kept;
        }

        let mut outcomes: Vec<EventOutcome> = failures
            .into_iter()
            .map(|failure| match failure {
                Some(failure) => Err(failure),
                None => Ok(Vec::new()),
            })
            .collect();
        for ((source, target), event) in origins.into_iter().zip(current) {
            if let Ok(outputs) = &mut outcomes[source] {
                outputs.push(Output {
                    topic: target,
                    key: event.key,
                    value: event.value,
                    headers: event.headers,
                });
            }
        }
        outcomes
    }
}

impl StepRunner {
    /// Runs one step over `events`. A trap poisons the instance, so it is replaced and the
    /// events are run again one at a time, which pins the failure on the event that caused it.
    fn run(&mut self, events: &[Event]) -> Vec<Result<Vec<Output>, StepFailure>> {
        match self.call(events) {
            Ok(results) => results,
            Err(error) if events.len() == 1 => vec![Err(self.failure_from_call(error))],
            Err(error) => {
                tracing::warn!(
                    pipeline = %self.spec.pipeline,
                    step = %self.spec.name,
                    plugin = self.spec.plugin.short_digest(),
                    partition = events[0].partition,
                    first_offset = events[0].offset,
                    batch = events.len(),
                    %error,
                    "plugin call failed; replaying the batch one event at a time to find the cause"
                );
                events
                    .iter()
                    .map(|event| match self.call(std::slice::from_ref(event)) {
                        Ok(mut results) => results.pop().unwrap_or_else(|| Ok(Vec::new())),
                        Err(error) => Err(self.failure_from_call(error)),
                    })
                    .collect()
            }
        }
    }

    /// Calls the instance, making a fresh one first if a trap threw the last one away.
    fn call(
        &mut self,
        events: &[Event],
    ) -> Result<Vec<Result<Vec<Output>, StepFailure>>, CallOrInitError> {
        if self.instance.is_none() {
            let instance = PluginInstance::new(
                &self.spec.plugin,
                &self.spec.config,
                &self.spec.sandbox,
                self.log.clone(),
            )
            .map_err(CallOrInitError::Init)?;
            self.instance = Some(instance);
        }
        let Some(instance) = self.instance.as_mut() else {
            unreachable!("the instance was set above");
        };

        match instance.process(events) {
            Ok(results) => Ok(results
                .into_iter()
                .map(|result| result.map_err(|failure| self.failure_from_plugin(failure)))
                .collect()),
            Err(error) => {
                self.instance = None;
                Err(CallOrInitError::Call(error))
            }
        }
    }

    fn failure_from_plugin(&self, failure: Failure) -> StepFailure {
        let (kind, message) = match failure {
            Failure::Retry(message) => (StepFailureKind::Retry, message),
            Failure::Reject(message) => (StepFailureKind::Reject, message),
        };
        self.failure(kind, message)
    }

    fn failure_from_call(&self, error: CallOrInitError) -> StepFailure {
        match error {
            CallOrInitError::Call(error) => {
                self.failure(StepFailureKind::Trap(error.kind), error.message)
            }
            CallOrInitError::Init(error) => {
                self.failure(StepFailureKind::Unavailable, error.to_string())
            }
        }
    }

    fn failure(&self, kind: StepFailureKind, message: String) -> StepFailure {
        StepFailure {
            step_index: self.index,
            step: Arc::clone(&self.spec.name),
            plugin_digest: self.spec.plugin.digest().to_string(),
            kind,
            message,
        }
    }
}

enum CallOrInitError {
    Call(CallError),
    Init(PluginError),
}

impl std::fmt::Display for CallOrInitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallOrInitError::Call(error) => write!(f, "{error}"),
            CallOrInitError::Init(error) => write!(f, "{error}"),
        }
    }
}
