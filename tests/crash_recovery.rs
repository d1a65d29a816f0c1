//! `weir run` killed with SIGKILL mid-stream, then run again: every input event's outputs
//! must be present, and no committed offset may pass an event whose outputs are missing.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Scratch;
use common::orders::{canonical, expected_for};
use serde_json::Value;

const EVENTS: usize = 60_000;

/// Every output currently in the sink topics, as canonical JSON or dead-letter source offsets.
struct Written {
    clean: HashSet<String>,
    lines: HashSet<String>,
    dead_letters: HashSet<(u32, i64)>,
}

fn written(scratch: &Scratch) -> Written {
    let values = |topic: &str| -> HashSet<String> {
        scratch
            .consume(topic)
            .iter()
            .map(|record| canonical(&record["value"]))
            .collect()
    };
    let dead_letters = scratch
        .consume("orders-dead-letter")
        .iter()
        .map(|record| {
            let partition = common::header(record, "weir.source.partition")
                .unwrap()
                .parse()
                .unwrap();
            let offset = common::header(record, "weir.source.offset")
                .unwrap()
                .parse()
                .unwrap();
            (partition, offset)
        })
        .collect();
    Written {
        clean: values("orders-clean"),
        lines: values("order-lines"),
        dead_letters,
    }
}

/// Asserts that every input below its partition's `limit` has all its outputs written, and
/// returns how many inputs were checked.
fn assert_outputs_written(
    inputs: &[Value],
    limits: &BTreeMap<u32, i64>,
    written: &Written,
) -> usize {
    let mut checked = 0;
    for input in inputs {
        let partition = input["partition"].as_u64().unwrap() as u32;
        let offset = input["offset"].as_i64().unwrap();
        if offset >= limits.get(&partition).copied().unwrap_or(0) {
            continue;
        }
        checked += 1;

        let expected = expected_for(&input["value"]);
        if let Some(clean) = &expected.clean {
            assert!(
                written.clean.contains(&canonical(clean)),
                "partition {partition} offset {offset}: committed, but its orders-clean output is missing"
            );
        }
        for line in &expected.lines {
            assert!(
                written.lines.contains(&canonical(line)),
                "partition {partition} offset {offset}: committed, but an order-lines output is missing"
            );
        }
        if expected.dead_letter {
            assert!(
                written.dead_letters.contains(&(partition, offset)),
                "partition {partition} offset {offset}: committed, but its dead-letter record is missing"
            );
        }
    }
    checked
}

fn committed_by_partition(scratch: &Scratch) -> BTreeMap<u32, i64> {
    scratch
        .committed_offsets("orders")
        .into_iter()
        .map(|((_, partition), offset)| (partition, offset))
        .collect()
}

#[test]
fn sigkill_loses_no_event() {
    let scratch = Scratch::new();
    let pipeline = scratch.quickstart_pipeline(6, 64);
    let input = scratch.sample_orders(EVENTS, 11);
    scratch.produce("orders", &input);
    let inputs = scratch.consume("orders");

    // Kill at three points of the stream, each time after the group committed a bit more.
    for fraction in [0.15, 0.45, 0.75] {
        let threshold = (EVENTS as f64 * fraction) as i64;
        let mut child = scratch
            .command()
            .args(["run", pipeline.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("weir run starts");

        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let committed: i64 = committed_by_partition(&scratch).values().sum();
            if committed >= threshold {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the pipeline made no progress to {threshold} events"
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "weir run exited before it was killed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().expect("SIGKILL is delivered");
        child.wait().unwrap();

        let committed = committed_by_partition(&scratch);
        let total: i64 = committed.values().sum();
        assert!(
            total < EVENTS as i64,
            "the kill came after the end of the stream; nothing was tested"
        );
        let checked = assert_outputs_written(&inputs, &committed, &written(&scratch));
        assert_eq!(checked as i64, total, "every committed input was checked");
    }

    scratch.run_ok(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    let committed = committed_by_partition(&scratch);
    assert_eq!(
        committed.values().sum::<i64>(),
        EVENTS as i64,
        "the restart committed to the end"
    );
    let everything: BTreeMap<u32, i64> = (0..6).map(|partition| (partition, i64::MAX)).collect();
    let written = written(&scratch);
    assert_eq!(
        assert_outputs_written(&inputs, &everything, &written),
        EVENTS
    );

    let expected_clean: HashSet<String> = inputs
        .iter()
        .filter_map(|input| expected_for(&input["value"]).clean)
        .map(|clean| canonical(&clean))
        .collect();
    assert_eq!(
        written.clean, expected_clean,
        "orders-clean holds nothing but expected outputs"
    );
}
