use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use super::client::LoggingContext;
use super::window::Acknowledgements;
use crate::local::NewRecord;
use crate::pipeline::TopicCatalog;

/// The Kafka sink: an idempotent producer with `acks=all`, shared by the partition workers.
pub(crate) struct KafkaSink {
    pub(crate) producer: FutureProducer<LoggingContext>,
}

impl KafkaSink {
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

/// The outstanding deliveries of one batch's outputs. A record whose delivery failed is sent
/// again after [`RESEND_WAIT`], for as long as it takes. Until then the batch is not
/// acknowledged, so no offset passes it.
pub(crate) struct BatchDeliveries {
    sink: Arc<KafkaSink>,
    records: Vec<NewRecord>,
    outstanding: Vec<(usize, DeliveryFuture)>,
    failed: Vec<usize>,
    resend_at: Option<Instant>,
    /// Names the batch in logs: pipeline, topic, partition and first offset.
    context: (Arc<str>, String, i32, i64),
}

/// Wait before records whose delivery failed are sent again.
const RESEND_WAIT: Duration = Duration::from_secs(1);

impl BatchDeliveries {
    /// Sends `records` and returns their pending deliveries.
    pub(crate) fn send(
        sink: &Arc<KafkaSink>,
        records: Vec<NewRecord>,
        context: (Arc<str>, String, i32, i64),
    ) -> Self {
        let mut deliveries = Self {
            sink: Arc::clone(sink),
            outstanding: Vec::with_capacity(records.len()),
            failed: Vec::new(),
            resend_at: None,
            records,
            context,
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
        let (pipeline, topic, partition, offset) = &self.context;
        tracing::error!(
            %pipeline,
            %topic,
            partition,
            offset,
            output_topic = %self.records[index].topic,
            %error,
            "cannot deliver an output; nothing past its event is committed, sending it again"
        );
        self.failed.push(index);
        self.resend_at
            .get_or_insert_with(|| Instant::now() + RESEND_WAIT);
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
        self.outstanding = still_outstanding;

        if self.resend_at.is_some_and(|at| Instant::now() >= at) {
            self.resend_at = None;
            for index in std::mem::take(&mut self.failed) {
                self.send_one(index);
            }
        }
        self.outstanding.is_empty() && self.failed.is_empty()
    }
}

/// Looks output topics up in the cluster's metadata.
pub(crate) struct KafkaCatalog<'a>(pub(crate) &'a KafkaSink);

impl TopicCatalog for KafkaCatalog<'_> {
    type Error = KafkaError;

    fn topic_exists(&mut self, topic: &str) -> Result<bool, KafkaError> {
        let metadata = self
            .0
            .producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))?;
        Ok(metadata.topics().iter().any(|found| {
            found.name() == topic && found.error().is_none() && !found.partitions().is_empty()
        }))
    }
}
