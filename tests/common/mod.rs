//! Helpers shared by the integration tests: building the plugins from source, running the
//! `weir` binary in a scratch folder, and reading topics and offsets back.

#![allow(dead_code)]

pub mod orders;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Plugins built for the tests, by package name.
const TEST_PLUGINS: &[&str] = &[
    "drop-test-orders",
    "redact-customer",
    "order-lines",
    "not-a-plugin",
    "scripted",
    "tag-init-fails",
    "tag-init-hangs",
    "tag-v1",
    "tag-v2",
    "wrong-contract-version",
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the runtime crate sits in the workspace root")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds every test plugin from source once per test binary and returns the `.wasm` path of
/// the package `name`.
pub fn plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.current_dir(workspace_root()).args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "plugin",
        ]);
        for package in TEST_PLUGINS {
            command.args(["-p", package]);
        }
        let status = command.status().expect("cargo runs");
        assert!(
            status.success(),
            "building the test plugins failed: {status}"
        );
    });

    let file = name.replace('-', "_");
    let library = target_dir().join(format!("wasm32-wasip2/plugin/{file}.wasm"));
    if library.exists() {
        return library;
    }
    // Binaries keep the package name as it is.
    target_dir().join(format!("wasm32-wasip2/plugin/{name}.wasm"))
}

/// A scratch folder with its own embedded topics, and the `weir` binary pointed at it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Builds a `weir` command with this folder's data and the shared compiled-plugin cache.
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_weir"));
        command
            .env("WEIR_DATA", self.data_dir())
            .env("WEIR_CACHE_DIR", target_dir().join("weir-test-cache"))
            .env("WEIR_LOG", "warn")
            // Tests run many `weir run` at once, so none claims the default admin address;
            // a test that needs the API passes --admin with a free port.
            .env("WEIR_ADMIN", "off")
            .current_dir(self.path());
        command
    }

    /// Runs `weir` with `args` and returns its output, whatever its exit status.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command();
        command.args(args);
        output_within_limit(command)
    }

    /// Runs `weir` with `args` and fails the test unless it succeeds.
    pub fn run_ok(&self, args: &[&str]) -> Output {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "`weir {}` failed: {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.run_ok(&[
            "topic",
            "create",
            name,
            "--partitions",
            &partitions.to_string(),
        ]);
    }

    /// Writes `count` sample order events to `orders.jsonl` and returns its path.
    pub fn sample_orders(&self, count: usize, seed: u64) -> PathBuf {
        let path = self.path().join("orders.jsonl");
        self.run_ok(&[
            "sample",
            "orders",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
            "--output",
            path.to_str().expect("a UTF-8 path"),
        ]);
        path
    }

    pub fn produce(&self, topic: &str, input: &Path) {
        self.run_ok(&[
            "topic",
            "produce",
            topic,
            "--input",
            input.to_str().expect("a UTF-8 path"),
        ]);
    }

    /// Reads every record of `topic` as the JSON objects `weir topic consume` prints.
    pub fn consume(&self, topic: &str) -> Vec<Value> {
        let output = self.run_ok(&["topic", "consume", topic]);
        String::from_utf8(output.stdout)
            .expect("UTF-8 output")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// Returns the committed offsets of `group`, by topic and partition.
    pub fn committed_offsets(&self, group: &str) -> BTreeMap<(String, u32), i64> {
        let output = self.run_ok(&["group", "describe", group]);
        // Partitions without a commit print a null offset; they are left out here.
        String::from_utf8(output.stdout)
            .expect("UTF-8 output")
            .lines()
            .filter_map(|line| {
                let value: Value = serde_json::from_str(line).expect("a JSON line");
                let topic = value["topic"].as_str().expect("a topic").to_string();
                let partition = value["partition"].as_u64().expect("a partition") as u32;
                let offset = value["committed_offset"].as_i64()?;
                Some(((topic, partition), offset))
            })
            .collect()
    }

    /// Writes a pipeline file and returns its path.
    pub fn write_pipeline(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, yaml).expect("the pipeline file is written");
        path
    }

    /// Creates the quick-start topics and writes the quick-start pipeline, with absolute
    /// paths, as `pipeline.yaml`.
    pub fn quickstart_pipeline(&self, partitions: u32, batch_size: usize) -> PathBuf {
        self.create_topic("orders", partitions);
        self.create_topic("orders-clean", partitions);
        self.create_topic("order-lines", partitions);
        self.create_topic("orders-dead-letter", 1);

        let yaml = format!(
            r#"
pipelines:
  - name: orders
    source:
      kind: local
      path: {data}
      topics: [orders]
      group: orders
      batch_size: {batch_size}
      poll_interval: 20ms
    steps:
      - name: drop-test-orders
        plugin: {drop}
      - name: redact-customer
        plugin: {redact}
      - name: order-lines
        plugin: {lines}
        config:
          lines_topic: order-lines
    sink:
      kind: local
      path: {data}
      topic: orders-clean
    failure:
      dead_letter_topic: orders-dead-letter
"#,
            data = self.data_dir().display(),
            drop = plugin("drop-test-orders").display(),
            redact = plugin("redact-customer").display(),
            lines = plugin("order-lines").display(),
        );
        self.write_pipeline("pipeline.yaml", &yaml)
    }
}

