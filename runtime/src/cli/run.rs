use std::path::PathBuf;
use std::process::ExitCode;

use weir::config::load_pipeline_file;
use weir::pipeline::{RunOptions, run_pipelines};

use super::{AdminArgs, CacheArgs};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Pipeline file (YAML).
    file: PathBuf,

    /// Run only the pipeline of this name.
    #[arg(long)]
    pipeline: Option<String>,

    /// Exit once every partition is processed to its end, instead of waiting for new events.
    #[arg(long)]
    stop_at_end: bool,

    #[command(flatten)]
    cache: CacheArgs,

    #[command(flatten)]
    admin: AdminArgs,

    /// Do not watch plugin files and the pipeline file for changes. By default a changed
    /// plugin file is swapped in and a changed pipeline file is reloaded while running.
    #[arg(long)]
    no_watch: bool,
}

pub fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let file = load_pipeline_file(&args.file)?;
    let engine = args.cache.engine(&file)?;
    let options = RunOptions {
        pipeline: args.pipeline,
        stop_at_end: args.stop_at_end,
        admin: args.admin.options()?,
        file: Some(args.file.clone()),
        watch: !args.no_watch,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weir-io")
        .build()?;
    runtime.block_on(run_pipelines(engine, file, options))?;
    Ok(ExitCode::SUCCESS)
}
