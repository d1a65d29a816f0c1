//! Topic set-up and output checks on the benchmark's broker.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// The topics and group of one side of one run.
pub struct SideTopics {
    /// The start of every name below.
    pub prefix: String,
    pub group: String,
    pub clean: String,
    pub lines: String,
    pub dead_letter: String,
}

impl SideTopics {
    /// Names the topics `<prefix>-orders-clean`, `<prefix>-order-lines` and
    /// `<prefix>-dead-letter`, and the group `<prefix>-group`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            group: format!("{prefix}-group"),
            clean: format!("{prefix}-orders-clean"),
            lines: format!("{prefix}-order-lines"),
            dead_letter: format!("{prefix}-dead-letter"),
        }
    }

    /// Returns the output topics in the order of the report's columns.
    pub fn outputs(&self) -> [&str; 3] {
        [&self.clean, &self.lines, &self.dead_letter]
    }

    /// Creates the output topics: the dead-letter topic with one partition, as the quick start
    /// has it, and the others with `partitions`.
    pub fn create(&self, weir: &Path, brokers: &str, partitions: u32) -> anyhow::Result<()> {
        create_topic(weir, brokers, &self.clean, partitions)?;
        create_topic(weir, brokers, &self.lines, partitions)?;
        create_topic(weir, brokers, &self.dead_letter, 1)
    }
}

/// Runs `weir` with `args` against the broker and returns an error with its messages when it
/// fails.
pub fn run_weir(weir: &Path, brokers: &str, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new(weir)
        .args(args)
        .env("WEIR_BROKERS", brokers)
        .output()
        .with_context(|| format!("cannot run {}", weir.display()))?;
    if !output.status.success() {
        bail!(
            "`weir {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

pub fn create_topic(weir: &Path, brokers: &str, name: &str, partitions: u32) -> anyhow::Result<()> {
    let partitions = partitions.to_string();
    run_weir(
        weir,
        brokers,
        &["topic", "create", name, "--partitions", &partitions],
    )
}

fn client(brokers: &str, group: Option<&str>) -> anyhow::Result<BaseConsumer> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    if let Some(group) = group {
        config.set("group.id", group);
    }
    config.create().context("cannot create a Kafka client")
}

fn partition_count(client: &BaseConsumer, topic: &str) -> anyhow::Result<i32> {
    let metadata = client
        .fetch_metadata(Some(topic), METADATA_TIMEOUT)
        .with_context(|| format!("cannot read the metadata of topic `{topic}`"))?;
    let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
        bail!("topic `{topic}` not found");
    };
    Ok(found.partitions().len() as i32)
}

/// Returns the number of records in `topic`: the sum over its partitions of the high
/// watermark minus the low one. The topics are fresh and written by idempotent producers, so
/// this is the number of records produced.
pub fn record_count(brokers: &str, topic: &str) -> anyhow::Result<u64> {
    let client = client(brokers, None)?;
    let mut total = 0;
    for partition in 0..partition_count(&client, topic)? {
        let (low, high) = client
            .fetch_watermarks(topic, partition, METADATA_TIMEOUT)
            .with_context(|| format!("cannot read the watermarks of {topic}/{partition}"))?;
        total += (high - low) as u64;
    }
    Ok(total)
}

/// Returns the sum of `group`'s committed offsets over the partitions of `topic`. For a topic
/// that starts at offset 0, it equals the number of events whose processing was committed.
pub fn committed_total(brokers: &str, group: &str, topic: &str) -> anyhow::Result<u64> {
    let client = client(brokers, Some(group))?;
    let mut list = TopicPartitionList::new();
    for partition in 0..partition_count(&client, topic)? {
        list.add_partition(topic, partition);
    }
    let committed = client
        .committed_offsets(list, METADATA_TIMEOUT)
        .with_context(|| format!("cannot read the committed offsets of group `{group}`"))?;
    let total = committed
        .elements()
        .iter()
        .map(|element| match element.offset() {
            Offset::Offset(offset) => offset as u64,
            _ => 0,
        })
        .sum();
    Ok(total)
}
