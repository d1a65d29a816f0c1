//! Embedded local topics: partitioned topics and consumer-group offsets in one SQLite
//! file, used when no Kafka broker is configured.
//!
//! A data folder contains `weir.db`, which [`LocalStore`] opens in WAL mode with
//! `synchronous=FULL`. Each [`LocalStore`] is one connection, and threads and processes
//! open their own. Writes are transactions, so [`LocalStore::commit`] stores a batch's
//! outputs together with the consumer group's next offset, and a crash leaves either
//! both or neither.
//!
//! Local topics follow Kafka's model where a pipeline can observe it:
//!
//! - Offsets count from 0 per partition without gaps.
//! - A keyed record goes to the partition that Kafka's Java client picks for that key
//!   ([`partitioner`]), so moving a pipeline between local topics and Kafka keeps keys
//!   in the same partitions when the partition counts match. Keyless records go
//!   round-robin, where the Java client's sticky partitioner fills one batch at a time.
//! - A committed offset is the offset of the next record to read.
//! - A record has an optional key, an optional value (none is a tombstone) and ordered
//!   headers whose names may repeat.
//! - Topic names follow Kafka's rules ([`validate_topic_name`]).
//!
//! [`jsonl`] reads and writes the JSON lines of `weir topic produce` and
//! `weir topic consume`.

mod batch;
mod error;
pub mod jsonl;
pub mod partitioner;
mod record;
mod schema;
mod store;

pub use error::{LocalError, MAX_PARTITIONS};
pub use jsonl::{JsonlError, format_record, parse_line};
pub use record::{GroupOffset, Header, NewRecord, Record};
pub use store::{
    DATABASE_FILE_NAME, DEFAULT_BUSY_TIMEOUT, LocalStore, TopicInfo, validate_topic_name,
};