/// Maximum time one `weir` command may take in a test before it is killed, so that a hang
/// fails the test instead of stalling the whole run.
const COMMAND_LIMIT: Duration = Duration::from_secs(600);

/// Runs `command` to completion and returns its output. A command that runs past
/// [`COMMAND_LIMIT`] is killed with SIGKILL, which shows in the output as a failed status.
fn output_within_limit(mut command: Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the weir binary runs");
    let pid = child.id().to_string();
    let finished = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let finished = Arc::clone(&finished);
        std::thread::spawn(move || {
            let deadline = Instant::now() + COMMAND_LIMIT;
            while Instant::now() < deadline {
                if finished.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            if !finished.load(Ordering::Acquire) {
                eprintln!("weir (PID {pid}) ran past {COMMAND_LIMIT:?}; killing it");
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        })
    };
    let output = child.wait_with_output().expect("the weir binary runs");
    finished.store(true, Ordering::Release);
    let _ = watchdog.join();
    output
}

/// Returns a local address with a port that was free a moment ago, for a test's admin API.
pub fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free local port");
    listener.local_addr().expect("a bound address").to_string()
}

/// Returns the text of a record header, from the object `weir topic consume` prints.
pub fn header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["headers"][name].as_str()
}

/// Returns the Kafka brokers of the test cluster, which `scripts/test.sh` starts and names in
/// `WEIR_TEST_KAFKA`.
pub fn kafka_brokers() -> String {
    std::env::var("WEIR_TEST_KAFKA").unwrap_or_else(|_| {
        panic!(
            "WEIR_TEST_KAFKA is not set; run the tests with `bash scripts/test.sh`, which starts \
             a Kafka broker, or start one with `.ci/kafka/kafka.sh start` and set \
             WEIR_TEST_KAFKA=127.0.0.1:19092"
        )
    })
}

/// Returns `name` made unique to this process and moment, for topics and groups on the
/// shared test broker.
fn unique_name(name: &str) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_millis();
    format!("{name}-{}-{millis}", std::process::id())
}

/// Topic names of one Kafka test, unique per run so that tests share the broker.
pub struct KafkaTopics {
    pub orders: String,
    pub clean: String,
    pub lines: String,
    pub dead_letter: String,
    pub group: String,
}

impl Scratch {
    /// Runs `weir` against the test cluster.
    pub fn kafka(&self, args: &[&str]) -> Output {
        let mut command = self.command();
        command.env("WEIR_BROKERS", kafka_brokers()).args(args);
        let output = output_within_limit(command);
        assert!(
            output.status.success(),
            "`weir {}` failed: {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Reads every record of a Kafka topic.
    pub fn kafka_consume(&self, topic: &str) -> Vec<Value> {
        let output = self.kafka(&["topic", "consume", topic]);
        String::from_utf8(output.stdout)
            .expect("UTF-8 output")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// Returns a group's committed offsets on a Kafka topic, by partition; -1 where none.
    pub fn kafka_committed(&self, group: &str, topic: &str) -> BTreeMap<u32, i64> {
        let output = self.kafka(&["group", "describe", group, "--topic", topic]);
        String::from_utf8(output.stdout)
            .expect("UTF-8 output")
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).expect("a JSON line");
                let partition = value["partition"].as_u64().expect("a partition") as u32;
                (partition, value["committed_offset"].as_i64().unwrap_or(-1))
            })
            .collect()
    }

