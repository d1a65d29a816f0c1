use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A pipeline file: one or more pipelines that `weir run` starts together.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub pipelines: Vec<PipelineConfig>,
}

impl PipelineFile {
    /// Tells whether any step of any pipeline sets a fuel limit, which needs fuel metering.
    pub fn meters_fuel(&self) -> bool {
        self.pipelines.iter().any(|pipeline| {
            pipeline
                .steps
                .iter()
                .any(|step| step.sandbox_limits(&pipeline.limits.value).fuel.is_some())
        })
    }
}

/// One pipeline: a source, a chain of plugin steps and a sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Unique within the file; used in logs, metrics and `weir status`.
    pub name: Spanned<String>,
    pub source: SourceConfig,
    pub steps: Vec<StepConfig>,
    pub sink: SinkConfig,
    /// Failure policy for events whose processing fails. Steps may override it.
    #[serde(default = "unlocated")]
    pub failure: Spanned<FailurePolicy>,
    /// Sandbox limits of every step's plugin instances; steps may override them.
    #[serde(default = "unlocated")]
    pub limits: Spanned<Limits>,
}

/// Kind of a pipeline's source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Embedded topics in a local folder.
    Local,
    /// An Apache Kafka consumer group.
    Kafka,
}

/// Start position of a consumer group on a partition without a committed offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartPosition {
    /// The first retained event.
    #[default]
    Earliest,
    /// The end of the partition: only events written after the group starts.
    Latest,
}

/// The source of a pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub kind: Spanned<SourceKind>,
    /// Folder of the embedded topics, relative to the pipeline file (`local` only).
    pub path: Option<Spanned<PathBuf>>,
    /// Kafka brokers to bootstrap from, such as `127.0.0.1:9092` (`kafka` only).
    pub bootstrap_servers: Option<Spanned<String>>,
    /// librdkafka consumer properties, such as TLS and SASL settings (`kafka` only).
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Topics to consume; every partition of each is processed. On Kafka, a name that starts
    /// with `^` is a regular expression matched against all topics.
    pub topics: Spanned<Vec<String>>,
    /// Consumer group whose committed offsets record the progress.
    pub group: Spanned<String>,
    #[serde(default)]
    pub start: StartPosition,
    /// Maximum number of events handed to the plugin chain in one call.
    #[serde(default = "default_batch_size")]
    pub batch_size: Spanned<usize>,
    /// How long an idle partition waits before it looks for new events again.
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// On a rebalance or shutdown, how long partition workers may take to finish their
    /// batch before their partitions are given up without a commit (`kafka` only).
    #[serde(default = "default_drain_timeout", with = "humantime_serde")]
    pub drain_timeout: Duration,
    /// Batches of one partition whose outputs may await the broker's acknowledgement while
    /// the next batch runs (`kafka` only). Offsets are committed only up to the oldest batch
    /// still waiting.
    #[serde(default = "default_max_in_flight_batches")]
    pub max_in_flight_batches: usize,
}

