//! Hot swaps under load on a real Kafka broker: a step's plugin is swapped ten times between
//! two versions while 200,000 events stream through, and no event is lost, split between
//! versions, or processed by a version out of order.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Scratch, free_address, header, kafka_brokers, plugin};
use serde_json::{Value, json};

const EVENTS: usize = 200_000;
const PARTITIONS: u32 = 4;
const SWAPS: usize = 10;

/// The outputs of one input event, as (tag, versions header, batch header) per output.
type Outputs = Vec<(String, String, i64)>;

#[test]
fn kafka_swaps_under_load_switch_at_batch_boundaries() {
    let scratch = Scratch::new();
    let unique = format!("swap-{}-{}", std::process::id(), EVENTS);
    let input = format!("{unique}-in");
    let output = format!("{unique}-out");
    let group = format!("{unique}-group");
    for topic in [&input, &output] {
        scratch.kafka(&[
            "topic",
            "create",
            topic,
            "--partitions",
            &PARTITIONS.to_string(),
        ]);
    }
    // A pacing step sleeps 20 ms per batch, so the stream lasts long enough for all swaps.
    let yaml = format!(
        r#"
pipelines:
  - name: swap
    source:
      kind: kafka
      bootstrap_servers: {brokers}
      topics: [{input}]
      group: {group}
      batch_size: 100
    steps:
      - name: pace
        plugin: {pace}
        config: {{ sleep_ms: 20 }}
      - name: tag
        plugin: {tag}
    sink:
      kind: kafka
      bootstrap_servers: {brokers}
      topic: {output}
"#,
        brokers = kafka_brokers(),
        pace = plugin("scripted").display(),
        tag = plugin("tag-v1").display(),
    );
    let pipeline = scratch.write_pipeline("swap.yaml", &yaml);

    let lines: String = (0..EVENTS)
        .map(|n| {
            let partition = n as u32 % PARTITIONS;
            format!(
                "{}\n",
                json!({"key": format!("k{n}"), "value": {"n": n}, "partition": partition})
            )
        })
        .collect();
    let input_file = scratch.path().join("input.jsonl");
    std::fs::write(&input_file, lines).unwrap();
    scratch.kafka(&[
        "topic",
        "produce",
        &input,
        "--input",
        input_file.to_str().unwrap(),
    ]);

    let address = free_address();
    let mut child = scratch
        .command()
        .args([
            "run",
            pipeline.to_str().unwrap(),
            "--admin",
            &address,
            "--no-watch",
        ])
        .env("WEIR_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(scratch.path().join("run.log")).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(scratch.path().join("run.log")).unwrap_or_default();
    let committed = || -> i64 {
        scratch
            .kafka_committed(&group, &input)
            .values()
            .map(|offset| (*offset).max(0))
            .sum()
    };

    let deadline = Instant::now() + Duration::from_secs(120);
    while committed() == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing was committed: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Swap back and forth: v2, v1, v2, ... The tenth swap leaves v1 running.
    let versions = [plugin("tag-v2"), plugin("tag-v1")];
    for swap in 0..SWAPS {
        let file = &versions[swap % 2];
        let result = scratch
            .command()
            .args(["plugin", "swap", "swap", "tag", file.to_str().unwrap()])
            .env("WEIR_ADMIN", &address)
            .output()
            .unwrap();
        assert!(result.status.success(), "swap {swap}: {result:?}");
        eprintln!("swap {swap} done with {} events committed", committed());
        std::thread::sleep(Duration::from_millis(300));
    }

    let deadline = Instant::now() + Duration::from_secs(600);
    while committed() < EVENTS as i64 {
        assert!(
            Instant::now() < deadline,
            "the stream did not finish: {}",
            log()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "weir run exited: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = {
        let output = scratch
            .command()
            .args(["status", "--json"])
            .env("WEIR_ADMIN", &address)
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    assert!(
        child.try_wait().unwrap().is_none(),
        "the process never restarted"
    );
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "weir run exits 0: {}",
        log()
    );

    let tag_step = &status["pipelines"][0]["steps"][1];
    assert_eq!(tag_step["generation"], SWAPS, "every swap was published");
    let final_digest = tag_step["digest"].as_str().unwrap()[..12].to_string();

    // Every input event has its two outputs, from one version.
    let mut by_event: BTreeMap<i64, Outputs> = BTreeMap::new();
    for record in scratch.kafka_consume(&output) {
        let n = record["value"]["n"].as_i64().unwrap();
        by_event.entry(n).or_default().push((
            header(&record, "tag").unwrap().to_string(),
            header(&record, "weir.plugins").unwrap().to_string(),
            header(&record, "batch").unwrap().parse().unwrap(),
        ));
    }
    assert_eq!(by_event.len(), EVENTS, "every input event has outputs");
    for (n, outputs) in &by_event {
        assert_eq!(outputs.len(), 2, "event {n} has exactly its two outputs");
        assert_eq!(
            outputs[0].0, outputs[1].0,
            "event {n} was split between versions"
        );
        assert_eq!(
            outputs[0].1, outputs[1].1,
            "event {n} was split between versions"
        );
    }

    // Per partition, in offset order: one version per batch, and versions alternate in the
    // order of the swaps, starting with v1 and ending on the last one swapped in.
    let mut distinct_tags = std::collections::BTreeSet::new();
    for partition in 0..PARTITIONS as i64 {
        let mut runs: Vec<&str> = Vec::new();
        let mut batch_tags: BTreeMap<i64, &str> = BTreeMap::new();
        let mut digest_of_tag: BTreeMap<&str, &str> = BTreeMap::new();
        let mut last_versions = "";
        for n in (partition..EVENTS as i64).step_by(PARTITIONS as usize) {
            let (tag, versions, batch) = &by_event[&n][0];
            distinct_tags.insert(tag.clone());
            if runs.last() != Some(&tag.as_str()) {
                runs.push(tag);
            }
            let batch_tag = batch_tags.entry(*batch).or_insert(tag);
            assert_eq!(
                *batch_tag, tag,
                "partition {partition}: the batch at offset {batch} mixes versions"
            );
            let tag_digest = versions.rsplit('@').next().unwrap();
            let known = digest_of_tag.entry(tag).or_insert(tag_digest);
            assert_eq!(
                *known, tag_digest,
                "the header names the version that tagged"
            );
            last_versions = versions;
        }
        assert_eq!(runs[0], "v1", "partition {partition} starts on v1");
        for pair in runs.windows(2) {
            assert_ne!(pair[0], pair[1]);
        }
        assert!(
            runs.len() <= SWAPS + 1,
            "partition {partition} changed version more often than it was swapped: {runs:?}"
        );
        assert!(
            last_versions.ends_with(&final_digest),
            "partition {partition} ends on the last version swapped in"
        );
    }
    assert_eq!(
        distinct_tags.len(),
        2,
        "the swaps happened while events flowed"
    );
    assert!(log().contains("partition switched to a new step version"));
}
