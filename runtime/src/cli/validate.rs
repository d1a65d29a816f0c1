use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use weir::config::SourceKind;
use weir::config::load_pipeline_file;
use weir::pipeline::{prepare_pipeline, prepare_steps};

use super::CacheArgs;

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Pipeline file (YAML).
    file: PathBuf,

    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs every check that `weir run` runs before it consumes: the file itself, each plugin
/// (component, contract version, `init` with the step's config) and the topics.
pub fn execute(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let file = load_pipeline_file(&args.file)?;
    let engine = args.cache.engine(&file)?;

    for pipeline in &file.pipelines {
        let checked = match pipeline.source.kind.value {
            SourceKind::Local => prepare_pipeline(&engine, pipeline, &Arc::default()).map(drop),
            // Validation does not contact the brokers, so it works where they are out of reach.
            SourceKind::Kafka => prepare_steps(&engine, pipeline).map(drop),
        };
        checked.map_err(|error| {
            error.context(format!("pipeline `{}` is invalid", pipeline.name.value))
        })?;
        outln!(
            "pipeline `{}`: ok ({} steps)",
            pipeline.name.value,
            pipeline.steps.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
