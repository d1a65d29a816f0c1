//! The log must never hold the pipelines back: an unread standard error costs log lines, not
//! progress.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Scratch, plugin};
use serde_json::json;

/// Events that each fail and are dead-lettered, so that every one writes an error line: more
/// lines than the log writer buffers, so that it must drop some.
const EVENTS: usize = 20_000;

#[test]
fn unread_stderr_does_not_stall_the_pipeline() {
    let scratch = Scratch::new();
    scratch.create_topic("in", 1);
    scratch.create_topic("out", 1);
    scratch.create_topic("dead", 1);
    let events: String = (0..EVENTS)
        .map(|index| {
            format!(
                "{}\n",
                json!({"key": format!("key-{index}"), "value": "reject"})
            )
        })
        .collect();
    let input = scratch.path().join("events.jsonl");
    std::fs::write(&input, events).unwrap();
    scratch.produce("in", &input);

    let yaml = format!(
        r#"
pipelines:
  - name: noisy
    source: {{ kind: local, path: {data}, topics: [in], group: noisy, poll_interval: 20ms }}
    steps:
      - name: scripted
        plugin: {plugin}
    sink: {{ kind: local, path: {data}, topic: out }}
    failure: {{ max_attempts: 1, dead_letter_topic: dead }}
"#,
        data = scratch.data_dir().display(),
        plugin = plugin("scripted").display(),
    );
    let pipeline = scratch.write_pipeline("pipeline.yaml", &yaml);

    // The pipe's buffer (64 KiB on Linux) has room for a few hundred of the error lines, and the
    // test never reads it.
    let mut child = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap(), "--stop-at-end"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // A bound on the wait, so that a stalled run fails the test instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("weir run stalled behind its unread standard error");
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    assert!(status.success(), "weir run exits cleanly: {status}");
    assert_eq!(scratch.consume("dead").len(), EVENTS);
    assert_eq!(
        scratch.committed_offsets("noisy")[&("in".to_string(), 0)],
        EVENTS as i64
    );
}
