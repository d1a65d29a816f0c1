//! Poison events on a real Kafka broker: they go to the dead-letter topic with their failure
//! described, every other event reaches the output once, and the group commits to the end.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::{KafkaTopics, Scratch, header};
use serde_json::{Value, json};

const EVENTS: usize = 100_000;
const PARTITIONS: u32 = 4;

/// One event in a hundred is poison: most are rejected by the plugin, and one in ten of those
/// panics instead, which traps the instance and is retried before it is dead-lettered.
fn poison(n: usize) -> Option<&'static str> {
    match (n % 100, n % 1000) {
        (_, 537) => Some("panic"),
        (37, _) => Some("reject"),
        _ => None,
    }
}

/// Creates the dead-letter topic of a test whose input topic is `input`, and puts its name in
/// place of `DEAD_LETTER_TOPIC` in the pipeline file. Returns the name.
fn create_dead_letter_topic(scratch: &Scratch, input: &str, pipeline: &Path) -> String {
    let dead_letter = format!("{input}-dead");
    scratch.kafka(&["topic", "create", &dead_letter]);
    let yaml = std::fs::read_to_string(pipeline)
        .unwrap()
        .replace("DEAD_LETTER_TOPIC", &dead_letter);
    std::fs::write(pipeline, yaml).unwrap();
    dead_letter
}

/// Creates an output topic with the topic config `config` and points the pipeline's sink at it
/// in place of the scripted pipeline's output. Returns the name.
fn create_limited_output_topic(
    scratch: &Scratch,
    topics: &KafkaTopics,
    pipeline: &Path,
    suffix: &str,
    config: &str,
) -> String {
    let output = format!("{}-{suffix}", topics.orders);
    scratch.kafka(&["topic", "create", &output, "--config", config]);
    let yaml = std::fs::read_to_string(pipeline).unwrap().replace(
        &format!("topic: {}\n", topics.clean),
        &format!("topic: {output}\n"),
    );
    std::fs::write(pipeline, yaml).unwrap();
    output
}

/// Appends the JSON lines `lines` to the Kafka topic `topic`.
fn produce_lines(scratch: &Scratch, topic: &str, lines: &str) {
    let input = scratch.path().join("input.jsonl");
    std::fs::write(&input, lines).unwrap();
    scratch.kafka(&[
        "topic",
        "produce",
        topic,
        "--input",
        input.to_str().unwrap(),
    ]);
}

