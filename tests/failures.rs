//! Per-event failures inside a batch: a rejected event fails alone, and the pipeline's
//! policy decides whether it is dead-lettered, skipped or pauses its partition.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Scratch, header, plugin};
use serde_json::Value;

/// Five events in one partition; the third is not JSON, so the filter rejects it.
const EVENTS: &str = r#"{"key":"ord-1","value":{"type":"OrderCancelled","order_id":"ord-1","event_id":"evt-1","test":false,"reason":"duplicate"}}
{"key":"ord-2","value":{"type":"OrderCancelled","order_id":"ord-2","event_id":"evt-2","test":false,"reason":"duplicate"}}
{"key":"ord-3","value":"{\"type\": \"OrderPlaced\", \"order_id\": ","headers":{"trace-id":"abc"}}
{"key":"ord-4","value":{"type":"OrderCancelled","order_id":"ord-4","event_id":"evt-4","test":false,"reason":"duplicate"}}
{"key":"ord-5","value":{"type":"OrderCancelled","order_id":"ord-5","event_id":"evt-5","test":false,"reason":"duplicate"}}
"#;

fn setup(scratch: &Scratch, failure: &str) -> std::path::PathBuf {
    scratch.create_topic("orders", 1);
    scratch.create_topic("orders-clean", 1);
    scratch.create_topic("orders-dead-letter", 1);
    let input = scratch.path().join("events.jsonl");
    std::fs::write(&input, EVENTS).unwrap();
    scratch.produce("orders", &input);

    let yaml = format!(
        r#"
pipelines:
  - name: filter
    source: {{ kind: local, path: {data}, topics: [orders], group: filter, poll_interval: 20ms }}
    steps:
      - name: drop-test-orders
        plugin: {plugin}
    sink: {{ kind: local, path: {data}, topic: orders-clean }}
    failure:
{failure}
"#,
        data = scratch.data_dir().display(),
        plugin = plugin("drop-test-orders").display(),
    );
    scratch.write_pipeline("pipeline.yaml", &yaml)
}

fn order_ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| record["value"]["order_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rejected_event_goes_to_dead_letter_alone() {
    let scratch = Scratch::new();
    let pipeline = setup(&scratch, "      dead_letter_topic: orders-dead-letter");

    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let clean = scratch.consume("orders-clean");
    assert_eq!(order_ids(&clean), ["ord-1", "ord-2", "ord-4", "ord-5"]);

    let dead = scratch.consume("orders-dead-letter");
    assert_eq!(dead.len(), 1);
    let record = &dead[0];
    assert_eq!(record["key"], "ord-3");
    assert_eq!(
        record["value"],
        "{\"type\": \"OrderPlaced\", \"order_id\": "
    );
    assert_eq!(
        header(record, "trace-id"),
        Some("abc"),
        "original headers are kept"
    );
    assert_eq!(header(record, "weir.source.topic"), Some("orders"));
    assert_eq!(header(record, "weir.source.partition"), Some("0"));
    assert_eq!(header(record, "weir.source.offset"), Some("2"));
    assert_eq!(header(record, "weir.step"), Some("drop-test-orders"));
    assert_eq!(header(record, "weir.error.kind"), Some("reject"));
    assert_eq!(header(record, "weir.attempts"), Some("1"));
    assert!(header(record, "weir.error").is_some_and(|error| error.contains("JSON")));
    assert!(header(record, "weir.failed.at").is_some());
    let digest = header(record, "weir.plugin.digest").unwrap();
    assert_eq!(digest.len(), 64, "the digest is a hex SHA-256");

    let offsets = scratch.committed_offsets("filter");
    assert_eq!(offsets[&("orders".to_string(), 0)], 5);
}

#[test]
fn rejected_event_skipped_when_policy_says() {
    let scratch = Scratch::new();
    let pipeline = setup(&scratch, "      on_exhausted: skip");

    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    assert_eq!(
        order_ids(&scratch.consume("orders-clean")),
        ["ord-1", "ord-2", "ord-4", "ord-5"]
    );
    assert!(scratch.consume("orders-dead-letter").is_empty());
    assert_eq!(
        scratch.committed_offsets("filter")[&("orders".to_string(), 0)],
        5
    );
}

