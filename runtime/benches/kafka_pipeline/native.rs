//! The native baseline: a plain rdkafka loop that consumes the input topic, calls the three
//! quick-start plugins as native Rust, and produces the outputs and dead letters. It stores
//! an offset only after every output of the events up to it was acknowledged.
//!
//! It copies the settings that Weir sets on its clients (`runtime/src/kafka/client.rs`), so
//! the two sides differ in the processing, not in the Kafka protocol. Unlike Weir, it runs
//! one thread for all partitions, keeps no status board and logs nothing per failed event.
//! It stops once it has read the expected number of events instead of checking the
//! partitions' ends, and a delivery error ends the run instead of being retried.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use drop_test_orders::DropTestOrders;
use order_lines::OrderLines;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Message};
use redact_customer::RedactCustomer;
use weir_plugin::{Config, Event, Failure, Plugin};

/// How long the loop waits for the first message of a batch, as a Weir partition worker does.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// How often the loop checks the acknowledgements while it waits for them, as Weir does.
const ACK_POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Input topic, output topics and limits of the baseline.
pub struct NativeSettings {
    pub brokers: String,
    pub input_topic: String,
    pub group: String,
    pub sink_topic: String,
    pub lines_topic: String,
    pub dead_letter_topic: String,
    /// Maximum number of events handed to the plugins in one call.
    pub batch_size: usize,
    /// Batches whose outputs may await acknowledgement while the next batch runs.
    pub max_in_flight_batches: usize,
    /// Number of input events; the loop stops after it has read and settled this many.
    pub events: u64,
    pub time_limit: Duration,
}

/// One record to produce.
struct OutputRecord {
    topic: String,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp_ms: Option<i64>,
}

/// A step of the chain, so that plugins of different types sit in one list.
trait NativeStep {
    fn run(&mut self, events: Vec<Event>) -> Vec<Result<Vec<weir_plugin::Output>, Failure>>;
}

impl<P: Plugin> NativeStep for P {
    fn run(&mut self, events: Vec<Event>) -> Vec<Result<Vec<weir_plugin::Output>, Failure>> {
        self.process_batch(events)
    }
}

/// The quick-start plugins in chain order, with the step names that dead letters carry.
struct NativeChain {
    steps: Vec<(&'static str, Box<dyn NativeStep>)>,
    sink_topic: String,
    dead_letter_topic: String,
}

impl NativeChain {
    fn new(settings: &NativeSettings) -> anyhow::Result<Self> {
        let config = |entries: &[(&str, &str)]| -> Config { entries.iter().copied().collect() };
        let init_error = |error: String| anyhow::anyhow!("a plugin rejected its config: {error}");
        let lines_config = config(&[("lines_topic", &settings.lines_topic)]);
        Ok(Self {
            steps: vec![
                (
                    "drop-test-orders",
                    Box::new(DropTestOrders::init(config(&[])).map_err(init_error)?),
                ),
                (
                    "redact-customer",
                    Box::new(
                        RedactCustomer::init(config(&[("mask", "REDACTED")]))
                            .map_err(init_error)?,
                    ),
                ),
                (
                    "order-lines",
                    Box::new(OrderLines::init(lines_config).map_err(init_error)?),
                ),
            ],
            sink_topic: settings.sink_topic.clone(),
            dead_letter_topic: settings.dead_letter_topic.clone(),
        })
    }

