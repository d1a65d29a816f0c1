//! Misbehaving plugins, built from source in the same run: each poison event goes the way the
//! pipeline's failure policy sets, and every other event flows past it in the same process.

mod common;

use std::path::PathBuf;

use common::{Scratch, header, plugin};
use serde_json::{Value, json};

/// Events in one partition: `ok-0`, `ok-1`, and so on, except `poison` at `poison_at`.
fn stream(count: usize, poison_at: usize, poison: &str) -> String {
    (0..count)
        .map(|index| {
            let value = if index == poison_at {
                poison.to_string()
            } else {
                format!("ok-{index}")
            };
            let record = json!({
                "key": format!("key-{index}"),
                "value": value,
                "headers": {"trace-id": format!("trace-{index}")},
            });
            format!("{record}\n")
        })
        .collect()
}

/// A pipeline of one `scripted` step over `in` that writes to `out`, with the given YAML lines
/// indented under the step (`step`) and under `failure` (`failure`).
struct Case {
    scratch: Scratch,
    pipeline: PathBuf,
}

impl Case {
    fn new(events: &str, step: &str, failure: &str) -> Self {
        let scratch = Scratch::new();
        scratch.create_topic("in", 1);
        scratch.create_topic("out", 1);
        scratch.create_topic("dead", 1);
        let input = scratch.path().join("events.jsonl");
        std::fs::write(&input, events).unwrap();
        scratch.produce("in", &input);

        let yaml = format!(
            r#"
pipelines:
  - name: sandbox
    source: {{ kind: local, path: {data}, topics: [in], group: sandbox, poll_interval: 20ms }}
    steps:
      - name: scripted
        plugin: {plugin}
{step}
    sink: {{ kind: local, path: {data}, topic: out }}
    failure:
      initial_backoff: 10ms
      max_backoff: 50ms
{failure}
"#,
            data = scratch.data_dir().display(),
            plugin = plugin("scripted").display(),
        );
        let pipeline = scratch.write_pipeline("pipeline.yaml", &yaml);
        Self { scratch, pipeline }
    }

