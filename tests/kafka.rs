//! Kafka-to-Kafka pipelines on a real Apache Kafka broker: the quick start gives the same
//! output as on embedded topics, and crashes, restarts and group handovers lose nothing.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::orders::{canonical, count_values, expected_for};
use common::{KafkaTopics, Scratch};
use serde_json::Value;

fn values(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .map(|record| record["value"].clone())
        .collect()
}

/// A `weir run` started by a test, with its log in a file: a pipe that nobody reads while the
/// process runs fills up and blocks its logging, and with it the pipeline.
struct Run {
    child: Child,
    log: std::path::PathBuf,
}

impl std::ops::Deref for Run {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.child
    }
}

impl Drop for Run {
    /// Kills a run that a failed assertion left behind, so that it does not outlive the test.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

fn spawn_run(scratch: &Scratch, pipeline: &std::path::Path) -> Run {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let number = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = scratch.path().join(format!("run-{number}.log"));
    let child = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap()])
        .env("WEIR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("weir run starts");
    Run { child, log }
}

fn terminate(mut run: Run) -> String {
    let pid = run.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = run.child.wait().unwrap();
    let log = std::fs::read_to_string(&run.log).unwrap_or_default();
    assert!(
        exit.success(),
        "SIGTERM ends weir run with exit 0: {exit}\n{log}"
    );
    log
}

fn wait_for_committed(scratch: &Scratch, topics: &KafkaTopics, at_least: i64, child: &mut Child) {
    // Only a hang detector: a loaded 2-core machine running other tests beside this one
    // needs minutes here.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let committed: i64 = scratch
            .kafka_committed(&topics.group, &topics.orders)
            .values()
            .map(|offset| (*offset).max(0))
            .sum();
        if committed >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the group did not commit {at_least} events in time"
        );
        assert!(child.try_wait().unwrap().is_none(), "weir run exited early");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Asserts that every input below its partition's committed offset has its outputs written.
fn assert_committed_inputs_written(
    scratch: &Scratch,
    topics: &KafkaTopics,
    inputs: &[Value],
) -> i64 {
    let committed = scratch.kafka_committed(&topics.group, &topics.orders);
    let clean: HashSet<String> = scratch
        .kafka_consume(&topics.clean)
        .iter()
        .map(|r| canonical(&r["value"]))
        .collect();
    let lines: HashSet<String> = scratch
        .kafka_consume(&topics.lines)
        .iter()
        .map(|r| canonical(&r["value"]))
        .collect();
    let dead: HashSet<(String, String)> = scratch
        .kafka_consume(&topics.dead_letter)
        .iter()
        .map(|r| {
            (
                common::header(r, "weir.source.partition")
                    .unwrap()
                    .to_string(),
                common::header(r, "weir.source.offset").unwrap().to_string(),
            )
        })
        .collect();

    let mut checked = 0;
    for input in inputs {
        let partition = input["partition"].as_u64().unwrap() as u32;
        let offset = input["offset"].as_i64().unwrap();
        if offset >= committed.get(&partition).copied().unwrap_or(-1) {
            continue;
        }
        checked += 1;
        let expected = expected_for(&input["value"]);
        if let Some(value) = &expected.clean {
            assert!(
                clean.contains(&canonical(value)),
                "partition {partition} offset {offset}: committed without its output"
            );
        }
        for line in &expected.lines {
            assert!(
                lines.contains(&canonical(line)),
                "partition {partition} offset {offset}: committed without an order line"
            );
        }
        if expected.dead_letter {
            assert!(
                dead.contains(&(partition.to_string(), offset.to_string())),
                "partition {partition} offset {offset}: committed without its dead-letter record"
            );
        }
    }
    checked
}