/// Returns the default of a setting the file leaves out, with no place in the file.
fn unlocated<T: Default>() -> Spanned<T> {
    Spanned::new(
        T::default(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

fn default_max_in_flight_batches() -> usize {
    4
}

fn default_drain_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_batch_size() -> Spanned<usize> {
    Spanned::new(
        256,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

fn default_poll_interval() -> Duration {
    Duration::from_millis(100)
}

/// Kind of a pipeline's sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// Embedded topics in a local folder.
    Local,
    /// An Apache Kafka idempotent producer with `acks=all`.
    Kafka,
}

/// The sink of a pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    pub kind: Spanned<SinkKind>,
    /// Folder of the embedded topics, relative to the pipeline file (`local` only).
    pub path: Option<Spanned<PathBuf>>,
    /// Kafka brokers to bootstrap from (`kafka` only).
    pub bootstrap_servers: Option<Spanned<String>>,
    /// librdkafka producer properties (`kafka` only). Weir sets `enable.idempotence=true`
    /// and `acks=all`, which these cannot override.
    #[serde(default)]
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Topic of every output whose plugin names no topic.
    pub topic: Spanned<String>,
    /// Outputs one event may produce; more is a failure of that event.
    #[serde(default = "default_max_outputs_per_event")]
    pub max_outputs_per_event: usize,
    /// Largest output record, counting key, value and headers, such as `1 MiB`.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: ByteSize,
    /// Adds the header `weir.plugins` to every output, naming each step's plugin version as
    /// `step@digest` (12 hex digits of its SHA-256).
    #[serde(default = "default_version_header")]
    pub version_header: bool,
}

fn default_version_header() -> bool {
    true
}

fn default_max_outputs_per_event() -> usize {
    1000
}

/// Matches the default `message.max.bytes` of a Kafka broker, so that a pipeline that runs on
/// embedded topics does not fail on Kafka for record size.
fn default_max_record_bytes() -> ByteSize {
    ByteSize::b(1_048_588)
}

/// One plugin step of the chain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Unique within the pipeline.
    pub name: Spanned<String>,
    /// Path of the plugin component (`.wasm`), relative to the pipeline file.
    pub plugin: Spanned<PathBuf>,
    /// Passed to the plugin's `init`: scalars as their text, nested values as JSON.
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    /// Overrides fields of the pipeline's failure policy for this step; the rest are inherited.
    pub failure: Option<Spanned<FailureOverride>>,
    /// Overrides fields of the pipeline's sandbox limits for this step; the rest are inherited.
    pub limits: Option<Spanned<LimitsOverride>>,
    /// Host resources the plugin may reach; it gets none that are not listed.
    #[serde(default)]
    pub grants: Grants,
}

impl StepConfig {
    /// Returns the step's failure policy: the pipeline's, with the step's overrides applied.
    pub fn failure_policy(&self, pipeline: &FailurePolicy) -> FailurePolicy {
        let Some(Spanned { value: step, .. }) = &self.failure else {
            return pipeline.clone();
        };
        FailurePolicy {
            max_attempts: step.max_attempts.unwrap_or(pipeline.max_attempts),
            initial_backoff: step.initial_backoff.unwrap_or(pipeline.initial_backoff),
            max_backoff: step.max_backoff.unwrap_or(pipeline.max_backoff),
            dead_letter_topic: step
                .dead_letter_topic
                .clone()
                .or_else(|| pipeline.dead_letter_topic.clone()),
            on_exhausted: step.on_exhausted.or(pipeline.on_exhausted),
        }
    }

    /// Returns the step's sandbox limits: the pipeline's, with the step's overrides applied.
    pub fn sandbox_limits(&self, pipeline: &Limits) -> Limits {
        let Some(Spanned { value: step, .. }) = &self.limits else {
            return *pipeline;
        };
        Limits {
            call_timeout: step.call_timeout.unwrap_or(pipeline.call_timeout),
            max_memory: step.max_memory.unwrap_or(pipeline.max_memory),
            fuel: step.fuel.or(pipeline.fuel),
        }
    }
}

/// Host resources granted to one step's plugin. Network access is never granted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Host folders the plugin may open, read-only unless marked `writable`.
    #[serde(default)]
    pub dirs: Vec<DirGrant>,
    /// Names of environment variables whose values, taken from Weir's environment at start,
    /// the plugin may read.
    #[serde(default)]
    pub env: Vec<String>,
}

/// A host folder granted to a plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DirGrant {
    /// Just the folder: read-only, seen by the plugin at the path as written.
    Path(PathBuf),
    Detailed(DirGrantDetails),
}

/// A host folder granted to a plugin, with its path inside the plugin and whether it may write.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrantDetails {
    /// The host folder, relative to the pipeline file.
    pub path: PathBuf,
    /// Path under which the plugin opens the folder; defaults to `path` as written.
    pub guest: Option<String>,
    #[serde(default)]
    pub writable: bool,
}

