//! Running pipelines: partition workers, the plugin chain, failure handling and commits.

mod batch;
mod chain;
mod control;
mod failure;
mod replay;
mod runner;
mod slot;
mod stats;
mod status;
mod steps;
mod watch;
mod worker;

pub use batch::{
    BatchProcessor, ResolvedBatch, SinkTopic, TopicCatalog, VERSION_HEADER, WriteSource, wire_size,
};
pub use chain::{Chain, EventOutcome, StepFailure, StepFailureKind, StepSpec};
pub use control::{ControlError, PipelineControl, PluginSource, SwapReport};
pub use failure::{OutputRejection, RejectionAction, dead_letter_header};
pub use replay::{ReplayError, replay_record};
pub use runner::{RunOptions, prepare_pipeline, run_pipelines, worker_settings};
pub use slot::{StepSlot, SwapRecord};
pub use stats::{PipelineStats, StatsSnapshot};
pub use status::{
    PartitionHandle, PartitionState, PartitionStatus, PauseInfo, PipelineReport, StatusBoard,
    StatusReport, StepReport,
};
pub use steps::{prepare_step, prepare_steps};
pub(crate) use worker::event_from_record;
pub use worker::{BatchProgress, PartitionWorker, WorkerSettings};
