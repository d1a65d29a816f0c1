use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use super::client::LoggingContext;
use super::window::{Acknowledged, Acknowledgements};
use crate::local::NewRecord;
use crate::pipeline::{
    OutputRejection, PartitionHandle, RejectionAction, SinkTopic, TopicCatalog, WriteSource,
};
use crate::plugin::Event;

/// The Kafka sink: an idempotent producer with `acks=all`, shared by the partition workers.
pub(crate) struct KafkaSink {
    pub(crate) producer: FutureProducer<LoggingContext>,
    admin: AdminClient<DefaultClientContext>,
    /// The producer's `message.max.bytes`: the client refuses a larger record outright.
    producer_max_bytes: usize,
}

/// librdkafka's default `message.max.bytes`.
const DEFAULT_PRODUCER_MAX_BYTES: usize = 1_000_000;

/// Bytes a record batch of one record adds around the record: the broker's limit
/// `max.message.bytes` applies to the whole batch.
const RECORD_BATCH_OVERHEAD: usize = 61;

impl KafkaSink {
    /// Creates the sink's producer, and an admin client that looks up topic limits, from
    /// `config`.
    pub(crate) fn new(config: &ClientConfig, context: LoggingContext) -> KafkaResult<Self> {
        let producer = config.create_with_context(context)?;
        let admin = config.create()?;
        let producer_max_bytes = config
            .get("message.max.bytes")
            .and_then(|value| value.parse().ok())
            .unwrap_or(DEFAULT_PRODUCER_MAX_BYTES);
        Ok(Self {
            producer,
            admin,
            producer_max_bytes,
        })
    }

