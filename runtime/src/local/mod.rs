//! Embedded local topics.

mod error;
pub mod partitioner;
mod record;
mod schema;
mod store;

pub use error::{LocalError, MAX_PARTITIONS};
pub use record::{GroupOffset, Header, NewRecord, Record};
pub use store::{DATABASE_FILE_NAME, DEFAULT_BUSY_TIMEOUT, LocalStore, TopicInfo, validate_topic_name};
