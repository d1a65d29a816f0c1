//! The quick-start pipeline end to end on Kafka: `weir run --stop-at-end` against a native
//! Rust baseline, a plain rdkafka loop that calls the same three plugins as native Rust.
//!
//! Each run produces the same sample orders (`weir sample orders`, seed 42) into a fresh input
//! topic. Both sides then consume that topic with their own new group and write to their own
//! new output topics, in alternating order from run to run. After each side the bench checks
//! that the group committed every input event, and after both it checks that the two sides
//! wrote the same number of records to each output topic. It reports wall time, CPU time
//! and peak RSS of each side's process, and the medians over the runs. Before each side it
//! waits, for up to [`QUIET_MAX_WAIT`], until other processes leave the CPUs nearly idle.
//!
//! Start a broker first, for example with `.ci/kafka/kafka.sh start`, then run
//! `WEIR_BENCH_KAFKA=127.0.0.1:19092 cargo bench -p weir --bench kafka_pipeline`, with
//! `-- --runs N --events N --partitions N` to change the defaults. Set `WEIR_BIN` to measure
//! another `weir` binary than the release build that cargo made for the bench, and
//! `WEIR_BENCH_KAFKA_PID` to the broker's PID to report its CPU time apart, such as
//! `WEIR_BENCH_KAFKA_PID=$(cat .kafka/broker.pid)` for the broker of `.ci/kafka/kafka.sh`.

mod measure;
mod native;
mod report;
mod topics;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use clap::{Parser, Subcommand};

use measure::run_measured;
use report::{Measurement, Side};
use topics::{SideTopics, committed_total, create_topic, record_count, run_weir};

/// Environment variable with the bootstrap servers of the broker to measure against.
const BROKERS_VARIABLE: &str = "WEIR_BENCH_KAFKA";

/// Environment variable with the PID of a broker on this machine, whose CPU time the bench
/// then reports apart from other processes' time.
const BROKER_PID_VARIABLE: &str = "WEIR_BENCH_KAFKA_PID";

/// Before each side, the bench waits until the machine's processes use fewer CPUs than this,
/// or until [`QUIET_MAX_WAIT`] has passed, and reports the last reading.
const QUIET_THRESHOLD: f64 = 0.25;
const QUIET_MAX_WAIT: Duration = Duration::from_secs(120);

/// Environment variable naming the `weir` binary to measure.
const WEIR_BIN_VARIABLE: &str = "WEIR_BIN";

/// The quick-start pipeline's `batch_size`, used by both sides.
const BATCH_SIZE: usize = 256;

/// Weir's default `max_in_flight_batches`, which applies to each partition.
const MAX_IN_FLIGHT_BATCHES_PER_PARTITION: usize = 4;

/// Maximum time one side of one run may take before it is killed.
const SIDE_TIMEOUT: Duration = Duration::from_secs(600);

/// Builds the plugin components that the Weir side loads.
const BUILD_COMMAND: &str = "cargo build --target wasm32-wasip2 --profile plugin \
     -p drop-test-orders -p redact-customer -p order-lines";