    /// Runs `events` through the steps with the rules of `weir::pipeline::Chain::process`.
    /// The outputs of a step are the events of the next, and an output keeps the topic that
    /// a step gave it. An event that fails at any step loses all its outputs and goes to the
    /// dead-letter topic with its original key, value and headers.
    fn process(&mut self, events: &[Event]) -> Vec<OutputRecord> {
        let mut failures: Vec<Option<(&'static str, Failure)>> = vec![None; events.len()];
        let mut origins: Vec<(usize, Option<String>)> = Vec::new();
        let mut current: Vec<Event> = Vec::new();

        for (position, (step_name, step)) in self.steps.iter_mut().enumerate() {
            let batch: &[Event] = if position == 0 { events } else { &current };
            if batch.is_empty() {
                break;
            }
            // This copy is the counterpart of the host copying the batch into the component.
            let results = step.run(batch.to_vec());

            let mut next_origins = Vec::new();
            let mut next = Vec::new();
            for (item, result) in results.into_iter().enumerate() {
                let (source, target) = if position == 0 {
                    (item, None)
                } else {
                    origins[item].clone()
                };
                if failures[source].is_some() {
                    continue;
                }
                match result {
                    Ok(outputs) => {
                        let event = &batch[item];
                        for output in outputs {
                            let target = output.topic.clone().or_else(|| target.clone());
                            next.push(Event {
                                topic: target.clone().unwrap_or_else(|| event.topic.clone()),
                                partition: event.partition,
                                offset: event.offset,
                                timestamp_ms: event.timestamp_ms,
                                key: output.key,
                                value: output.value,
                                headers: output.headers,
                            });
                            next_origins.push((source, target));
                        }
                    }
                    Err(failure) => failures[source] = Some((step_name, failure)),
                }
            }

            let mut kept_origins = Vec::with_capacity(next_origins.len());
            let mut kept = Vec::with_capacity(next.len());
            for (origin, event) in next_origins.into_iter().zip(next) {
                if failures[origin.0].is_none() {
                    kept_origins.push(origin);
                    kept.push(event);
                }
            }
            origins = kept_origins;
            current = kept;
        }

        // Outputs are written grouped by their source event, in the order the events were read,
        // as Weir does.
        let mut outputs: Vec<Vec<OutputRecord>> = events.iter().map(|_| Vec::new()).collect();
        for ((source, target), event) in origins.into_iter().zip(current) {
            outputs[source].push(OutputRecord {
                topic: target.unwrap_or_else(|| self.sink_topic.clone()),
                key: event.key,
                value: event.value,
                headers: header_pairs(event.headers),
                timestamp_ms: events[source].timestamp_ms,
            });
        }
        for (source, failure) in failures.into_iter().enumerate() {
            if let Some((step, failure)) = failure {
                outputs[source] = vec![self.dead_letter(&events[source], step, failure)];
            }
        }
        outputs.into_iter().flatten().collect()
    }

    /// Builds the dead-letter record of `event` with headers like the ones Weir adds.
    fn dead_letter(&self, event: &Event, step: &str, failure: Failure) -> OutputRecord {
        let (kind, message) = match failure {
            Failure::Retry(message) => ("retry", message),
            Failure::Reject(message) => ("reject", message),
        };
        let mut headers = header_pairs(event.headers.clone());
        headers.extend(
            [
                ("weir.error", message),
                ("weir.error.kind", kind.to_string()),
                ("weir.attempts", "1".to_string()),
                ("weir.source.topic", event.topic.clone()),
                ("weir.source.partition", event.partition.to_string()),
                ("weir.source.offset", event.offset.to_string()),
                ("weir.step", step.to_string()),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_string(), Some(value.into_bytes()))),
        );
        OutputRecord {
            topic: self.dead_letter_topic.clone(),
            key: event.key.clone(),
            value: event.value.clone(),
            headers,
            timestamp_ms: event.timestamp_ms,
        }
    }
}

fn header_pairs(headers: Vec<weir_plugin::Header>) -> Vec<(String, Option<Vec<u8>>)> {
    headers
        .into_iter()
        .map(|header| (header.name, header.value))
        .collect()
}

/// A batch whose outputs were sent: the offset to store per partition once they are all
/// acknowledged.
struct InFlightBatch {
    last_offsets: BTreeMap<i32, i64>,
    deliveries: Vec<DeliveryFuture>,
}

impl InFlightBatch {
    /// Polls the deliveries once and returns whether all of them are acknowledged.
    fn poll_acknowledged(&mut self) -> anyhow::Result<bool> {
        let mut context = Context::from_waker(Waker::noop());
        let mut pending = Vec::with_capacity(self.deliveries.len());
        for mut delivery in std::mem::take(&mut self.deliveries) {
            match Pin::new(&mut delivery).poll(&mut context) {
                Poll::Pending => pending.push(delivery),
                Poll::Ready(Ok(Ok(_))) => {}
                Poll::Ready(Ok(Err((error, _)))) => bail!("delivery failed: {error}"),
                Poll::Ready(Err(_)) => bail!("delivery was canceled"),
            }
        }
        self.deliveries = pending;
        Ok(self.deliveries.is_empty())
    }
}

/// Consumer settings as Weir's `consumer_config` sets them for `start: earliest`.
fn consumer_config(settings: &NativeSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", &settings.group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.offset.store", "false");
    config
}

/// Producer settings as Weir's `producer_config` sets them.
fn producer_config(settings: &NativeSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .set("enable.idempotence", "true")
        .set("acks", "all");
    config
}

/// Output count and durations of one run of the baseline.
pub struct NativeSummary {
    pub produced: u64,
    /// Time from subscribing until every output was acknowledged.
    pub to_end: Duration,
    /// Time from subscribing to the end of the final commit and flush.
    pub elapsed: Duration,
}

