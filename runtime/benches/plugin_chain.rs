//! Throughput of the quick-start plugins on an in-memory batch of sample order events.
//!
//! The benchmark groups:
//!
//! - `chain`: drop-test-orders, redact-customer and order-lines in a row, with the
//!   quick-start configuration. `native` calls the plugins' Rust code directly and is the
//!   baseline. `wasm/N` runs the plugin components through [`Chain`] in batches of `N`
//!   events.
//! - `filter_step`: drop-test-orders alone on well-formed orders that are not test orders,
//!   so every event is parsed and passed through.
//! - `tombstone_step`: drop-test-orders alone on tombstones, which it passes through without
//!   parsing, so the figures show the cost of a call and of copying events in and out of
//!   the component.
//!
//! Throughput counts input events of the group. Run it with
//! `cargo bench -p weir --bench plugin_chain`. Before measuring, the bench builds the plugin
//! components with [`BUILD_COMMAND`], and it stops with that command in the message when
//! the build fails or a component is missing.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytesize::ByteSize;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use drop_test_orders::DropTestOrders;
use order_lines::OrderLines;
use redact_customer::RedactCustomer;
use weir::config::{FailurePolicy, Limits};
use weir::local::{NewRecord, parse_line};
use weir::pipeline::{Chain, EventOutcome, StepSlot, StepSpec};
use weir::plugin::{ConfigEntry, LoadedPlugin, LogContext, PluginEngine, PluginInstance, Sandbox};
use weir_plugin::{Config, Plugin};

/// Events per measured iteration: 16 full batches of 256.
const EVENT_COUNT: usize = 4096;

/// Seed of the sample data, the default of `weir sample orders`.
const SEED: u64 = 42;

/// Batch sizes of the component runs. 256 is the quick-start pipeline's `batch_size`.
const BATCH_SIZES: [usize; 4] = [1, 16, 64, 256];

/// Batch size of the native runs, where batching saves no call overhead.
const NATIVE_BATCH_SIZE: usize = 256;

const SOURCE_TOPIC: &str = "orders";

/// Builds the plugin components where [`plugin_path`] looks for them.
const BUILD_COMMAND: &str = "cargo build --target wasm32-wasip2 --profile plugin \
     -p drop-test-orders -p redact-customer -p order-lines";

/// The quick-start steps in chain order: package name and config, as in
/// `pipelines/quickstart.yaml`.
const STEPS: [(&str, &[(&str, &str)]); 3] = [
    ("drop-test-orders", &[]),
    ("redact-customer", &[("mask", "REDACTED")]),
    ("order-lines", &[("lines_topic", "order-lines")]),
];

/// Returns the sandbox of the quick-start pipeline's steps: its `limits` and no grants.
fn quickstart_sandbox() -> Sandbox {
    Sandbox {
        limits: Limits {
            call_timeout: Duration::from_secs(5),
            max_memory: ByteSize::mib(64),
            fuel: None,
        },
        ..Sandbox::default()
    }
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

/// Returns the component file of the plugin package `name`.
fn plugin_path(name: &str) -> PathBuf {
    let file = format!("{}.wasm", name.replace('-', "_"));
    target_dir().join("wasm32-wasip2/plugin").join(file)
}

/// Builds the three plugin components, so the bench never measures stale ones.
fn build_plugins() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    command.current_dir(workspace_root()).args([
        "build",
        "--target",
        "wasm32-wasip2",
        "--profile",
        "plugin",
    ]);
    for (package, _) in STEPS {
        command.args(["-p", package]);
    }

    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "building the plugin components failed ({status}); fix the build and run \
             `{BUILD_COMMAND}` in {}",
            workspace_root().display()
        ),
        Err(error) => panic!(
            "cannot run `{cargo}` to build the plugin components ({error}); run \
             `{BUILD_COMMAND}` in {}",
            workspace_root().display()
        ),
    }

    for (package, _) in STEPS {
        let path = plugin_path(package);
        assert!(
            path.is_file(),
            "plugin component {} is missing; build it with `{BUILD_COMMAND}` in {}",
            path.display(),
            workspace_root().display()
        );
    }
}

/// Generates [`EVENT_COUNT`] sample orders and parses them as `weir topic produce` does, so
/// the values are the bytes the quick start stores.
fn sample_records() -> Vec<NewRecord> {
    let mut lines = Vec::new();
    weir::sample_orders::generate(EVENT_COUNT, SEED, &mut lines)
        .expect("writing to a vector cannot fail");
    let text = String::from_utf8(lines).expect("the sample orders are UTF-8");

    text.lines()
        .enumerate()
        .map(|(index, line)| {
            parse_line(index + 1, line, SOURCE_TOPIC)
                .unwrap_or_else(|error| panic!("sample order line is invalid: {error}"))
        })
        .collect()
}

fn host_event(offset: usize, record: &NewRecord) -> weir::plugin::Event {
    weir::plugin::Event {
        topic: record.topic.clone(),
        partition: 0,
        offset: offset as i64,
        timestamp_ms: record.timestamp_ms,
        key: record.key.clone(),
        value: record.value.clone(),
        headers: Vec::new(),
    }
}