    /// Creates uniquely named quick-start topics on Kafka and writes a Kafka-to-Kafka
    /// quick-start pipeline as `kafka.yaml`.
    ///
    /// `extra_source` and `extra_sink` are YAML lines added to the source and sink, indented
    /// by six spaces.
    pub fn kafka_quickstart(
        &self,
        name: &str,
        partitions: u32,
        extra_source: &str,
        extra_sink: &str,
    ) -> (KafkaTopics, PathBuf) {
        let unique = unique_name(name);
        let topics = KafkaTopics {
            orders: format!("{unique}-orders"),
            clean: format!("{unique}-orders-clean"),
            lines: format!("{unique}-order-lines"),
            dead_letter: format!("{unique}-dead-letter"),
            group: format!("{unique}-group"),
        };
        for (topic, count) in [
            (&topics.orders, partitions),
            (&topics.clean, partitions),
            (&topics.lines, partitions),
            (&topics.dead_letter, 1),
        ] {
            self.kafka(&["topic", "create", topic, "--partitions", &count.to_string()]);
        }

        let yaml = format!(
            r#"
pipelines:
  - name: {name}
    source:
      kind: kafka
      bootstrap_servers: {brokers}
      topics: [{orders}]
      group: {group}
{extra_source}
    steps:
      - name: drop-test-orders
        plugin: {drop}
      - name: redact-customer
        plugin: {redact}
      - name: order-lines
        plugin: {lines_plugin}
        config:
          lines_topic: {lines}
    sink:
      kind: kafka
      bootstrap_servers: {brokers}
      topic: {clean}
{extra_sink}
    failure:
      dead_letter_topic: {dead_letter}
"#,
            brokers = kafka_brokers(),
            orders = topics.orders,
            group = topics.group,
            lines = topics.lines,
            clean = topics.clean,
            dead_letter = topics.dead_letter,
            drop = plugin("drop-test-orders").display(),
            redact = plugin("redact-customer").display(),
            lines_plugin = plugin("order-lines").display(),
        );
        (topics, self.write_pipeline("kafka.yaml", &yaml))
    }
}

impl Scratch {
    /// Creates uniquely named `orders` and `out` topics on Kafka and writes a pipeline file
    /// `scripted.yaml` with one step of the scripted test plugin. The `*_yaml` arguments are
    /// lines added to the source (six spaces of indent), the step's config (ten) and the
    /// failure policy (six).
    pub fn kafka_scripted_pipeline(
        &self,
        name: &str,
        partitions: u32,
        source_yaml: &str,
        config_yaml: &str,
        failure_yaml: &str,
    ) -> (KafkaTopics, PathBuf) {
        let unique = unique_name(name);
        let topics = KafkaTopics {
            orders: format!("{unique}-in"),
            clean: format!("{unique}-out"),
            lines: String::new(),
            dead_letter: String::new(),
            group: format!("{unique}-group"),
        };
        for topic in [&topics.orders, &topics.clean] {
            self.kafka(&[
                "topic",
                "create",
                topic,
                "--partitions",
                &partitions.to_string(),
            ]);
        }

        let yaml = format!(
            r#"
pipelines:
  - name: {name}
    source:
      kind: kafka
      bootstrap_servers: {brokers}
      topics: [{input}]
      group: {group}
{source_yaml}
    steps:
      - name: scripted
        plugin: {plugin}
        config:
{config_yaml}
    sink:
      kind: kafka
      bootstrap_servers: {brokers}
      topic: {output}
    failure:
{failure_yaml}
"#,
            brokers = kafka_brokers(),
            input = topics.orders,
            output = topics.clean,
            group = topics.group,
            plugin = plugin("scripted").display(),
        );
        (topics, self.write_pipeline("scripted.yaml", &yaml))
    }

    /// Writes `count` events `{"n": i}` keyed `k<i>` and produces them to a Kafka topic, in
    /// partition `i % partitions`.
    pub fn kafka_produce_numbers(&self, topic: &str, count: usize, partitions: u32) {
        let path = self.path().join(format!("{topic}.jsonl"));
        let lines: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    r#"{{"key":"k{i}","value":{{"n":{i}}},"partition":{}}}"#,
                    i as u32 % partitions
                )
            })
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        self.kafka(&["topic", "produce", topic, "--input", path.to_str().unwrap()]);
    }
}