    /// Runs the pipeline to the end of its input and returns its log.
    fn run(&self) -> String {
        let output =
            self.scratch
                .run_ok(&["run", self.pipeline.to_str().unwrap(), "--stop-at-end"]);
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    fn values(&self, topic: &str) -> Vec<String> {
        self.scratch
            .consume(topic)
            .iter()
            .map(|record| match &record["value"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    fn committed(&self) -> i64 {
        self.scratch.committed_offsets("sandbox")[&("in".to_string(), 0)]
    }

    /// Checks that every event but the one at `poison_at` reached `out` in order, that the
    /// poison one is the only dead letter, and that the whole input is committed. Returns the
    /// dead-letter record.
    fn assert_dead_lettered(&self, count: usize, poison_at: usize) -> Value {
        let expected: Vec<String> = (0..count)
            .filter(|&index| index != poison_at)
            .map(|index| format!("ok-{index}"))
            .collect();
        assert_eq!(self.values("out"), expected, "every other event flows");

        let dead = self.scratch.consume("dead");
        assert_eq!(dead.len(), 1, "one dead letter: {dead:?}");
        let record = dead.into_iter().next().unwrap();
        assert_eq!(record["key"], format!("key-{poison_at}"));
        assert_eq!(
            header(&record, "trace-id"),
            Some(format!("trace-{poison_at}").as_str()),
            "the original headers are kept"
        );
        assert_eq!(header(&record, "weir.source.topic"), Some("in"));
        assert_eq!(header(&record, "weir.source.partition"), Some("0"));
        assert_eq!(
            header(&record, "weir.source.offset"),
            Some(poison_at.to_string().as_str())
        );
        assert_eq!(header(&record, "weir.step"), Some("scripted"));
        assert_eq!(
            header(&record, "weir.plugin.digest").map(str::len),
            Some(64),
            "the plugin digest is a hex SHA-256"
        );
        assert!(header(&record, "weir.failed.at").is_some());
        assert!(header(&record, "weir.error").is_some());

        assert_eq!(
            self.committed(),
            count as i64,
            "the whole input is committed"
        );
        record
    }
}

const DEAD_LETTER: &str = "      dead_letter_topic: dead\n      max_attempts: 2";

#[test]
fn infinite_loop_hits_the_deadline() {
    let case = Case::new(
        &stream(20, 7, "loop"),
        "        limits: { call_timeout: 200ms }",
        DEAD_LETTER,
    );

    case.run();

    let record = case.assert_dead_lettered(20, 7);
    assert_eq!(header(&record, "weir.error.kind"), Some("deadline"));
    assert_eq!(header(&record, "weir.attempts"), Some("2"));
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let case = Case::new(
        &stream(20, 3, "loop"),
        "        limits: { call_timeout: 60s, fuel: 50000000 }",
        DEAD_LETTER,
    );

    case.run();

    let record = case.assert_dead_lettered(20, 3);
    assert_eq!(header(&record, "weir.error.kind"), Some("fuel"));
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let case = Case::new(
        &stream(20, 12, "bomb"),
        "        limits: { max_memory: 32 MiB }",
        DEAD_LETTER,
    );

    case.run();

    let record = case.assert_dead_lettered(20, 12);
    assert_eq!(header(&record, "weir.error.kind"), Some("memory-limit"));
    assert_eq!(header(&record, "weir.attempts"), Some("2"));
}

#[test]
fn panic_on_the_thousandth_event_is_isolated() {
    let case = Case::new(&stream(2000, 999, "panic"), "", DEAD_LETTER);

    let log = case.run();

    let record = case.assert_dead_lettered(2000, 999);
    assert_eq!(header(&record, "weir.error.kind"), Some("trap"));
    assert!(
        header(&record, "weir.error").is_some_and(|error| error.contains("unreachable")),
        "the error names the trap: {record}"
    );
    assert!(
        log.contains("replaying the batch one event at a time"),
        "the batch is replayed to find the poison event: {log}"
    );
}

#[test]
fn ten_thousand_outputs_for_one_event_fail_that_event() {
    let mut events = stream(20, 5, "fanout 10000");
    events.push_str(&format!(
        "{}\n",
        json!({"key": "key-20", "value": "fanout 3"})
    ));
    let case = Case::new(&events, "", DEAD_LETTER);

    case.run();

    let out = case.values("out");
    assert_eq!(out.len(), 19 + 3, "the small fan-out is written: {out:?}");
    assert_eq!(out[19..], ["fanout 3", "fanout 3", "fanout 3"]);
    let dead = case.scratch.consume("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(header(&dead[0], "weir.source.offset"), Some("5"));
    assert_eq!(header(&dead[0], "weir.error.kind"), Some("invalid-output"));
    assert_eq!(
        header(&dead[0], "weir.attempts"),
        Some("1"),
        "an output the sink cannot take is not retried"
    );
    assert!(
        header(&dead[0], "weir.error").is_some_and(|error| error.contains("max_outputs_per_event")),
        "the error names the setting: {}",
        dead[0]
    );
    assert_eq!(case.committed(), 21);
}

#[test]
fn output_to_an_invalid_or_missing_topic_fails_that_event() {
    let mut events = stream(10, 2, "route bad topic!");
    events.push_str(&format!(
        "{}\n",
        json!({"key": "key-10", "value": "route no-such-topic"})
    ));
    let case = Case::new(&events, "", DEAD_LETTER);

    case.run();

    let out = case.values("out");
    assert_eq!(out.len(), 9, "every other event flows: {out:?}");
    let dead = case.scratch.consume("dead");
    assert_eq!(dead.len(), 2);
    assert_eq!(header(&dead[0], "weir.source.offset"), Some("2"));
    assert!(header(&dead[0], "weir.error").is_some_and(|error| error.contains("invalid topic")));
    assert_eq!(header(&dead[1], "weir.source.offset"), Some("10"));
    assert!(
        header(&dead[1], "weir.error")
            .is_some_and(|error| error.contains("`no-such-topic`, which does not exist"))
    );
    assert_eq!(case.committed(), 11);
}

#[test]
fn plugin_that_fails_twice_then_succeeds_is_retried() {
    let case = Case::new(
        &stream(20, usize::MAX, ""),
        "        config: { fail_offset: 8, fail_times: 2 }",
        "      dead_letter_topic: dead\n      max_attempts: 3",
    );

    let log = case.run();

    let expected: Vec<String> = (0..20).map(|index| format!("ok-{index}")).collect();
    assert_eq!(
        case.values("out"),
        expected,
        "the retried event is written once"
    );
    assert!(case.scratch.consume("dead").is_empty());
    assert_eq!(case.committed(), 20);
    assert_eq!(
        log.matches("event failed; retrying").count(),
        2,
        "both retries are logged: {log}"
    );
}

#[test]
fn plugin_that_fails_past_its_attempts_is_dead_lettered() {
    let case = Case::new(
        &stream(20, usize::MAX, ""),
        "        config: { fail_offset: 8, fail_times: 2 }",
        DEAD_LETTER,
    );

    case.run();

    let dead = case.scratch.consume("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(header(&dead[0], "weir.source.offset"), Some("8"));
    assert_eq!(header(&dead[0], "weir.error.kind"), Some("retry"));
    assert_eq!(header(&dead[0], "weir.attempts"), Some("2"));
    assert_eq!(case.values("out").len(), 19);
    assert_eq!(case.committed(), 20);
}

#[test]
fn files_are_out_of_reach_unless_granted() {
    let reference = tempfile::tempdir().unwrap();
    std::fs::write(reference.path().join("rates.txt"), "eur=1.00").unwrap();
    let host_file = reference.path().join("rates.txt");

    // Without a grant, no file can be opened.
    let ungranted = Case::new(
        &stream(6, 2, &format!("read {}", host_file.display())),
        "",
        DEAD_LETTER,
    );
    ungranted.run();
    let dead = ungranted.assert_dead_lettered(6, 2);
    assert_eq!(header(&dead, "weir.error.kind"), Some("reject"));
    assert!(
        header(&dead, "weir.error").is_some_and(|error| error.contains("cannot read")),
        "{dead}"
    );

    // A granted folder is readable under its guest path, and only there.
    let events = [
        json!({"key": "a", "value": "read /reference/rates.txt"}),
        json!({"key": "b", "value": format!("read {}", host_file.display())}),
        json!({"key": "c", "value": "read /etc/hostname"}),
    ]
    .map(|record| format!("{record}\n"))
    .concat();
    let granted = Case::new(
        &events,
        &format!(
            "        grants:\n          dirs: [{{ path: {}, guest: /reference }}]",
            reference.path().display()
        ),
        DEAD_LETTER,
    );
    granted.run();
    assert_eq!(granted.values("out"), ["eur=1.00"]);
    let dead = granted.scratch.consume("dead");
    let keys: Vec<&Value> = dead.iter().map(|record| &record["key"]).collect();
    assert_eq!(keys, ["b", "c"], "nothing outside the grant is reachable");
}

#[test]
fn granted_folder_is_read_only_unless_writable() {
    let events = [json!({"key": "a", "value": "write /shared/note.txt"})]
        .map(|record| format!("{record}\n"))
        .concat();

    let read_only = tempfile::tempdir().unwrap();
    let case = Case::new(
        &events,
        &format!(
            "        grants: {{ dirs: [{{ path: {}, guest: /shared }}] }}",
            read_only.path().display()
        ),
        DEAD_LETTER,
    );
    case.run();
    assert!(!read_only.path().join("note.txt").exists());
    let dead = case.scratch.consume("dead");
    assert_eq!(dead.len(), 1, "the write is refused");

    let writable = tempfile::tempdir().unwrap();
    let case = Case::new(
        &events,
        &format!(
            "        grants: {{ dirs: [{{ path: {}, guest: /shared, writable: true }}] }}",
            writable.path().display()
        ),
        DEAD_LETTER,
    );
    case.run();
    assert_eq!(
        std::fs::read_to_string(writable.path().join("note.txt")).unwrap(),
        "a"
    );
    assert!(case.scratch.consume("dead").is_empty());
}

#[test]
fn environment_variables_are_hidden_unless_granted() {
    let events = [
        json!({"key": "a", "value": "env WEIR_TEST_GRANTED"}),
        json!({"key": "b", "value": "env WEIR_TEST_HIDDEN"}),
    ]
    .map(|record| format!("{record}\n"))
    .concat();
    let case = Case::new(
        &events,
        "        grants: { env: [WEIR_TEST_GRANTED] }",
        DEAD_LETTER,
    );

    let output = case
        .scratch
        .command()
        .args(["run", case.pipeline.to_str().unwrap(), "--stop-at-end"])
        .env("WEIR_TEST_GRANTED", "visible")
        .env("WEIR_TEST_HIDDEN", "secret")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    assert_eq!(case.values("out"), ["visible"]);
    let dead = case.scratch.consume("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["key"], "b");
}

#[test]
fn missing_granted_variable_is_a_clear_error() {
    let case = Case::new(
        &stream(2, 0, "ok"),
        "        grants: { env: [WEIR_TEST_NEVER_SET] }",
        DEAD_LETTER,
    );

    let output = case.scratch.run(&["run", case.pipeline.to_str().unwrap()]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("`WEIR_TEST_NEVER_SET`, which is not set"),
        "{stderr}"
    );
    assert!(case.scratch.consume("out").is_empty());
}

#[test]
fn guest_stdout_and_stderr_reach_the_log() {
    let case = Case::new(&stream(5, 3, "print hello from the guest"), "", DEAD_LETTER);

    let output = case
        .scratch
        .command()
        .args(["run", case.pipeline.to_str().unwrap(), "--stop-at-end"])
        .env("WEIR_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let log = String::from_utf8_lossy(&output.stderr);

    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("hello from the guest"))
        .collect();
    assert_eq!(lines.len(), 2, "one line per stream: {log}");
    assert!(lines.iter().any(|line| line.contains("source=\"stdout\"")));
    assert!(lines.iter().any(|line| line.contains("source=\"stderr\"")));
    for line in lines {
        assert!(line.contains("step=\"scripted\""), "{line}");
        assert!(line.contains("pipeline=\"sandbox\""), "{line}");
        assert!(line.contains("partition=0"), "{line}");
        assert!(line.contains("batch_first_offset=0"), "{line}");
    }
    assert_eq!(case.values("out").len(), 5);
}
