use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use super::client::LoggingContext;
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
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        // The local queue drains as the broker acknowledges; wait for room.
                        self.producer.poll(Duration::from_millis(10));
                        future_record = returned;
                    }
                    Err((error, _)) => return Err(error),
                }
            }
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
