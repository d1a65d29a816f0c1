//! Pipeline files: the YAML model, its defaults and the checks run before anything starts.
//!
//! `weir validate` and `weir run` share [`load_pipeline_file`], so a file that validates is a
//! file that starts, up to what only a running system can show (a broker that is down, say).

mod error;
mod load;
mod locate;
mod model;

pub use error::{ConfigError, ConfigErrors};
pub use load::{check_topic_name, load_pipeline_file, parse_pipeline_file};
pub use model::{
    DirGrant, FailureOverride, FailurePolicy, Grants, Limits, LimitsOverride, OnExhausted,
    PipelineConfig, PipelineFile, ResolvedDirGrant, SinkConfig, SinkKind, SourceConfig, SourceKind,
    StartPosition, StepConfig,
};
