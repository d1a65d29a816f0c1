//! Kafka counterparts of the embedded-topic commands: create, produce, consume and describe
//! a group, so that the same JSON lines work against a broker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::client::{LoggingContext, producer_config};
use super::sink::KafkaSink;
use crate::local::{Header, NewRecord, Record};

const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

fn client_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

/// Creates a topic with `partitions` partitions, a replication factor of `replicas` and the
/// topic configs `configs`.
pub fn create_topic(
    brokers: &str,
    name: &str,
    partitions: u32,
    replicas: i32,
    configs: &[(String, String)],
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers).create()?;
    let mut topic = NewTopic::new(name, partitions as i32, TopicReplication::Fixed(replicas));
    for (key, value) in configs {
        topic = topic.set(key, value);
    }
    let options = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
    let results = futures::executor::block_on(admin.create_topics([&topic], &options))
        .with_context(|| format!("cannot create topic `{name}` on {brokers}"))?;
    for result in results {
        if let Err((topic, code)) = result {
            bail!("cannot create topic `{topic}` on {brokers}: {code}");
        }
    }
    Ok(())
}

/// Produces `records` with the sink's idempotent producer and waits for every acknowledgement.
pub fn produce(brokers: &str, records: &[NewRecord]) -> anyhow::Result<()> {
    let sink = KafkaSink::new(
        &producer_config(brokers, &BTreeMap::new())?,
        LoggingContext {
            pipeline: Arc::from("weir topic produce"),
        },
    )
    .context("cannot create the Kafka producer")?;
    sink.deliver(records)
        .with_context(|| format!("cannot produce to {brokers}"))?;
    Ok(())
}

fn partition_count(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<i32> {
    let metadata = consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
    let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
        bail!("topic `{topic}` not found");
    };
    if let Some(error) = found.error() {
        bail!("topic `{topic}` not found: {error:?}");
    }
    Ok(found.partitions().len() as i32)
}

/// Reads every record of `topic` that exists now, partition by partition in offset order,
/// without joining a consumer group.
pub fn consume_to_end(brokers: &str, topic: &str) -> anyhow::Result<Vec<Record>> {
    let consumer: BaseConsumer = client_config(brokers)
        .set("enable.partition.eof", "true")
        .set("group.id", "weir-topic-consume")
        .set("enable.auto.commit", "false")
        .create()?;
    let partitions = partition_count(&consumer, topic)?;

    let mut records = Vec::new();
    for partition in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?;
        if high <= low {
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, partition, Offset::Offset(low))?;
        consumer.assign(&assignment)?;

        let mut next = low;
        let mut idle_polls = 0;
        while next < high {
            match consumer.poll(Duration::from_millis(500)) {
                Some(Ok(message)) => {
                    next = message.offset() + 1;
                    records.push(record_from_message(&message));
                    idle_polls = 0;
                }
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                Some(Err(error)) => return Err(error.into()),
                None => {
                    idle_polls += 1;
                    if idle_polls > 120 {
                        bail!(
                            "timed out reading partition {partition} of `{topic}` at offset {next}"
                        );
                    }
                }
            }
        }
    }
    Ok(records)
}

/// Copies a consumed message into a record of the embedded-topic model. A message without a
/// timestamp gets 0.
pub(crate) fn record_from_message(message: &rdkafka::message::BorrowedMessage<'_>) -> Record {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| Header {
                    name: header.key.to_string(),
                    value: header.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
        .unwrap_or_default();
    Record {
        topic: message.topic().to_string(),
        partition: message.partition() as u32,
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis().unwrap_or(0),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// A group's committed offset on one partition, with the partition's end offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: u32,
    /// `None` when the group has committed nothing for the partition.
    pub committed_offset: Option<i64>,
    pub end_offset: i64,
}

/// Reads `group`'s committed offsets on every partition of `topics`.
pub fn describe_group(
    brokers: &str,
    group: &str,
    topics: &[String],
) -> anyhow::Result<Vec<PartitionLag>> {
    let consumer: BaseConsumer = client_config(brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;

    let mut lags = Vec::new();
    for topic in topics {
        let partitions = partition_count(&consumer, topic)?;
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(topic, partition);
        }
        let committed = consumer.committed_offsets(list, METADATA_TIMEOUT)?;
        for element in committed.elements() {
            let (_, high) =
                consumer.fetch_watermarks(topic, element.partition(), METADATA_TIMEOUT)?;
            let committed_offset = match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            };
            lags.push(PartitionLag {
                topic: topic.clone(),
                partition: element.partition() as u32,
                committed_offset,
                end_offset: high,
            });
        }
    }
    Ok(lags)
}
