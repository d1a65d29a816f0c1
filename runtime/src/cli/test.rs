use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use weir::config::{FailurePolicy, Limits};
use weir::fixtures::{compare, expected_line, parse_expected, parse_input};
use weir::pipeline::{Chain, StepSlot, StepSpec};
use weir::plugin::{ConfigEntry, Sandbox};

use super::CacheArgs;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The plugin component (`.wasm`).
    plugin: PathBuf,

    /// Input events, one JSON object per line in the `weir topic produce` format.
    #[arg(long)]
    input: PathBuf,

    /// Expected results, one JSON line per input event: `{"outputs": [...]}` or
    /// `{"failure": "reject"}`.
    #[arg(long)]
    expect: PathBuf,

    /// A config entry passed to the plugin's `init`, as KEY=VALUE; repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = super::parse_key_value)]
    config: Vec<(String, String)>,

    /// Events per `process` call.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: u32,

    /// Write the plugin's results to the --expect file instead of comparing, to start a
    /// fixture. Check the file by hand before relying on it.
    #[arg(long)]
    record: bool,

    #[command(flatten)]
    cache: CacheArgs,
}

/// Runs a plugin over fixture events, in batches, through the same sandbox as `weir run`
/// with default limits, and compares each event's outputs or failure with the expected ones.
/// Retries and dead letters are left out, so each event's result is the plugin's own.
pub fn execute(args: TestArgs) -> anyhow::Result<ExitCode> {
    let input = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let events =
        parse_input(&input).map_err(|error| anyhow::anyhow!("{}:{error}", args.input.display()))?;

    let engine = args.cache.engine_without_fuel()?;
    let started = Instant::now();
    let plugin = engine.load(&args.plugin)?;
    let loaded_in = started.elapsed();
    let name = args.plugin.file_stem().map_or_else(
        || "plugin".to_string(),
        |stem| stem.to_string_lossy().into_owned(),
    );
    let spec = StepSpec {
        pipeline: "weir-test".into(),
        name: name.as_str().into(),
        plugin,
        config: args
            .config
            .iter()
            .map(|(key, value)| ConfigEntry {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
        sandbox: Sandbox {
            limits: Limits::default(),
            ..Sandbox::default()
        },
        failure: FailurePolicy::default(),
    };
    let slot = Arc::new(StepSlot::new(Arc::new(spec)));
    let started = Instant::now();
    let mut chain = Chain::new(&[slot], Some(0))?;
    let started_in = started.elapsed();

    let started = Instant::now();
    let mut outcomes = Vec::with_capacity(events.len());
    for batch in events.chunks(args.batch_size as usize) {
        outcomes.extend(chain.process(batch));
    }
    let processed_in = started.elapsed();
    eprintln!(
        "{}: loaded in {} ms, started in {} ms, {} events in {} ms ({} per call)",
        args.plugin.display(),
        loaded_in.as_millis(),
        started_in.as_millis(),
        events.len(),
        processed_in.as_millis(),
        args.batch_size
    );

    if args.record {
        let mut file = std::fs::File::create(&args.expect)
            .with_context(|| format!("cannot write {}", args.expect.display()))?;
        for outcome in &outcomes {
            writeln!(file, "{}", expected_line(outcome))?;
        }
        eprintln!(
            "recorded {} results in {}",
            outcomes.len(),
            args.expect.display()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let expected_text = std::fs::read_to_string(&args.expect)
        .with_context(|| format!("cannot read {}", args.expect.display()))?;
    let expected = parse_expected(&expected_text)
        .map_err(|error| anyhow::anyhow!("{}:{error}", args.expect.display()))?;
    let differences = compare(&expected, &outcomes);
    for difference in &differences {
        outln!("{difference}");
    }
    if differences.is_empty() {
        outln!("ok: {} events match", events.len());
        Ok(ExitCode::SUCCESS)
    } else {
        outln!(
            "FAILED: {} of {} events differ",
            differences.len(),
            events.len()
        );
        Ok(ExitCode::FAILURE)
    }
}