#[test]
fn kafka_quickstart_matches_embedded() {
    let scratch = Scratch::new();
    let (topics, kafka_pipeline) =
        scratch.kafka_quickstart("parity", 6, "      batch_size: 256", "");
    let input = scratch.sample_orders(100_000, 42);
    scratch.kafka(&[
        "topic",
        "produce",
        &topics.orders,
        "--input",
        input.to_str().unwrap(),
    ]);

    scratch.kafka(&["run", kafka_pipeline.to_str().unwrap(), "--stop-at-end"]);

    // The same data through the same plugins on embedded topics.
    let local_pipeline = scratch.quickstart_pipeline(6, 256);
    scratch.produce("orders", &input);
    scratch.run_ok(&["run", local_pipeline.to_str().unwrap(), "--stop-at-end"]);

    for (kafka_topic, local_topic) in [
        (&topics.clean, "orders-clean"),
        (&topics.lines, "order-lines"),
        (&topics.dead_letter, "orders-dead-letter"),
    ] {
        let on_kafka = values(&scratch.kafka_consume(kafka_topic));
        let embedded = values(&scratch.consume(local_topic));
        assert!(!on_kafka.is_empty(), "{kafka_topic} is not empty");
        assert_eq!(
            on_kafka.len(),
            embedded.len(),
            "{local_topic}: record count"
        );
        assert_eq!(
            count_values(&on_kafka),
            count_values(&embedded),
            "{local_topic}: values"
        );
    }

    // Keys land in the same partitions, because both use Kafka's key partitioner.
    let by_partition = |records: Vec<Value>| -> BTreeMap<u64, usize> {
        let mut counts = BTreeMap::new();
        for record in records {
            *counts
                .entry(record["partition"].as_u64().unwrap())
                .or_insert(0) += 1;
        }
        counts
    };
    assert_eq!(
        by_partition(scratch.kafka_consume(&topics.clean)),
        by_partition(scratch.consume("orders-clean")),
        "outputs per partition"
    );

    let committed = scratch.kafka_committed(&topics.group, &topics.orders);
    let inputs = scratch.kafka_consume(&topics.orders);
    let mut ends: BTreeMap<u32, i64> = BTreeMap::new();
    for record in &inputs {
        let partition = record["partition"].as_u64().unwrap() as u32;
        let end = ends.entry(partition).or_insert(0);
        *end = (*end).max(record["offset"].as_i64().unwrap() + 1);
    }
    assert_eq!(
        committed, ends,
        "the group committed every partition to its end"
    );
}

#[test]
fn kafka_sigkill_loses_nothing() {
    let scratch = Scratch::new();
    // A killed member holds its partitions until its session times out, so a short session
    // lets each restart take them over sooner.
    let (topics, pipeline) = scratch.kafka_quickstart(
        "sigkill",
        6,
        "      batch_size: 256\n      properties:\n        session.timeout.ms: 10000",
        // Slow acknowledgements widen the window between producing outputs and storing the
        // offset, so a commit that ran ahead of its outputs would be caught by the kill.
        "      properties:\n        linger.ms: 200",
    );
    let input = scratch.sample_orders(60_000, 3);
    scratch.kafka(&[
        "topic",
        "produce",
        &topics.orders,
        "--input",
        input.to_str().unwrap(),
    ]);
    let inputs = scratch.kafka_consume(&topics.orders);

    for fraction in [0.2, 0.6] {
        let mut child = spawn_run(&scratch, &pipeline);
        wait_for_committed(&scratch, &topics, (60_000.0 * fraction) as i64, &mut child);
        child.kill().unwrap();
        child.wait().unwrap();

        let checked = assert_committed_inputs_written(&scratch, &topics, &inputs);
        assert!(
            checked > 0 && checked < 60_000,
            "the kill came mid-stream ({checked} committed)"
        );
    }

    scratch.kafka(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);
    assert_eq!(
        assert_committed_inputs_written(&scratch, &topics, &inputs),
        60_000
    );
}

