//! Running pipelines: partition workers, the plugin chain, failure handling and commits.

mod chain;
mod failure;
mod runner;
mod stats;
mod worker;

pub use chain::{Chain, EventOutcome, StepFailure, StepFailureKind, StepSpec};
pub use failure::dead_letter_header;
pub use runner::{RunOptions, prepare_pipeline, run_pipelines};
pub use stats::{PipelineStats, StatsSnapshot};
pub use worker::{BatchProgress, PartitionWorker, WorkerSettings};
