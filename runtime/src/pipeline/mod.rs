//! Running pipelines: partition workers, the plugin chain, failure handling and commits.

mod batch;
mod chain;
mod failure;
mod runner;
mod stats;
mod status;
mod worker;

pub use batch::{BatchProcessor, ResolvedBatch, SinkTopic, TopicCatalog, wire_size};
pub use chain::{Chain, EventOutcome, StepFailure, StepFailureKind, StepSpec};
pub use failure::dead_letter_header;
pub use runner::{RunOptions, prepare_pipeline, prepare_steps, run_pipelines, worker_settings};
pub use stats::{PipelineStats, StatsSnapshot};
pub use status::{
    PartitionHandle, PartitionState, PartitionStatus, PauseInfo, PipelineReport, StatusBoard,
    StatusReport,
};
pub(crate) use worker::event_from_record;
pub use worker::{BatchProgress, PartitionWorker, WorkerSettings};