fn guest_event(offset: usize, record: &NewRecord) -> weir_plugin::Event {
    weir_plugin::Event {
        topic: record.topic.clone(),
        partition: 0,
        offset: offset as i64,
        timestamp_ms: record.timestamp_ms,
        key: record.key.clone(),
        value: record.value.clone(),
        headers: Vec::new(),
    }
}

fn step_config(entries: &[(&str, &str)]) -> Config {
    entries.iter().copied().collect()
}

/// The three quick-start plugins as native Rust.
struct NativeChain {
    filter: DropTestOrders,
    redact: RedactCustomer,
    lines: OrderLines,
}

/// Final outputs of a native chain run, as events, and the number of failed events.
struct NativeOutcome {
    outputs: Vec<weir_plugin::Event>,
    failures: usize,
}

impl NativeChain {
    fn new() -> Self {
        Self {
            filter: DropTestOrders::init(step_config(STEPS[0].1)).expect("valid config"),
            redact: RedactCustomer::init(step_config(STEPS[1].1)).expect("valid config"),
            lines: OrderLines::init(step_config(STEPS[2].1)).expect("valid config"),
        }
    }

    /// Runs a copy of `events` through the three steps. The outputs of a step are the events
    /// of the next, as in [`Chain::process`], and the copy stands for the copy into the
    /// component that the host makes.
    fn process(&mut self, events: &[weir_plugin::Event]) -> NativeOutcome {
        let mut failures = 0;
        let filtered = run_native_step(&mut self.filter, events.to_vec(), &mut failures);
        let redacted = run_native_step(&mut self.redact, filtered, &mut failures);
        let outputs = run_native_step(&mut self.lines, redacted, &mut failures);
        NativeOutcome { outputs, failures }
    }
}

/// Calls `plugin` on `events` and turns its outputs into the events of the next step.
fn run_native_step<P: Plugin>(
    plugin: &mut P,
    events: Vec<weir_plugin::Event>,
    failures: &mut usize,
) -> Vec<weir_plugin::Event> {
    let sources: Vec<(String, u32, i64, Option<i64>)> = events
        .iter()
        .map(|event| {
            let topic = event.topic.clone();
            (topic, event.partition, event.offset, event.timestamp_ms)
        })
        .collect();
    let results = plugin.process_batch(events);

    let mut next = Vec::with_capacity(results.len());
    for ((topic, partition, offset, timestamp_ms), result) in sources.into_iter().zip(results) {
        let Ok(outputs) = result else {
            *failures += 1;
            continue;
        };
        for output in outputs {
            next.push(weir_plugin::Event {
                topic: output.topic.unwrap_or_else(|| topic.clone()),
                partition,
                offset,
                timestamp_ms,
                key: output.key,
                value: output.value,
                headers: output.headers,
            });
        }
    }
    next
}

/// The output records of a run, as (topic, key, value), in order.
type Records = Vec<(String, Option<Vec<u8>>, Option<Vec<u8>>)>;

fn native_records(outcome: NativeOutcome) -> Records {
    outcome
        .outputs
        .into_iter()
        .map(|event| (event.topic, event.key, event.value))
        .collect()
}

/// Returns the output records of `outcomes` and the number of failed events.
fn chain_records(outcomes: Vec<EventOutcome>) -> (Records, usize) {
    let mut records = Vec::new();
    let mut failures = 0;
    for outcome in outcomes {
        let Ok(outputs) = outcome else {
            failures += 1;
            continue;
        };
        for output in outputs {
            let topic = output.topic.unwrap_or_else(|| SOURCE_TOPIC.to_string());
            records.push((topic, output.key, output.value));
        }
    }
    (records, failures)
}

fn load_steps(engine: &PluginEngine) -> Vec<Arc<StepSlot>> {
    let pipeline: Arc<str> = "plugin-chain-bench".into();
    STEPS
        .iter()
        .map(|(package, config)| {
            let plugin = load_plugin(engine, package);
            Arc::new(StepSlot::new(Arc::new(StepSpec {
                pipeline: Arc::clone(&pipeline),
                name: (*package).into(),
                plugin,
                config: config_entries(config),
                sandbox: quickstart_sandbox(),
                failure: FailurePolicy::default(),
            })))
        })
        .collect()
}

fn load_plugin(engine: &PluginEngine, package: &str) -> Arc<LoadedPlugin> {
    let path = plugin_path(package);
    engine
        .load(&path)
        .unwrap_or_else(|error| panic!("cannot load {}: {error}", path.display()))
}

fn config_entries(entries: &[(&str, &str)]) -> Vec<ConfigEntry> {
    entries
        .iter()
        .map(|(key, value)| ConfigEntry {
            key: key.to_string(),
            value: value.to_string(),
        })
        .collect()
}

fn new_instance(plugin: &Arc<LoadedPlugin>, step: &str) -> PluginInstance {
    let log = LogContext {
        pipeline: "plugin-chain-bench".into(),
        step: step.into(),
        plugin: plugin.short_digest().into(),
        partition: Some(0),
        offset: None,
    };
    PluginInstance::new(plugin, &[], &quickstart_sandbox(), log)
        .unwrap_or_else(|error| panic!("cannot instantiate {}: {error}", plugin.path().display()))
}

