use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::Producer;

use super::client::{LoggingContext, consumer_config, producer_config};
use super::context::WeirContext;
use super::sink::KafkaSink;
use super::worker::WorkerShared;
use crate::config::PipelineConfig;
use crate::pipeline::{StatsSnapshot, StepSlot, WorkerSettings};

/// librdkafka's default `max.poll.interval.ms`.
const DEFAULT_MAX_POLL_INTERVAL: Duration = Duration::from_secs(300);

/// Reads `max.poll.interval.ms` from the consumer properties.
fn max_poll_interval(
    properties: &std::collections::BTreeMap<String, serde_json::Value>,
) -> anyhow::Result<Duration> {
    let Some(value) = properties.get("max.poll.interval.ms") else {
        return Ok(DEFAULT_MAX_POLL_INTERVAL);
    };
    let text = match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let millis: u64 = text.parse().with_context(|| {
        format!("property `max.poll.interval.ms` is `{text}`, not a number of milliseconds")
    })?;
    Ok(Duration::from_millis(millis))
}

/// Leaves the group after a batch ran past `max.poll.interval.ms`, as Kafka makes a consumer
/// that stopped polling do. The other partitions drain and commit, the group reassigns every
/// partition, and this process joins again once the slow batches have returned.
///
/// Polling the main queue keeps librdkafka's own poll timer alive while one worker is stuck,
/// so Weir enforces the interval itself.
fn rejoin_after(
    consumer: &BaseConsumer<WeirContext>,
    topics: &[&str],
    stuck: Vec<std::thread::JoinHandle<()>>,
    pipeline: &str,
) -> anyhow::Result<()> {
    consumer.context().drain(consumer, None);
    consumer.unsubscribe();
    tracing::warn!(
        pipeline,
        "left the consumer group; rejoining once the slow batches return"
    );
    for thread in stuck {
        // Keep serving the main queue, so the unsubscribe's rebalance completes meanwhile.
        while !thread.is_finished() {
            let _ = consumer.poll(Duration::from_millis(100));
        }
        let _ = thread.join();
    }
    consumer
        .subscribe(topics)
        .with_context(|| format!("cannot subscribe again to {}", topics.join(", ")))?;
    tracing::info!(pipeline, "rejoined the consumer group");
    Ok(())
}

/// Runs a Kafka-to-Kafka pipeline until `shutdown` is set or, with `stop_at_end`, until every
/// assigned partition is read to its end. Blocks its thread.
///
/// On the way out, every partition worker finishes its batch (within the drain timeout), the
/// stored offsets are committed, and the producer is flushed.
pub fn run_kafka_pipeline(
    config: &PipelineConfig,
    steps: Vec<Arc<StepSlot>>,
    settings: Arc<WorkerSettings>,
    stop_at_end: bool,
    shutdown: Arc<AtomicBool>,
) -> anyhow::Result<StatsSnapshot> {
    let pipeline = Arc::clone(&settings.pipeline);
    let source = &config.source;
    let sink = &config.sink;
    let source_servers = source
        .bootstrap_servers
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or_default();
    let sink_servers = sink
        .bootstrap_servers
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or_default();

    let sink_client = KafkaSink::new(
        &producer_config(sink_servers, &sink.properties)?,
        LoggingContext {
            pipeline: Arc::clone(&pipeline),
        },
    )
    .context("cannot create the Kafka producer")?;
    let shared = Arc::new(WorkerShared {
        settings: Arc::clone(&settings),
        steps,
        sink: Arc::new(sink_client),
        stop_at_end,
        max_in_flight_batches: source.max_in_flight_batches,
        start: source.start,
    });

    let client_config = consumer_config(
        source_servers,
        &source.group.value,
        source.start,
        &source.properties,
    )?;
    let max_poll_interval = max_poll_interval(&source.properties)?;
    // A rebalance waits at most max.poll.interval.ms for this member, so a longer drain would
    // see the partitions handed to another member while this one still works on them.
    let drain_timeout = source.drain_timeout.min(max_poll_interval.mul_f64(0.8));
    if drain_timeout < source.drain_timeout {
        tracing::warn!(
            %pipeline,
            drain_timeout_ms = drain_timeout.as_millis() as u64,
            "drain_timeout shortened to 80% of max.poll.interval.ms"
        );
    }
    let context = WeirContext::new(Arc::clone(&shared), drain_timeout);
    let consumer: Arc<BaseConsumer<WeirContext>> = Arc::new(
        client_config
            .create_with_context(context)
            .context("cannot create the Kafka consumer")?,
    );
    let _ = consumer.context().consumer.set(Arc::downgrade(&consumer));

    let topics: Vec<&str> = source.topics.value.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .with_context(|| format!("cannot subscribe to {}", topics.join(", ")))?;
    tracing::info!(%pipeline, topics = %topics.join(","), group = %source.group.value, "subscribed");

    while !shutdown.load(Ordering::Acquire) {
        // Polling the main queue runs the rebalance callbacks. Every assigned partition has
        // its own queue, so no message arrives here.
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => {
                tracing::warn!(%pipeline, topic = %rdkafka::Message::topic(&message), "message arrived on the main queue; it is read again by the partition's worker");
            }
            Some(Err(error)) => tracing::warn!(%pipeline, %error, "consumer error"),
        }
        let stuck = consumer.context().abandon_stuck(max_poll_interval);
        if !stuck.is_empty() {
            rejoin_after(&consumer, &topics, stuck, &pipeline)?;
            continue;
        }
        if stop_at_end && consumer.context().all_at_end() {
            tracing::info!(%pipeline, "every assigned partition is processed to its end");
            break;
        }
    }

    consumer.context().drain(&consumer, None);
    consumer.unsubscribe();
    if let Err(error) = shared.sink.producer.flush(Duration::from_secs(30)) {
        tracing::warn!(%pipeline, %error, "cannot flush the producer");
    }
    Ok(settings.stats.snapshot())
}