#[test]
fn rejected_event_pauses_partition_without_dead_letter() {
    let scratch = Scratch::new();
    let pipeline = setup(
        &scratch,
        "      max_attempts: 1\n      initial_backoff: 10ms\n      max_backoff: 50ms",
    );

    let child = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The events before the poison event are committed; the partition then stays paused.
    let deadline = Instant::now() + Duration::from_secs(60);
    while scratch
        .committed_offsets("filter")
        .get(&("orders".to_string(), 0))
        != Some(&2)
    {
        assert!(
            Instant::now() < deadline,
            "the events before the rejected one were not committed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));

    // SIGTERM drains and exits 0.
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "SIGTERM ends weir run with exit 0: {}",
        output.status
    );

    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("paused"), "the pause is logged: {log}");
    assert_eq!(
        scratch.committed_offsets("filter")[&("orders".to_string(), 0)],
        2,
        "nothing past the poison event is committed"
    );
    assert_eq!(
        order_ids(&scratch.consume("orders-clean")),
        ["ord-1", "ord-2"]
    );
}

#[test]
fn paused_partition_fails_stop_at_end() {
    let scratch = Scratch::new();
    let pipeline = setup(&scratch, "      max_attempts: 1");

    let output = scratch.run(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a paused partition cannot reach the end: {stderr}"
    );
    assert!(
        stderr.contains("orders/0 at offset 2"),
        "the error names the paused event: {stderr}"
    );
    assert_eq!(
        scratch.committed_offsets("filter")[&("orders".to_string(), 0)],
        2
    );
    assert_eq!(
        order_ids(&scratch.consume("orders-clean")),
        ["ord-1", "ord-2"]
    );
}

#[test]
fn paused_partition_shows_in_status_while_others_flow() {
    let scratch = Scratch::new();
    scratch.create_topic("orders", 2);
    scratch.create_topic("orders-clean", 1);
    // Partition 0 holds the poison event; partition 1 only good ones.
    let lines: String = EVENTS
        .lines()
        .enumerate()
        .map(|(index, line)| {
            let mut record: Value = serde_json::from_str(line).unwrap();
            record["partition"] = Value::from(if index == 2 { 0 } else { 1 });
            format!("{record}\n")
        })
        .collect();
    let input = scratch.path().join("events.jsonl");
    std::fs::write(&input, lines).unwrap();
    scratch.produce("orders", &input);
    let yaml = format!(
        r#"
pipelines:
  - name: filter
    source: {{ kind: local, path: {data}, topics: [orders], group: filter, poll_interval: 20ms }}
    steps:
      - name: drop-test-orders
        plugin: {plugin}
    sink: {{ kind: local, path: {data}, topic: orders-clean }}
    failure: {{ max_attempts: 1, initial_backoff: 50ms, max_backoff: 200ms }}
"#,
        data = scratch.data_dir().display(),
        plugin = plugin("drop-test-orders").display(),
    );
    let pipeline = scratch.write_pipeline("pipeline.yaml", &yaml);
    let address = common::free_address();
    let token = "test-token";

    let child = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap(), "--admin", &address])
        .env("WEIR_ADMIN_TOKEN", token)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Partition 1 flows to its end while partition 0 stays paused at the poison event.
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let output = scratch
            .command()
            .args(["status", "--json", "--admin", &address])
            .env("WEIR_ADMIN_TOKEN", token)
            .output()
            .unwrap();
        if output.status.code() == Some(2) {
            let report: Value = serde_json::from_slice(&output.stdout).unwrap();
            let partitions = &report["pipelines"][0]["partitions"];
            if partitions[1]["next_offset"] == 4
                && partitions[0]["paused"]["cycles"].as_u64() >= Some(2)
            {
                break report;
            }
        }
        assert!(
            Instant::now() < deadline,
            "status never showed the pause: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    let pipeline_report = &report["pipelines"][0];
    assert_eq!(pipeline_report["name"], "filter");
    let paused = &pipeline_report["partitions"][0];
    assert_eq!(paused["partition"], 0);
    assert_eq!(paused["state"], "paused");
    assert_eq!(paused["next_offset"], 0);
    assert_eq!(paused["paused"]["offset"], 0);
    assert_eq!(paused["paused"]["step"], "drop-test-orders");
    assert_eq!(paused["paused"]["kind"], "reject");
    assert_eq!(pipeline_report["partitions"][1]["state"], "running");
    assert!(
        pipeline_report["stats"]["retries"].as_u64() >= Some(1),
        "each pause cycle after the first counts as a retry: {pipeline_report}"
    );

    let table = scratch
        .command()
        .args(["status", "--admin", &address])
        .env("WEIR_ADMIN_TOKEN", token)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("orders/0  PAUSED at offset 0"),
        "the table shows the pause: {table}"
    );

    let refused = scratch
        .command()
        .args(["status", "--admin", &address])
        .env("WEIR_ADMIN_TOKEN", "wrong")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));

    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "SIGTERM ends the run cleanly");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("ERROR") && log.contains("offset=0") && log.contains("paused"),
        "the pause is logged at error level with its offset: {log}"
    );
    assert_eq!(
        order_ids(&scratch.consume("orders-clean")),
        ["ord-1", "ord-2", "ord-4", "ord-5"]
    );
}