    /// Returns the topic's `max.message.bytes`, or `None` when the broker does not return it, for
    /// example because the client may not describe topic configs.
    fn topic_max_message_bytes(&self, topic: &str) -> Option<usize> {
        let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
        let specifier = ResourceSpecifier::Topic(topic);
        let described =
            futures::executor::block_on(self.admin.describe_configs([&specifier], &options));
        let resource = match described.map(|mut results| results.pop()) {
            Ok(Some(Ok(resource))) => resource,
            Ok(Some(Err(code))) => {
                tracing::warn!(topic, error = %code, "cannot read the topic's max.message.bytes; assuming the broker default");
                return None;
            }
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(topic, %error, "cannot read the topic's max.message.bytes; assuming the broker default");
                return None;
            }
        };
        resource
            .get("max.message.bytes")
            .and_then(|entry| entry.value.as_deref())
            .and_then(|value| value.parse().ok())
    }

    /// Produces `records` in order and waits until the broker acknowledged every one.
    ///
    /// Returns the first delivery error. librdkafka retries transient errors by itself until
    /// `delivery.timeout.ms`, so an error here is one that retrying did not cure.
    pub(crate) fn deliver(&self, records: &[NewRecord]) -> Result<(), KafkaError> {
        let mut deliveries = Vec::with_capacity(records.len());
        for record in records {
            deliveries.push(self.send(record)?);
        }
        for delivery in deliveries {
            match futures::executor::block_on(delivery) {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(error),
                Err(_) => return Err(KafkaError::Canceled),
            }
        }
        Ok(())
    }

    /// Hands one record to the producer, waiting while its local queue is full.
    pub(crate) fn send(&self, record: &NewRecord) -> Result<DeliveryFuture, KafkaError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for header in &record.headers {
            headers = headers.insert(Header {
                key: &header.name,
                value: header.value.as_deref(),
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
        if let Some(partition) = record.partition {
            future_record = future_record.partition(partition as i32);
        }
        if let Some(timestamp) = record.timestamp_ms {
            future_record = future_record.timestamp(timestamp);
        }

        loop {
            match self.producer.send_result(future_record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // The local queue drains as the broker acknowledges; wait for room.
                    self.producer.poll(Duration::from_millis(10));
                    future_record = returned;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }
}

/// The batch a set of deliveries comes from: its events, and what to do with an event whose
/// output the broker rejects for good.
pub(crate) struct BatchOrigin {
    pub(crate) pipeline: Arc<str>,
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) events: Vec<Event>,
    /// For each record sent, the event it comes from.
    pub(crate) sources: Vec<WriteSource>,
    pub(crate) rejection: OutputRejection,
}

/// The outstanding deliveries of one batch's outputs.
///
/// A record whose delivery failed for a reason that may pass, such as a broker that is away,
/// is sent again after [`RESEND_WAIT`] for as long as it takes, and the batch is not
/// acknowledged until then, so no offset passes it. A record that the broker rejects for good
/// fails its event under the last step's failure policy instead.
pub(crate) struct BatchDeliveries {
    sink: Arc<KafkaSink>,
    records: Vec<NewRecord>,
    outstanding: Vec<(usize, DeliveryFuture)>,
    failed: Vec<usize>,
    resend_at: Option<Instant>,
    origin: BatchOrigin,
    /// Events whose rejected output was settled by a dead letter or a skip.
    rejected_events: HashSet<usize>,
    /// Count corrections for the batch's summary.
    rejected_outputs: u64,
    dead_lettered: u64,
    skipped: u64,
    /// The partition's place on the status board, which shows a failing delivery as a pause.
    status: PartitionHandle,
    /// Whether a delivery failed since the last report to the status board.
    reported_failure: bool,
}

/// Wait before records whose delivery failed are sent again.
const RESEND_WAIT: Duration = Duration::from_secs(1);

/// Broker and client errors that sending the same record again cannot cure: librdkafka does
/// not retry them, so they stay until someone changes the topic, its settings or the ACLs.
const PERMANENT_ERRORS: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::MessageSizeTooLarge,
    RDKafkaErrorCode::MessageBatchTooLarge,
    RDKafkaErrorCode::InvalidTimestamp,
    RDKafkaErrorCode::InvalidRecord,
    RDKafkaErrorCode::InvalidTopic,
    RDKafkaErrorCode::UnknownTopic,
    RDKafkaErrorCode::TopicAuthorizationFailed,
    RDKafkaErrorCode::ClusterAuthorizationFailed,
    RDKafkaErrorCode::PolicyViolation,
    RDKafkaErrorCode::UnsupportedForMessageFormat,
];

fn is_permanent(error: &KafkaError) -> bool {
    error
        .rdkafka_error_code()
        .is_some_and(|code| PERMANENT_ERRORS.contains(&code))
}

impl BatchDeliveries {
    /// Sends `records` and returns their pending deliveries.
    pub(crate) fn send(
        sink: &Arc<KafkaSink>,
        records: Vec<NewRecord>,
        origin: BatchOrigin,
        status: PartitionHandle,
    ) -> Self {
        let mut deliveries = Self {
            status,
            reported_failure: false,
            sink: Arc::clone(sink),
            outstanding: Vec::with_capacity(records.len()),
            failed: Vec::new(),
            resend_at: None,
            records,
            origin,
            rejected_events: HashSet::new(),
            rejected_outputs: 0,
            dead_lettered: 0,
            skipped: 0,
        };
        for index in 0..deliveries.records.len() {
            deliveries.send_one(index);
        }
        deliveries
    }

    fn send_one(&mut self, index: usize) {
        match self.sink.send(&self.records[index]) {
            Ok(delivery) => self.outstanding.push((index, delivery)),
            Err(error) => self.record_failure(index, &error),
        }
    }

    fn record_failure(&mut self, index: usize, error: &KafkaError) {
        if is_permanent(error) && self.settle_rejected(index, error) {
            return;
        }

        let origin = &self.origin;
        let offset = origin.events.first().map_or(-1, |event| event.offset);
        tracing::error!(
            pipeline = %origin.pipeline,
            topic = %origin.topic,
            partition = origin.partition,
            offset,
            output_topic = %self.records[index].topic,
            %error,
            "cannot deliver an output; nothing past its event is committed, sending it again"
        );
        self.status
            .pause(offset, "sink", "delivery", &error.to_string());
        self.reported_failure = true;
        self.failed.push(index);
        self.resend_at
            .get_or_insert_with(|| Instant::now() + RESEND_WAIT);
    }

    /// Applies the failure policy to the event of a record the broker rejected for good.
    /// Returns `false` when the record must be sent again: the policy pauses, or the record
    /// is itself a dead letter.
    fn settle_rejected(&mut self, index: usize, error: &KafkaError) -> bool {
        let Some(&source) = self.origin.sources.get(index) else {
            return false;
        };
        if source.dead_letter {
            return false;
        }
        if self.rejected_events.contains(&source.event) {
            // The event already has its dead letter or was skipped.
            self.rejected_outputs += 1;
            return true;
        }

        let event = &self.origin.events[source.event];
        let output_topic = self.records[index].topic.clone();
        match self
            .origin
            .rejection
            .decide(event, &output_topic, &error.to_string())
        {
            RejectionAction::Resend => false,
            RejectionAction::Skip => {
                self.rejected_events.insert(source.event);
                self.rejected_outputs += 1;
                self.skipped += 1;
                true
            }
            RejectionAction::DeadLetter(record) => {
                self.rejected_events.insert(source.event);
                self.rejected_outputs += 1;
                self.dead_lettered += 1;
                self.records.push(record);
                self.origin.sources.push(WriteSource {
                    event: source.event,
                    dead_letter: true,
                });
                self.send_one(self.records.len() - 1);
                true
            }
        }
    }
}

impl Acknowledgements for BatchDeliveries {
    fn poll_acknowledged(&mut self) -> bool {
        let mut context = Context::from_waker(Waker::noop());
        let mut still_outstanding = Vec::with_capacity(self.outstanding.len());
        for (index, mut delivery) in std::mem::take(&mut self.outstanding) {
            match Pin::new(&mut delivery).poll(&mut context) {
                Poll::Pending => still_outstanding.push((index, delivery)),
                Poll::Ready(Ok(Ok(_))) => {}
                Poll::Ready(Ok(Err((error, _)))) => self.record_failure(index, &error),
                Poll::Ready(Err(_)) => self.record_failure(index, &KafkaError::Canceled),
            }
        }
        // A dead letter sent by a failure above is outstanding too.
        still_outstanding.append(&mut self.outstanding);
        self.outstanding = still_outstanding;

        if self.resend_at.is_some_and(|at| Instant::now() >= at) {
            self.resend_at = None;
            for index in std::mem::take(&mut self.failed) {
                self.send_one(index);
            }
        }
        let done = self.outstanding.is_empty() && self.failed.is_empty();
        if done && self.reported_failure {
            self.status.resume();
            self.reported_failure = false;
        }
        done
    }

    fn correct(&self, summary: &mut Acknowledged) {
        summary.outputs = summary.outputs.saturating_sub(self.rejected_outputs);
        summary.dead_lettered += self.dead_lettered;
        summary.skipped += self.skipped;
    }
}

/// Looks output topics up in the cluster's metadata.
pub(crate) struct KafkaCatalog<'a>(pub(crate) &'a KafkaSink);

impl TopicCatalog for KafkaCatalog<'_> {
    type Error = KafkaError;

    fn describe_topic(&mut self, topic: &str) -> Result<Option<SinkTopic>, KafkaError> {
        let sink = self.0;
        let metadata = sink
            .producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))?;
        let exists = metadata.topics().iter().any(|found| {
            found.name() == topic && found.error().is_none() && !found.partitions().is_empty()
        });
        if !exists {
            return Ok(None);
        }

        let broker_limit = sink
            .topic_max_message_bytes(topic)
            .map(|limit| limit.saturating_sub(RECORD_BATCH_OVERHEAD));
        let limit = broker_limit.map_or(sink.producer_max_bytes, |limit| {
            limit.min(sink.producer_max_bytes)
        });
        tracing::debug!(topic, max_wire_bytes = limit, "looked up output topic");
        Ok(Some(SinkTopic {
            max_wire_bytes: Some(limit),
        }))
    }
}