#[derive(Parser)]
#[command(about = "Weir against a native rdkafka loop on the quick-start pipeline")]
struct Options {
    /// Timed runs, each on fresh topics and groups.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Sample order events per run.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Partitions of the input topic and of the orders-clean and order-lines topics.
    #[arg(long, default_value_t = 6)]
    partitions: u32,
    /// Set by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Subcommand)]
enum Mode {
    /// Runs the native baseline in this process; the bench starts it as a child process.
    #[command(hide = true)]
    Native {
        #[arg(long)]
        brokers: String,
        #[arg(long)]
        input_topic: String,
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        events: u64,
        #[arg(long)]
        max_in_flight_batches: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    if let Some(Mode::Native {
        brokers,
        input_topic,
        prefix,
        events,
        max_in_flight_batches,
    }) = options.mode
    {
        return run_native_child(brokers, input_topic, &prefix, events, max_in_flight_batches);
    }

    let Some(brokers) = std::env::var(BROKERS_VARIABLE)
        .ok()
        .filter(|value| !value.is_empty())
    else {
        eprintln!(
            "error: {BROKERS_VARIABLE} is not set. Start a broker with `.ci/kafka/kafka.sh start` \
             and set {BROKERS_VARIABLE} to the bootstrap servers that it prints, such as \
             {BROKERS_VARIABLE}=127.0.0.1:19092"
        );
        std::process::exit(2);
    };
    ensure!(options.runs > 0, "--runs must be at least 1");
    ensure!(options.events > 0, "--events must be at least 1");
    ensure!(options.partitions > 0, "--partitions must be at least 1");
    run_bench(&options, &brokers)
}

/// Runs the native baseline and prints what it read and produced as one JSON line.
fn run_native_child(
    brokers: String,
    input_topic: String,
    prefix: &str,
    events: u64,
    max_in_flight_batches: usize,
) -> anyhow::Result<()> {
    let topics = SideTopics::new(prefix);
    let settings = native::NativeSettings {
        brokers,
        input_topic,
        group: topics.group,
        sink_topic: topics.clean,
        lines_topic: topics.lines,
        dead_letter_topic: topics.dead_letter,
        batch_size: BATCH_SIZE,
        max_in_flight_batches,
        events,
        time_limit: SIDE_TIMEOUT,
    };
    let summary = native::run(&settings)?;
    let summary = serde_json::json!({
        "produced": summary.produced,
        "to_end_ms": summary.to_end.as_millis() as u64,
        "elapsed_ms": summary.elapsed.as_millis() as u64,
    });
    println!("{summary}");
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the runtime crate sits in the workspace root")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn plugin_path(package: &str) -> PathBuf {
    let file = format!("{}.wasm", package.replace('-', "_"));
    target_dir().join("wasm32-wasip2/plugin").join(file)
}

/// Builds the plugin components, so that the Weir side never loads stale ones.
fn build_plugins() -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(workspace_root())
        .args(BUILD_COMMAND.split_whitespace().skip(1))
        .status()
        .with_context(|| format!("cannot run `{cargo}`; run `{BUILD_COMMAND}` yourself"))?;
    ensure!(
        status.success(),
        "building the plugin components failed ({status}); fix the build and run `{BUILD_COMMAND}`"
    );
    Ok(())
}

/// Writes the quick-start pipeline with Kafka as source and sink, as `tests/common/mod.rs`
/// writes it for the Kafka tests.
fn write_pipeline(
    path: &Path,
    brokers: &str,
    input: &str,
    topics: &SideTopics,
) -> anyhow::Result<()> {
    let yaml = format!(
        r#"pipelines:
  - name: kafka-bench
    source:
      kind: kafka
      bootstrap_servers: {brokers}
      topics: [{input}]
      group: {group}
      start: earliest
      batch_size: {BATCH_SIZE}
    steps:
      - name: drop-test-orders
        plugin: {drop}
      - name: redact-customer
        plugin: {redact}
        config:
          mask: REDACTED
      - name: order-lines
        plugin: {lines_plugin}
        config:
          lines_topic: {lines}
    sink:
      kind: kafka
      bootstrap_servers: {brokers}
      topic: {clean}
    failure:
      max_attempts: 3
      dead_letter_topic: {dead_letter}
"#,
        group = topics.group,
        lines = topics.lines,
        clean = topics.clean,
        dead_letter = topics.dead_letter,
        drop = plugin_path("drop-test-orders").display(),
        redact = plugin_path("redact-customer").display(),
        lines_plugin = plugin_path("order-lines").display(),
    );
    std::fs::write(path, yaml).with_context(|| format!("cannot write {}", path.display()))
}

/// Returns the last JSON log line in `log` whose message is `message`.
fn log_line(log: &str, message: &str) -> Option<serde_json::Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .rfind(|line| line["fields"]["message"] == message)
}

/// Returns the time from the log line `from` to the log line `to`, from their timestamps.
fn log_interval(log: &str, from: &str, to: &str) -> Option<Duration> {
    let timestamp = |message| {
        let line = log_line(log, message)?;
        humantime::parse_rfc3339_weak(line["timestamp"].as_str()?).ok()
    };
    timestamp(to)?.duration_since(timestamp(from)?).ok()
}

/// The bench's scratch folder, the weir binary and the sample input.
struct Setup {
    work: PathBuf,
    /// The broker's process on this machine, when [`BROKER_PID_VARIABLE`] names it.
    broker_pid: Option<u32>,
    weir: PathBuf,
    brokers: String,
    orders: PathBuf,
    cache: PathBuf,
}