#[test]
fn retrying_partitions_do_not_hold_back_the_others() {
    let scratch = Scratch::new();
    // More retrying partitions than a two-core machine has worker slots.
    scratch.create_topic("in", 4);
    scratch.create_topic("out", 1);
    scratch.create_topic("dead", 1);
    let mut lines = String::new();
    for partition in 0..3 {
        lines.push_str(&format!(
            "{}\n",
            serde_json::json!({"key": "poison", "value": "retry", "partition": partition})
        ));
    }
    for n in 0..5 {
        lines.push_str(&format!(
            "{}\n",
            serde_json::json!({"key": format!("k{n}"), "value": "ok", "partition": 3})
        ));
    }
    let input = scratch.path().join("events.jsonl");
    std::fs::write(&input, lines).unwrap();
    scratch.produce("in", &input);
    let yaml = format!(
        r#"
pipelines:
  - name: slots
    source: {{ kind: local, path: {data}, topics: [in], group: slots, poll_interval: 20ms }}
    steps:
      - name: scripted
        plugin: {plugin}
    sink: {{ kind: local, path: {data}, topic: out }}
    failure:
      dead_letter_topic: dead
      max_attempts: 3
      initial_backoff: 4s
      max_backoff: 4s
"#,
        data = scratch.data_dir().display(),
        plugin = plugin("scripted").display(),
    );
    let pipeline = scratch.write_pipeline("pipeline.yaml", &yaml);

    let child = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap(), "--stop-at-end"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Partition 3 finishes while the poison events still wait between their attempts: none
    // of them has reached the dead-letter topic yet.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let committed = scratch.committed_offsets("slots");
        if committed.get(&("in".to_string(), 3)) == Some(&5) {
            break;
        }
        assert!(Instant::now() < deadline, "partition 3 never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        scratch.consume("dead").is_empty(),
        "partition 3 was held back until the retries ended"
    );

    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(scratch.consume("dead").len(), 3);
    assert_eq!(scratch.consume("out").len(), 5);
}

#[test]
fn replayed_dead_letter_runs_again() {
    let scratch = Scratch::new();
    let pipeline = setup(&scratch, "      dead_letter_topic: orders-dead-letter");
    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let preview = scratch.run_ok(&["replay", "orders-dead-letter", "--dry-run"]);
    let preview = String::from_utf8(preview.stdout).unwrap();
    assert_eq!(preview.lines().count(), 1, "{preview}");
    assert_eq!(
        scratch.consume("orders").len(),
        5,
        "a dry run writes nothing"
    );

    let replayed = scratch.run_ok(&["replay", "orders-dead-letter"]);
    let summary = String::from_utf8_lossy(&replayed.stderr);
    assert!(
        summary.contains("replayed 1 dead letter from `orders-dead-letter`: 1 to `orders`"),
        "{summary}"
    );
    assert!(summary.contains("partition 0: next offset 1"), "{summary}");

    // The event is back at the end of its partition with its own headers only.
    let orders = scratch.consume("orders");
    assert_eq!(orders.len(), 6);
    let again = &orders[5];
    assert_eq!(again["key"], "ord-3");
    assert_eq!(again["value"], "{\"type\": \"OrderPlaced\", \"order_id\": ");
    assert_eq!(again["headers"], serde_json::json!({"trace-id": "abc"}));

    // The filter still rejects it, so it fails again with one set of failure headers.
    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);
    let dead = scratch.consume("orders-dead-letter");
    assert_eq!(dead.len(), 2);
    assert_eq!(header(&dead[1], "weir.source.offset"), Some("5"));
    // Read the raw line, because parsing the headers into a JSON object would merge repeated
    // names.
    let raw = scratch.run_ok(&[
        "topic",
        "consume",
        "orders-dead-letter",
        "--from-offset",
        "1",
    ]);
    let raw = String::from_utf8(raw.stdout).unwrap();
    assert_eq!(raw.matches("\"weir.error\":").count(), 1, "{raw}");
    assert_eq!(raw.matches("\"trace-id\":").count(), 1, "{raw}");
    assert_eq!(
        scratch.committed_offsets("filter")[&("orders".to_string(), 0)],
        6
    );
}
