//! Putting dead letters back on their source topic once the cause of their failure is fixed.

use super::failure::dead_letter_header;
use crate::local::{Header, NewRecord, Record};

/// A dead-letter record that cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(
        "record at offset {offset} of partition {partition} of `{topic}` has no `{header}` \
         header, so it was not written by weir; pass --to TOPIC to choose where it goes"
    )]
    NoSourceTopic {
        topic: String,
        partition: u32,
        offset: i64,
        header: &'static str,
    },
}

/// The failure headers weir adds to a dead letter, which a replayed record drops.
const FAILURE_HEADERS: &[&str] = &[
    dead_letter_header::ERROR,
    dead_letter_header::ERROR_KIND,
    dead_letter_header::ATTEMPTS,
    dead_letter_header::SOURCE_TOPIC,
    dead_letter_header::SOURCE_PARTITION,
    dead_letter_header::SOURCE_OFFSET,
    dead_letter_header::STEP,
    dead_letter_header::PLUGIN_DIGEST,
    dead_letter_header::FAILED_AT,
];

/// Builds the record that replays `dead`: its key, value, timestamp and original headers,
/// without the failure headers, for the topic `to` or else the one the event came from.
///
/// Sent back to its source topic, the record goes to its original partition, so that a
/// keyless event stays in the partition it came from. Sent elsewhere, the topic's
/// partitioner places it.
pub fn replay_record(dead: &Record, to: Option<&str>) -> Result<NewRecord, ReplayError> {
    let header_text = |name: &str| {
        dead.headers
            .iter()
            .find(|header| header.name == name)
            .and_then(|header| header.value.as_deref())
            .and_then(|value| std::str::from_utf8(value).ok())
    };

    let (topic, partition) = match to {
        Some(topic) => (topic.to_string(), None),
        None => {
            let Some(topic) = header_text(dead_letter_header::SOURCE_TOPIC) else {
                return Err(ReplayError::NoSourceTopic {
                    topic: dead.topic.clone(),
                    partition: dead.partition,
                    offset: dead.offset,
                    header: dead_letter_header::SOURCE_TOPIC,
                });
            };
            let partition = header_text(dead_letter_header::SOURCE_PARTITION)
                .and_then(|text| text.parse().ok());
            (topic.to_string(), partition)
        }
    };

    let headers: Vec<Header> = dead
        .headers
        .iter()
        .filter(|header| !FAILURE_HEADERS.contains(&header.name.as_str()))
        .cloned()
        .collect();
    Ok(NewRecord {
        topic,
        partition,
        timestamp_ms: Some(dead.timestamp_ms),
        key: dead.key.clone(),
        value: dead.value.clone(),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.to_string(),
            value: Some(value.as_bytes().to_vec()),
        }
    }

    fn dead_letter() -> Record {
        Record {
            topic: "orders-dead".into(),
            partition: 0,
            offset: 4,
            timestamp_ms: 1_700_000_000_000,
            key: Some(b"ord-3".to_vec()),
            value: Some(b"{broken".to_vec()),
            headers: vec![
                header("trace-id", "abc"),
                header(dead_letter_header::ERROR, "not JSON"),
                header(dead_letter_header::SOURCE_TOPIC, "orders"),
                header(dead_letter_header::SOURCE_PARTITION, "2"),
                header(dead_letter_header::SOURCE_OFFSET, "17"),
                header("weir.plugins", "filter@0123456789ab"),
            ],
        }
    }

    #[test]
    fn goes_back_to_its_source_partition() {
        let record = replay_record(&dead_letter(), None).unwrap();

        assert_eq!(record.topic, "orders");
        assert_eq!(record.partition, Some(2));
        assert_eq!(record.key.as_deref(), Some(&b"ord-3"[..]));
        assert_eq!(record.value.as_deref(), Some(&b"{broken"[..]));
        assert_eq!(record.timestamp_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn drops_only_failure_headers() {
        let record = replay_record(&dead_letter(), None).unwrap();
        let names: Vec<&str> = record.headers.iter().map(|h| h.name.as_str()).collect();

        assert_eq!(names, ["trace-id", "weir.plugins"]);
    }

    #[test]
    fn another_topic_uses_its_partitioner() {
        let record = replay_record(&dead_letter(), Some("orders-retry")).unwrap();

        assert_eq!(record.topic, "orders-retry");
        assert_eq!(record.partition, None);
    }

    #[test]
    fn record_without_source_needs_a_target() {
        let mut record = dead_letter();
        record
            .headers
            .retain(|header| header.name != dead_letter_header::SOURCE_TOPIC);

        let error = replay_record(&record, None).unwrap_err().to_string();

        assert!(error.contains("offset 4"), "{error}");
        assert!(error.contains("--to TOPIC"), "{error}");
    }
}