/// Returns the keys of the records on the Kafka topic `topic`, in order.
fn keys_on(scratch: &Scratch, topic: &str) -> Vec<String> {
    scratch
        .kafka_consume(topic)
        .iter()
        .map(|record| record["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn kafka_one_percent_poison_goes_to_dead_letter() {
    let scratch = Scratch::new();
    let (topics, pipeline) = scratch.kafka_scripted_pipeline(
        "poison",
        PARTITIONS,
        "      batch_size: 256",
        "          sleep_ms: 0",
        "      dead_letter_topic: DEAD_LETTER_TOPIC\n      max_attempts: 2\n      initial_backoff: 10ms\n      max_backoff: 20ms",
    );
    let dead_letter = create_dead_letter_topic(&scratch, &topics.orders, &pipeline);

    let lines: String = (0..EVENTS)
        .map(|n| {
            let value = match poison(n) {
                Some(command) => json!(command),
                None => json!({ "n": n }),
            };
            let partition = n as u32 % PARTITIONS;
            format!(
                "{}\n",
                json!({"key": format!("k{n}"), "value": value, "partition": partition})
            )
        })
        .collect();
    produce_lines(&scratch, &topics.orders, &lines);

    scratch.kafka(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    // Every good event once, none of the poison ones.
    let mut copies: HashMap<i64, usize> = HashMap::new();
    for record in scratch.kafka_consume(&topics.clean) {
        let n = record["value"]["n"]
            .as_i64()
            .unwrap_or_else(|| panic!("only good events reach the output: {record}"));
        *copies.entry(n).or_default() += 1;
    }
    let good: Vec<i64> = (0..EVENTS)
        .filter(|&n| poison(n).is_none())
        .map(|n| n as i64)
        .collect();
    assert_eq!(good.len(), 99_000);
    assert_eq!(
        copies.len(),
        good.len(),
        "every good event reaches the output"
    );
    assert!(good.iter().all(|n| copies.contains_key(n)));
    let repeated: Vec<(&i64, &usize)> = copies.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        repeated.is_empty(),
        "no good event is written twice: {repeated:?}"
    );

    // Every poison event once in the dead-letter topic, described.
    let dead = scratch.kafka_consume(&dead_letter);
    assert_eq!(dead.len(), 1_000, "one dead letter per poison event");
    let mut by_key: BTreeMap<String, &Value> = BTreeMap::new();
    for record in &dead {
        let key = record["key"].as_str().unwrap().to_string();
        assert!(
            by_key.insert(key, record).is_none(),
            "no duplicate dead letter"
        );
    }
    for n in (0..EVENTS).filter(|&n| poison(n).is_some()) {
        let record = by_key[&format!("k{n}")];
        let partition = n as u32 % PARTITIONS;
        let offset = n / PARTITIONS as usize;
        assert_eq!(
            header(record, "weir.source.topic"),
            Some(topics.orders.as_str())
        );
        assert_eq!(
            header(record, "weir.source.partition"),
            Some(partition.to_string().as_str())
        );
        assert_eq!(
            header(record, "weir.source.offset"),
            Some(offset.to_string().as_str())
        );
        assert_eq!(header(record, "weir.step"), Some("scripted"));
        assert_eq!(header(record, "weir.plugin.digest").map(str::len), Some(64));
        assert!(header(record, "weir.failed.at").is_some());
        let (kind, attempts) = match poison(n) {
            Some("panic") => ("trap", "2"),
            _ => ("reject", "1"),
        };
        assert_eq!(header(record, "weir.error.kind"), Some(kind), "{record}");
        assert_eq!(header(record, "weir.attempts"), Some(attempts), "{record}");
    }

    // The group committed to the end of every partition.
    let committed = scratch.kafka_committed(&topics.group, &topics.orders);
    let per_partition = (EVENTS / PARTITIONS as usize) as i64;
    for partition in 0..PARTITIONS {
        assert_eq!(
            committed[&partition], per_partition,
            "partition {partition}"
        );
    }
}

#[test]
fn kafka_output_over_the_topic_limit_fails_its_event() {
    let scratch = Scratch::new();
    let (topics, pipeline) = scratch.kafka_scripted_pipeline(
        "oversize",
        1,
        "      batch_size: 10",
        "          sleep_ms: 0",
        "      dead_letter_topic: DEAD_LETTER_TOPIC",
    );
    let dead_letter = create_dead_letter_topic(&scratch, &topics.orders, &pipeline);
    let small = create_limited_output_topic(
        &scratch,
        &topics,
        &pipeline,
        "small",
        "max.message.bytes=4000",
    );

    // The broker takes 4,000 bytes per record batch on this topic; 3,000 fits, 5,000 does not.
    let lines: String = ["pad 100", "pad 5000", "pad 3000", "pad 100"]
        .iter()
        .enumerate()
        .map(|(n, value)| format!("{}\n", json!({"key": format!("k{n}"), "value": value})))
        .collect();
    produce_lines(&scratch, &topics.orders, &lines);

    scratch.kafka(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    assert_eq!(keys_on(&scratch, &small), ["k0", "k2", "k3"]);
    let dead = scratch.kafka_consume(&dead_letter);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["key"], "k1");
    assert_eq!(header(&dead[0], "weir.error.kind"), Some("invalid-output"));
    assert!(
        header(&dead[0], "weir.error").is_some_and(|error| error.contains("max.message.bytes")),
        "{}",
        dead[0]
    );
    assert_eq!(
        scratch.kafka_committed(&topics.group, &topics.orders)[&0],
        4
    );
}

#[test]
fn broker_rejected_output_is_dead_lettered() {
    let scratch = Scratch::new();
    let (topics, pipeline) = scratch.kafka_scripted_pipeline(
        "rejected",
        1,
        "      batch_size: 4",
        "          sleep_ms: 0",
        "      dead_letter_topic: DEAD_LETTER_TOPIC",
    );
    let dead_letter = create_dead_letter_topic(&scratch, &topics.orders, &pipeline);
    let strict = create_limited_output_topic(
        &scratch,
        &topics,
        &pipeline,
        "strict",
        "message.timestamp.before.max.ms=3600000",
    );

    // Outputs keep their event's timestamp, and the output topic takes records at most an
    // hour old, so the broker rejects the outputs of events 3 and 7, stamped in 2020. No
    // check before sending can tell; only the broker's response does.
    let lines: String = (0..10)
        .map(|n| {
            let mut record = json!({"key": format!("k{n}"), "value": format!("ok-{n}")});
            if n == 3 || n == 7 {
                record["timestamp_ms"] = json!(1_600_000_000_000_i64);
            }
            format!("{record}\n")
        })
        .collect();
    produce_lines(&scratch, &topics.orders, &lines);

    scratch.kafka(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);

    assert_eq!(
        keys_on(&scratch, &strict),
        ["k0", "k1", "k2", "k4", "k5", "k6", "k8", "k9"]
    );
    let dead = scratch.kafka_consume(&dead_letter);
    let dead_keys: Vec<&str> = dead
        .iter()
        .map(|record| record["key"].as_str().unwrap())
        .collect();
    assert_eq!(dead_keys, ["k3", "k7"]);
    for record in &dead {
        assert_eq!(header(record, "weir.error.kind"), Some("invalid-output"));
        assert_eq!(header(record, "weir.step"), Some("scripted"));
        // Seen with Kafka 4.4: a record alone in its batch fails with InvalidTimestamp, and one
        // that shares a batch with good records fails with InvalidRecord.
        let error = header(record, "weir.error").unwrap_or_default();
        assert!(
            error.contains("InvalidTimestamp") || error.contains("InvalidRecord"),
            "{record}"
        );
    }
    assert_eq!(
        scratch.kafka_committed(&topics.group, &topics.orders)[&0],
        10
    );
}