/// Sets flat sampling and a fixed measurement time. With criterion's default linear sampling,
/// the chain benchmarks, whose iterations take tens of milliseconds, would run for minutes.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, event_count: usize) {
    group.throughput(Throughput::Elements(event_count as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(3));
    group.measurement_time(Duration::from_secs(10));
}

fn bench_chain(c: &mut Criterion, engine: &PluginEngine, records: &[NewRecord]) {
    let host_events: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(offset, record)| host_event(offset, record))
        .collect();
    let guest_events: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(offset, record)| guest_event(offset, record))
        .collect();
    let steps = load_steps(engine);

    // The native and component chains must agree, or the comparison means nothing.
    let native_outcome = NativeChain::new().process(&guest_events);
    let native_failures = native_outcome.failures;
    let native = native_records(native_outcome);
    let mut chain = Chain::new(&steps, Some(0)).expect("the quick-start steps instantiate");
    let (wasm, wasm_failures) = chain_records(chain.process(&host_events));
    assert_eq!(wasm_failures, native_failures, "failed events differ");
    assert_eq!(wasm.len(), native.len(), "output counts differ");
    assert!(wasm == native, "output records differ");
    assert!(native_failures > 0, "the sample has malformed events");

    let mut group = c.benchmark_group("chain");
    configure(&mut group, host_events.len());

    let mut native_chain = NativeChain::new();
    group.bench_function("native", |b| {
        b.iter(|| {
            for batch in guest_events.chunks(NATIVE_BATCH_SIZE) {
                black_box(native_chain.process(batch));
            }
        })
    });

    for batch_size in BATCH_SIZES {
        let mut chain = Chain::new(&steps, Some(0)).expect("the quick-start steps instantiate");
        group.bench_with_input(
            BenchmarkId::new("wasm", batch_size),
            &batch_size,
            |b, &batch_size| {
                b.iter(|| {
                    for batch in host_events.chunks(batch_size) {
                        black_box(chain.process(batch));
                    }
                })
            },
        );
    }
    group.finish();
}

/// Benchmarks drop-test-orders alone on `records`, which it must pass through unchanged.
fn bench_single_step(
    c: &mut Criterion,
    group_name: &str,
    engine: &PluginEngine,
    records: &[NewRecord],
) {
    let host_events: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(offset, record)| host_event(offset, record))
        .collect();
    let guest_events: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(offset, record)| guest_event(offset, record))
        .collect();
    let (package, config) = STEPS[0];
    let plugin = load_plugin(engine, package);

    let mut filter = DropTestOrders::init(step_config(config)).expect("valid config");
    let mut instance = new_instance(&plugin, package);
    let results = instance
        .process(&host_events)
        .unwrap_or_else(|error| panic!("{package} failed on the {group_name} events: {error}"));
    let passed = results
        .iter()
        .filter(|result| matches!(result, Ok(outputs) if outputs.len() == 1))
        .count();
    assert_eq!(passed, host_events.len(), "every event must pass through");

    let mut group = c.benchmark_group(group_name);
    configure(&mut group, host_events.len());

    group.bench_function("native", |b| {
        b.iter(|| {
            for batch in guest_events.chunks(NATIVE_BATCH_SIZE) {
                black_box(filter.process_batch(batch.to_vec()));
            }
        })
    });

    for batch_size in [1, 256] {
        group.bench_with_input(
            BenchmarkId::new("wasm", batch_size),
            &batch_size,
            |b, &batch_size| {
                b.iter(|| {
                    for batch in host_events.chunks(batch_size) {
                        black_box(instance.process(batch).expect("the call succeeds"));
                    }
                })
            },
        );
    }
    group.finish();
}

/// Returns the records that drop-test-orders passes: well-formed orders that are not test
/// orders.
fn passing_records(records: &[NewRecord]) -> Vec<NewRecord> {
    let mut filter = DropTestOrders::init(Config::default()).expect("valid config");
    records
        .iter()
        .enumerate()
        .filter(|(offset, record)| {
            let result = filter.process(guest_event(*offset, record));
            matches!(result, Ok(outputs) if !outputs.is_empty())
        })
        .map(|(_, record)| record.clone())
        .collect()
}

/// Returns `records` as tombstones: the same keys with no value.
fn tombstones(records: &[NewRecord]) -> Vec<NewRecord> {
    records
        .iter()
        .map(|record| NewRecord {
            value: None,
            ..record.clone()
        })
        .collect()
}

fn plugin_benches(c: &mut Criterion) {
    build_plugins();
    let cache_dir = target_dir().join("weir-bench-cache");
    let engine = PluginEngine::new(Some(cache_dir), false).expect("the plugin engine starts");
    let records = sample_records();

    bench_chain(c, &engine, &records);
    bench_single_step(c, "filter_step", &engine, &passing_records(&records));
    bench_single_step(c, "tombstone_step", &engine, &tombstones(&records));
}

criterion_group!(benches, plugin_benches);
criterion_main!(benches);