#[test]
fn kafka_restart_resumes_at_committed() {
    let scratch = Scratch::new();
    let (topics, pipeline) = scratch.kafka_quickstart("resume", 3, "      batch_size: 64", "");
    let first = scratch.sample_orders(5_000, 8);
    scratch.kafka(&[
        "topic",
        "produce",
        &topics.orders,
        "--input",
        first.to_str().unwrap(),
    ]);
    scratch.kafka(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);
    let after_first = scratch.kafka_consume(&topics.clean).len();

    let second = scratch.path().join("second.jsonl");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(
        &second,
        text.lines().take(1_000).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    scratch.kafka(&[
        "topic",
        "produce",
        &topics.orders,
        "--input",
        second.to_str().unwrap(),
    ]);
    let output = scratch.kafka(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let log = String::from_utf8_lossy(&output.stderr);
    let expected_new = text
        .lines()
        .take(1_000)
        .filter_map(|line| {
            expected_for(&serde_json::from_str::<Value>(line).unwrap()["value"]).clean
        })
        .count();
    assert_eq!(
        scratch.kafka_consume(&topics.clean).len(),
        after_first + expected_new,
        "the restart processed only the new events: {log}"
    );

    // With every partition committed to its end, --stop-at-end has nothing to read and must
    // still see that it is at the end and exit.
    let mut idle = scratch
        .command()
        .env("WEIR_BROKERS", common::kafka_brokers())
        .args(["run", pipeline.to_str().unwrap(), "--stop-at-end"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = idle.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            idle.kill().unwrap();
            panic!("--stop-at-end did not exit on a group already at the end");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "the idle run exits 0");
}

#[test]
fn kafka_two_processes_hand_over() {
    let scratch = Scratch::new();
    let (topics, pipeline) = scratch.kafka_quickstart(
        "handover",
        6,
        "      batch_size: 64\n      drain_timeout: 20s",
        "",
    );
    let input = scratch.sample_orders(60_000, 9);
    scratch.kafka(&[
        "topic",
        "produce",
        &topics.orders,
        "--input",
        input.to_str().unwrap(),
    ]);
    let inputs = scratch.kafka_consume(&topics.orders);

    let mut first = spawn_run(&scratch, &pipeline);
    wait_for_committed(&scratch, &topics, 5_000, &mut first);
    let mut second = spawn_run(&scratch, &pipeline);
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second process runs"
    );

    // Stopping the first hands its partitions to the second, which finishes the stream.
    let first_log = terminate(first);
    assert!(
        first_log.contains("partitions revoked"),
        "the first process gave partitions up"
    );
    wait_for_committed(&scratch, &topics, 60_000, &mut second);
    let second_log = terminate(second);
    assert!(
        second_log.contains("partition assigned"),
        "the second process received partitions"
    );

    assert_eq!(
        assert_committed_inputs_written(&scratch, &topics, &inputs),
        60_000
    );
}

fn numbers(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .map(|record| record["value"]["n"].as_i64().unwrap())
        .collect()
}

#[test]
fn kafka_retry_holds_back_commit() {
    const EVENTS: usize = 2_000;
    const FAILING: i64 = 500;
    let scratch = Scratch::new();
    let (topics, pipeline) = scratch.kafka_scripted_pipeline(
        "retry",
        1,
        "      batch_size: 50",
        "          fail_offset: 500\n          fail_times: 2",
        "      max_attempts: 5\n      initial_backoff: 1500ms\n      max_backoff: 2s",
    );
    scratch.kafka_produce_numbers(&topics.orders, EVENTS, 1);

    let mut child = spawn_run(&scratch, &pipeline);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut saw_stall = false;
    loop {
        let committed = scratch.kafka_committed(&topics.group, &topics.orders)[&0];
        if committed > 0 && committed < EVENTS as i64 {
            let written = numbers(&scratch.kafka_consume(&topics.clean));
            if !written.contains(&FAILING) {
                // The failing event is being retried: nothing past it may be committed.
                saw_stall = true;
                assert!(
                    committed <= FAILING,
                    "offset {committed} committed before event {FAILING} succeeded"
                );
            }
        }
        if committed == EVENTS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pipeline did not finish (committed {committed})"
        );
        assert!(child.try_wait().unwrap().is_none(), "weir run exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = terminate(child);

    assert!(
        saw_stall,
        "the offsets were checked while the failing event was retried"
    );
    assert!(log.contains("retrying"), "the retries are logged");
    let written = numbers(&scratch.kafka_consume(&topics.clean));
    assert_eq!(
        written,
        (0..EVENTS as i64).collect::<Vec<_>>(),
        "every event once, in offset order"
    );
}

/// Starts one process with a slow plugin, then a second in the same group. The first is
/// revoked while its batches are in flight, and is then stopped.
fn revoke_during_batch(strategy: &str) {
    const EVENTS: usize = 3_000;
    let scratch = Scratch::new();
    let source = format!(
        "      batch_size: 20\n      drain_timeout: 20s\n      properties:\n        partition.assignment.strategy: {strategy}"
    );
    let (topics, pipeline) = scratch.kafka_scripted_pipeline(
        "revoke",
        6,
        &source,
        "          sleep_ms: 200",
        "      max_attempts: 1",
    );
    scratch.kafka_produce_numbers(&topics.orders, EVENTS, 6);

    let mut first = spawn_run(&scratch, &pipeline);
    wait_for_committed(&scratch, &topics, 300, &mut first);
    let mut second = spawn_run(&scratch, &pipeline);
    wait_for_committed(&scratch, &topics, 1_200, &mut second);
    let first_log = terminate(first);
    wait_for_committed(&scratch, &topics, EVENTS as i64, &mut second);
    let second_log = terminate(second);

    assert!(
        first_log.contains("partitions revoked"),
        "the first process was revoked:\n{first_log}"
    );
    assert!(
        first_log.contains("partition drained"),
        "its in-flight batches finished:\n{first_log}"
    );
    assert!(
        !first_log.contains("did not finish its batch in time"),
        "no batch was abandoned:\n{first_log}"
    );
    assert!(
        second_log.contains("partition assigned"),
        "the second process took partitions"
    );

    let written: HashSet<i64> = numbers(&scratch.kafka_consume(&topics.clean))
        .into_iter()
        .collect();
    let expected: HashSet<i64> = (0..EVENTS as i64).collect();
    assert_eq!(written, expected, "every event reached the output");
    let committed = scratch.kafka_committed(&topics.group, &topics.orders);
    assert_eq!(
        committed.values().sum::<i64>(),
        EVENTS as i64,
        "every partition committed to its end"
    );
}

#[test]
fn kafka_revoke_during_batch_eager() {
    revoke_during_batch("range");
}

#[test]
fn kafka_revoke_during_batch_cooperative() {
    revoke_during_batch("cooperative-sticky");
}

#[test]
fn kafka_slow_batch_hands_partition_over() {
    const EVENTS: usize = 600;
    let scratch = Scratch::new();
    let (topics, slow_pipeline) = scratch.kafka_scripted_pipeline(
        "slow",
        1,
        "      batch_size: 20\n      properties:\n        session.timeout.ms: 6000\n        max.poll.interval.ms: 6000",
        "          sleep_offset: 300\n          sleep_ms: 10000",
        "      max_attempts: 1\n    limits:\n      call_timeout: 30s",
    );
    // The second process runs the same pipeline without the slow batch.
    let yaml = std::fs::read_to_string(&slow_pipeline)
        .unwrap()
        .replace("          sleep_ms: 10000\n", "");
    let fast_pipeline = scratch.write_pipeline("fast.yaml", &yaml);
    scratch.kafka_produce_numbers(&topics.orders, EVENTS, 1);

    // The slow process runs alone until its watchdog gives the partition up. Only then does a
    // second process join, so that it takes the partition over, not a rebalance.
    let slow_log_path = scratch.path().join("slow.log");
    let mut slow = scratch
        .command()
        .args(["run", slow_pipeline.to_str().unwrap()])
        .env("WEIR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&slow_log_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !std::fs::read_to_string(&slow_log_path)
        .unwrap()
        .contains("ran longer than max.poll.interval.ms")
    {
        assert!(
            Instant::now() < deadline,
            "the slow batch was never given up"
        );
        assert!(slow.try_wait().unwrap().is_none(), "weir run exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let committed = scratch.kafka_committed(&topics.group, &topics.orders)[&0];
    assert!(
        committed <= 300,
        "no commit passed the slow batch (committed {committed})"
    );

    let mut fast = spawn_run(&scratch, &fast_pipeline);
    wait_for_committed(&scratch, &topics, EVENTS as i64, &mut fast);
    let pid = slow.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        slow.wait().unwrap().success(),
        "SIGTERM ends the slow process with exit 0"
    );
    let fast_log = terminate(fast);
    assert!(
        fast_log.contains("partition assigned"),
        "the other process took the partition over"
    );
    // Every event arrives. Batches that were sent but whose offsets were not yet stored when
    // the partition was given up may arrive twice. The slow batch itself was neither
    // committed nor written by the process that gave it up, so it arrives exactly once.
    let written = numbers(&scratch.kafka_consume(&topics.clean));
    let distinct: HashSet<i64> = written.iter().copied().collect();
    assert_eq!(
        distinct,
        (0..EVENTS as i64).collect::<HashSet<_>>(),
        "every event arrived"
    );
    for n in 300..320 {
        let copies = written.iter().filter(|&&value| value == n).count();
        assert_eq!(copies, 1, "event {n} of the slow batch was written once");
    }
}