/// Runs the baseline until it has read `settings.events` events and every output of them is
/// acknowledged, then commits the stored offsets.
pub fn run(settings: &NativeSettings) -> anyhow::Result<NativeSummary> {
    let deadline = Instant::now() + settings.time_limit;
    let consumer: BaseConsumer = consumer_config(settings)
        .create()
        .context("cannot create the Kafka consumer")?;
    let producer: FutureProducer = producer_config(settings)
        .create()
        .context("cannot create the Kafka producer")?;
    let subscribed = Instant::now();
    consumer
        .subscribe(&[settings.input_topic.as_str()])
        .with_context(|| format!("cannot subscribe to {}", settings.input_topic))?;
    let mut chain = NativeChain::new(settings)?;
    let topic = settings.input_topic.as_str();

    let mut window: VecDeque<InFlightBatch> = VecDeque::new();
    let mut read = 0u64;
    let mut produced = 0u64;
    while read < settings.events {
        if Instant::now() > deadline {
            bail!(
                "read {read} of {} events within {:?}",
                settings.events,
                settings.time_limit
            );
        }
        let events = read_batch(&consumer, settings.batch_size)?;
        if events.is_empty() {
            store_acknowledged(&mut window, &consumer, topic)?;
            continue;
        }
        read += events.len() as u64;

        let mut last_offsets = BTreeMap::new();
        for event in &events {
            last_offsets.insert(event.partition as i32, event.offset);
        }
        let records = chain.process(&events);
        produced += records.len() as u64;
        let mut deliveries = Vec::with_capacity(records.len());
        for record in &records {
            deliveries.push(send(&producer, record)?);
        }
        window.push_back(InFlightBatch {
            last_offsets,
            deliveries,
        });

        store_acknowledged(&mut window, &consumer, topic)?;
        while window.len() >= settings.max_in_flight_batches {
            std::thread::sleep(ACK_POLL_INTERVAL);
            store_acknowledged(&mut window, &consumer, topic)?;
        }
    }
    while !window.is_empty() {
        if Instant::now() > deadline {
            bail!(
                "outputs were not acknowledged within {:?}",
                settings.time_limit
            );
        }
        std::thread::sleep(ACK_POLL_INTERVAL);
        store_acknowledged(&mut window, &consumer, topic)?;
    }

    let to_end = subscribed.elapsed();

    consumer
        .commit_consumer_state(CommitMode::Sync)
        .context("cannot commit the stored offsets")?;
    producer
        .flush(Duration::from_secs(30))
        .context("cannot flush the producer")?;
    Ok(NativeSummary {
        produced,
        to_end,
        elapsed: subscribed.elapsed(),
    })
}

/// Stores the offsets of the batches at the front of `window` whose outputs are all
/// acknowledged. A batch's offsets wait for every batch before it, so no stored offset
/// passes an event whose outputs are missing.
fn store_acknowledged(
    window: &mut VecDeque<InFlightBatch>,
    consumer: &BaseConsumer,
    topic: &str,
) -> anyhow::Result<()> {
    while let Some(batch) = window.front_mut() {
        if !batch.poll_acknowledged()? {
            break;
        }
        for (&partition, &offset) in &batch.last_offsets {
            consumer
                .store_offset(topic, partition, offset)
                .with_context(|| {
                    format!("cannot store offset {offset} of partition {partition}")
                })?;
        }
        window.pop_front();
    }
    Ok(())
}

/// Reads up to `max` events: waits for the first, then takes what is already fetched.
fn read_batch(consumer: &BaseConsumer, max: usize) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut timeout = POLL_TIMEOUT;
    while events.len() < max {
        match consumer.poll(timeout) {
            None => break,
            Some(Ok(message)) => events.push(event_from_message(&message)),
            Some(Err(error)) if events.is_empty() => bail!("cannot read the input topic: {error}"),
            Some(Err(_)) => break,
        }
        timeout = Duration::ZERO;
    }
    Ok(events)
}

fn event_from_message(message: &BorrowedMessage<'_>) -> Event {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| weir_plugin::Header {
                    name: header.key.to_string(),
                    value: header.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
        .unwrap_or_default();
    Event {
        topic: message.topic().to_string(),
        partition: message.partition() as u32,
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// Hands one record to the producer, waiting while its local queue is full, as Weir's sink
/// does.
fn send(producer: &FutureProducer, record: &OutputRecord) -> anyhow::Result<DeliveryFuture> {
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    for (name, value) in &record.headers {
        headers = headers.insert(Header {
            key: name,
            value: value.as_deref(),
        });
    }
    let mut future_record: FutureRecord<'_, [u8], [u8]> =
        FutureRecord::to(&record.topic).headers(headers);
    if let Some(key) = &record.key {
        future_record = future_record.key(key.as_slice());
    }
    if let Some(value) = &record.value {
        future_record = future_record.payload(value.as_slice());
    }
    if let Some(timestamp) = record.timestamp_ms {
        future_record = future_record.timestamp(timestamp);
    }

    loop {
        match producer.send_result(future_record) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                producer.poll(Duration::from_millis(10));
                future_record = returned;
            }
            Err((error, _)) => bail!("cannot produce to {}: {error}", record.topic),
        }
    }
}