/// A host folder grant with its paths resolved, as the sandbox applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDirGrant {
    pub host: PathBuf,
    pub guest: String,
    pub writable: bool,
}

impl DirGrant {
    /// Resolves the host path against `base` (the pipeline file's folder).
    pub fn resolve(&self, base: &std::path::Path) -> ResolvedDirGrant {
        let (path, guest, writable) = match self {
            DirGrant::Path(path) => (path, None, false),
            DirGrant::Detailed(details) => (&details.path, details.guest.clone(), details.writable),
        };
        let written = path.to_string_lossy();
        let guest = guest.unwrap_or_else(|| {
            let trimmed = written.trim_start_matches("./");
            if trimmed.is_empty() { "." } else { trimmed }.to_string()
        });
        ResolvedDirGrant {
            host: base.join(path),
            guest,
            writable,
        }
    }
}

/// Action for an event that has failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnExhausted {
    /// Write the event to the dead-letter topic, then move on.
    DeadLetter,
    /// Stop the partition at the event and keep retrying it; other partitions go on.
    Pause,
    /// Log the event at error level and move on without it.
    Skip,
}

/// Retries, dead letters and what happens when both run out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailurePolicy {
    /// Attempts for an event that fails with `retry` or traps, the first one included.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Wait before the second attempt; each later wait doubles, with jitter.
    #[serde(default = "default_initial_backoff", with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Upper bound of the wait between two attempts.
    #[serde(default = "default_max_backoff", with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Topic that receives events that failed for good, with headers describing the failure.
    pub dead_letter_topic: Option<String>,
    /// Defaults to `dead-letter` when a dead-letter topic is set, else `pause`.
    pub on_exhausted: Option<OnExhausted>,
}

impl Default for FailurePolicy {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
            dead_letter_topic: None,
            on_exhausted: None,
        }
    }
}

impl FailurePolicy {
    /// Returns the action for an event that failed for good.
    pub fn on_exhausted(&self) -> OnExhausted {
        match (self.on_exhausted, &self.dead_letter_topic) {
            (Some(action), _) => action,
            (None, Some(_)) => OnExhausted::DeadLetter,
            (None, None) => OnExhausted::Pause,
        }
    }
}

/// Fields of [`FailurePolicy`] that a step sets for itself.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureOverride {
    pub max_attempts: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    pub initial_backoff: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub max_backoff: Option<Duration>,
    pub dead_letter_topic: Option<String>,
    pub on_exhausted: Option<OnExhausted>,
}

fn default_max_attempts() -> u32 {
    3
}

fn default_initial_backoff() -> Duration {
    Duration::from_millis(100)
}

fn default_max_backoff() -> Duration {
    Duration::from_secs(10)
}

/// The sandbox of a plugin instance.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock deadline of one call into the plugin (`init` or one batch).
    #[serde(default = "default_call_timeout", with = "humantime_serde")]
    pub call_timeout: Duration,
    /// Maximum linear memory of one instance, such as `64 MiB`.
    #[serde(default = "default_max_memory")]
    pub max_memory: ByteSize,
    /// Fuel one call may burn, roughly one unit per WebAssembly instruction. Unset means no
    /// fuel metering, which is faster; the deadline still bounds every call.
    #[serde(default)]
    pub fuel: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            call_timeout: default_call_timeout(),
            max_memory: default_max_memory(),
            fuel: None,
        }
    }
}

/// Fields of [`Limits`] that a step sets for itself.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    #[serde(default, with = "humantime_serde")]
    pub call_timeout: Option<Duration>,
    pub max_memory: Option<ByteSize>,
    pub fuel: Option<u64>,
}

fn default_call_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_max_memory() -> ByteSize {
    ByteSize::mib(128)
}
