//! A broker that is unreachable when `weir run` starts, and one that goes away mid-run: the
//! process logs, retries and carries on once the broker is back, losing no event.
//!
//! The test runs its own broker on another port, because it stops and restarts it.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Scratch, free_address, plugin, workspace_root};
use serde_json::Value;

/// Port of this test's own broker; `WEIR_TEST_OUTAGE_PORT` moves it.
fn port() -> u16 {
    std::env::var("WEIR_TEST_OUTAGE_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(19292)
}

/// Runs `.ci/kafka/kafka.sh` for this test's broker; stops the broker when dropped.
struct OwnBroker {
    data: PathBuf,
}

impl OwnBroker {
    fn run(&self, command: &str) {
        let status = Command::new(workspace_root().join(".ci/kafka/kafka.sh"))
            .arg(command)
            .env("WEIR_KAFKA_PORT", port().to_string())
            .env("WEIR_KAFKA_DATA", &self.data)
            .stdout(Stdio::null())
            .status()
            .expect("kafka.sh runs");
        assert!(status.success(), "kafka.sh {command} failed");
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Command::new(workspace_root().join(".ci/kafka/kafka.sh"))
            .arg("stop")
            .env("WEIR_KAFKA_PORT", port().to_string())
            .env("WEIR_KAFKA_DATA", &self.data)
            .status();
    }
}

fn weir_on(scratch: &Scratch, brokers: &str, args: &[&str]) -> std::process::Output {
    let output = scratch
        .command()
        .env("WEIR_BROKERS", brokers)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`weir {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Returns the pause kind of each paused partition in `weir status`.
fn pause_kinds(scratch: &Scratch, admin: &str) -> Vec<String> {
    let output = scratch
        .command()
        .args(["status", "--json", "--admin", admin])
        .output()
        .unwrap();
    let Ok(report) = serde_json::from_slice::<Value>(&output.stdout) else {
        return Vec::new();
    };
    report["pipelines"][0]["partitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|partition| partition["paused"]["kind"].as_str())
        .map(str::to_string)
        .collect()
}

fn committed_total(scratch: &Scratch, brokers: &str, group: &str, topic: &str) -> i64 {
    let output = weir_on(
        scratch,
        brokers,
        &["group", "describe", group, "--topic", topic],
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["committed_offset"]
                .as_i64()
                .unwrap_or(0)
        })
        .sum()
}

#[test]
fn broker_outage_loses_nothing() {
    const EVENTS: usize = 3_000;
    let scratch = Scratch::new();
    let broker = OwnBroker {
        data: scratch.path().join("kafka"),
    };
    let brokers = format!("127.0.0.1:{}", port());

    let yaml = format!(
        r#"
pipelines:
  - name: outage
    source:
      kind: kafka
      bootstrap_servers: {brokers}
      topics: [in]
      group: outage
      batch_size: 20
      properties:
        topic.metadata.refresh.interval.ms: 1000
    steps:
      - name: scripted
        plugin: {plugin}
        config:
          sleep_ms: 50
    sink:
      kind: kafka
      bootstrap_servers: {brokers}
      topic: out
      properties:
        # Short, so that deliveries fail while the broker is down and weir must send again.
        message.timeout.ms: 2000
"#,
        plugin = plugin("scripted").display(),
    );
    let pipeline = scratch.write_pipeline("outage.yaml", &yaml);

    // Unreachable at start: the process must keep running and retrying.
    let log_path = scratch.path().join("run.log");
    let admin = free_address();
    let mut child = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap(), "--admin", &admin])
        .env("WEIR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        child.try_wait().unwrap().is_none(),
        "weir run survives an unreachable broker"
    );

    broker.run("start");
    weir_on(
        &scratch,
        &brokers,
        &["topic", "create", "in", "--partitions", "3"],
    );
    weir_on(
        &scratch,
        &brokers,
        &["topic", "create", "out", "--partitions", "3"],
    );
    let input = scratch.path().join("in.jsonl");
    let lines: Vec<String> = (0..EVENTS)
        .map(|i| {
            format!(
                r#"{{"key":"k{i}","value":{{"n":{i}}},"partition":{}}}"#,
                i % 3
            )
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    weir_on(
        &scratch,
        &brokers,
        &["topic", "produce", "in", "--input", input.to_str().unwrap()],
    );

    let wait_for = |at_least: i64, child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while committed_total(&scratch, &brokers, "outage", "in") < at_least {
            assert!(
                Instant::now() < deadline,
                "the group did not commit {at_least} events in time"
            );
            assert!(child.try_wait().unwrap().is_none(), "weir run exited");
            std::thread::sleep(Duration::from_millis(300));
        }
    };
    wait_for(600, &mut child);

    // Lost mid-run: stop the broker and keep it down until deliveries have failed and
    // `weir status` shows the partition held by them, then bring it back with its data.
    broker.run("stop");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "weir run survives losing the broker"
        );
        if pause_kinds(&scratch, &admin).contains(&"delivery".to_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "status never showed a failed delivery"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    broker.run("resume");
    wait_for(EVENTS as i64, &mut child);
    assert!(
        pause_kinds(&scratch, &admin).is_empty(),
        "every partition runs again once the outputs are delivered"
    );

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        child.wait().unwrap().success(),
        "SIGTERM ends weir run with exit 0"
    );

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("weir::librdkafka"),
        "the client's connection errors are logged:\n{log}"
    );
    assert!(!log.contains("panicked"), "nothing panicked:\n{log}");
    let output = weir_on(&scratch, &brokers, &["topic", "consume", "out"]);
    let written: HashSet<i64> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["value"]["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        written,
        (0..EVENTS as i64).collect::<HashSet<_>>(),
        "every event reached the output"
    );
}