fn run_bench(options: &Options, brokers: &str) -> anyhow::Result<()> {
    build_plugins()?;
    let work = tempfile::Builder::new()
        .prefix("bench-kafka-pipeline-")
        .tempdir()
        .context("cannot create the scratch folder")?;
    let setup = Setup {
        work: work.path().to_path_buf(),
        broker_pid: broker_pid()?,
        weir: std::env::var_os(WEIR_BIN_VARIABLE)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_weir"))),
        brokers: brokers.to_string(),
        orders: work.path().join("orders.jsonl"),
        cache: work.path().join("cache"),
    };
    let events = options.events.to_string();
    run_weir(
        &setup.weir,
        brokers,
        &[
            "sample",
            "orders",
            "--count",
            &events,
            "--output",
            path_str(&setup.orders)?,
        ],
    )?;

    println!(
        "{} runs of {} events, {} partitions, broker {brokers}, {}, scratch folder {}",
        options.runs,
        options.events,
        options.partitions,
        setup.weir.display(),
        setup.work.display()
    );
    report::print_header();
    let mut measurements = Vec::new();
    for run in 1..=options.runs {
        // Alternating the order spreads any advantage of going first or second over both.
        let order = if run % 2 == 1 {
            [Side::Weir, Side::Native]
        } else {
            [Side::Native, Side::Weir]
        };
        let run_prefix = format!("kafka-bench-{}-{run}", std::process::id());
        let input = format!("{run_prefix}-orders");
        create_topic(&setup.weir, brokers, &input, options.partitions)?;
        run_weir(
            &setup.weir,
            brokers,
            &[
                "topic",
                "produce",
                &input,
                "--input",
                path_str(&setup.orders)?,
            ],
        )?;

        let mut run_measurements = Vec::new();
        for side in order {
            let topics = SideTopics::new(&format!("{run_prefix}-{}", side.name()));
            topics.create(&setup.weir, brokers, options.partitions)?;
            let measurement = match side {
                Side::Weir => measure_weir(&setup, options, run, &input, &topics)?,
                Side::Native => measure_native(&setup, options, run, &input, &topics)?,
            };
            report::print_row(&measurement);
            run_measurements.push(measurement);
        }
        check_same_outputs(&run_measurements)?;
        measurements.extend(run_measurements);
    }
    report::print_medians(&measurements);
    Ok(())
}

/// Reads the broker's PID from [`BROKER_PID_VARIABLE`], when it is set.
fn broker_pid() -> anyhow::Result<Option<u32>> {
    let Ok(value) = std::env::var(BROKER_PID_VARIABLE) else {
        return Ok(None);
    };
    let pid = value.trim().parse().with_context(|| {
        format!("{BROKER_PID_VARIABLE} is `{value}`, not a process id; set it to the broker's PID")
    })?;
    Ok(Some(pid))
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("path {} is not UTF-8", path.display()))
}

fn measure_weir(
    setup: &Setup,
    options: &Options,
    run: usize,
    input: &str,
    topics: &SideTopics,
) -> anyhow::Result<Measurement> {
    let pipeline = setup.work.join(format!("run-{run}.yaml"));
    write_pipeline(&pipeline, &setup.brokers, input, topics)?;
    if run == 1 {
        // Compiles the plugins into the cache, so that no run measures the compilation.
        run_weir(
            &setup.weir,
            &setup.brokers,
            &[
                "validate",
                path_str(&pipeline)?,
                "--cache-dir",
                path_str(&setup.cache)?,
            ],
        )?;
    }

    let log_path = setup.work.join(format!("run-{run}-weir.log"));
    let log_file = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut command = Command::new(&setup.weir);
    command
        .args(["--log", "info", "--log-format", "json", "run"])
        .arg(&pipeline)
        .args(["--stop-at-end", "--admin", "off", "--cache-dir"])
        .arg(&setup.cache)
        .stdout(Stdio::null())
        .stderr(log_file);
    let busy_before = measure::wait_for_quiet(QUIET_THRESHOLD, QUIET_MAX_WAIT)?;
    let (status, usage) = run_measured(&mut command, SIDE_TIMEOUT, setup.broker_pid)?;
    let log = std::fs::read_to_string(&log_path)
        .with_context(|| format!("cannot read {}", log_path.display()))?;
    if !status.success() {
        bail!("weir run failed ({status}); see {}", log_path.display());
    }
    let processed =
        log_line(&log, "pipeline stopped").and_then(|line| line["fields"]["events"].as_u64());
    ensure!(
        processed == Some(options.events),
        "weir processed {processed:?} events, expected {}; see {}",
        options.events,
        log_path.display()
    );
    // A Kafka pipeline's `pipeline stopped` line has no elapsed time, so the log's
    // timestamps give it.
    let processing = log_interval(&log, "subscribed", "pipeline stopped");
    let to_end = log_interval(
        &log,
        "subscribed",
        "every assigned partition is processed to its end",
    );
    let observed = Observed {
        usage,
        busy_before,
        processing,
        to_end,
    };
    finish_measurement(setup, options, run, Side::Weir, input, topics, observed)
}

fn measure_native(
    setup: &Setup,
    options: &Options,
    run: usize,
    input: &str,
    topics: &SideTopics,
) -> anyhow::Result<Measurement> {
    // Weir bounds the batches awaiting acknowledgement per partition, and the native loop's
    // batches mix partitions, so the same total bound applies to it.
    let max_in_flight = MAX_IN_FLIGHT_BATCHES_PER_PARTITION * options.partitions as usize;

    let output_path = setup.work.join(format!("run-{run}-native.json"));
    let output_file = std::fs::File::create(&output_path)
        .with_context(|| format!("cannot create {}", output_path.display()))?;
    let mut command =
        Command::new(std::env::current_exe().context("cannot find the bench binary")?);
    command
        .args([
            "native",
            "--brokers",
            &setup.brokers,
            "--input-topic",
            input,
            "--prefix",
            &topics.prefix,
        ])
        .args(["--events", &options.events.to_string()])
        .args(["--max-in-flight-batches", &max_in_flight.to_string()])
        .stdout(output_file);
    let busy_before = measure::wait_for_quiet(QUIET_THRESHOLD, QUIET_MAX_WAIT)?;
    let (status, usage) = run_measured(&mut command, SIDE_TIMEOUT, setup.broker_pid)?;
    ensure!(status.success(), "the native baseline failed ({status})");

    let output = std::fs::read_to_string(&output_path)
        .with_context(|| format!("cannot read {}", output_path.display()))?;
    let summary: serde_json::Value = serde_json::from_str(output.trim())
        .with_context(|| format!("the native baseline printed `{output}`, not a JSON summary"))?;
    let processing = summary["elapsed_ms"].as_u64().map(Duration::from_millis);
    let to_end = summary["to_end_ms"].as_u64().map(Duration::from_millis);
    let observed = Observed {
        usage,
        busy_before,
        processing,
        to_end,
    };
    finish_measurement(setup, options, run, Side::Native, input, topics, observed)
}

/// Observations of one side's process.
struct Observed {
    usage: measure::Usage,
    /// CPUs that the machine's processes used in the second before the process started.
    busy_before: f64,
    /// Time from subscribing to the end, when the process reported it.
    processing: Option<Duration>,
    /// Time from subscribing until the last input event was done, when reported.
    to_end: Option<Duration>,
}

/// Checks that the side's group committed every input event and counts its outputs.
fn finish_measurement(
    setup: &Setup,
    options: &Options,
    run: usize,
    side: Side,
    input: &str,
    topics: &SideTopics,
    observed: Observed,
) -> anyhow::Result<Measurement> {
    let committed = committed_total(&setup.brokers, &topics.group, input)?;
    ensure!(
        committed == options.events,
        "{} committed {committed} of {} input events",
        side.name(),
        options.events
    );
    let mut outputs = [0; 3];
    for (count, topic) in outputs.iter_mut().zip(topics.outputs()) {
        *count = record_count(&setup.brokers, topic)?;
    }
    Ok(Measurement {
        run,
        side,
        events: options.events,
        usage: observed.usage,
        busy_before: observed.busy_before,
        processing: observed.processing,
        to_end: observed.to_end,
        outputs,
    })
}

/// Fails when the two sides of a run wrote different numbers of records to an output topic,
/// because then they did different work.
fn check_same_outputs(measurements: &[Measurement]) -> anyhow::Result<()> {
    let [first, second] = measurements else {
        bail!(
            "expected one measurement per side, got {}",
            measurements.len()
        );
    };
    let names = ["orders-clean", "order-lines", "dead-letter"];
    for ((name, a), b) in names.iter().zip(first.outputs).zip(second.outputs) {
        ensure!(
            a == b,
            "run {}: {} wrote {a} records to {name} and {} wrote {b}",
            first.run,
            first.side.name(),
            second.side.name()
        );
    }
    Ok(())
}
