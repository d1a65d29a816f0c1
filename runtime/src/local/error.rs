//! Errors of the local topic store.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::ErrorCode;

/// Highest partition count that [`LocalStore::create_topic`](super::LocalStore::create_topic)
/// accepts.
pub const MAX_PARTITIONS: u32 = 1024;

/// An error of the local topic store.
///
/// Each message names the value that failed and, where there is one, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The data folder could not be created.
    #[error("failed to create the local topic folder {path}: {source}")]
    CreateDir {
        /// Folder that was to contain `weir.db`.
        path: PathBuf,
        /// Error of the file system.
        source: std::io::Error,
    },

    /// The database file belongs to another program.
    #[error(
        "{path} is not a Weir database (SQLite application_id {application_id:#010x}); \
         choose another data folder"
    )]
    NotWeirDatabase {
        /// Database file.
        path: PathBuf,
        /// `PRAGMA application_id` found in the file.
        application_id: i32,
    },

    /// The database has a schema version that this build cannot use.
    #[error(
        "{path} has schema version {found}, but this build of Weir supports version \
         {supported}; use the Weir version that wrote it, or another data folder"
    )]
    UnsupportedSchema {
        /// Database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i32,
        /// Schema version of this build.
        supported: i32,
    },

    /// SQLite could not use write-ahead logging, which crash safety and concurrent
    /// readers depend on.
    #[error(
        "SQLite could not switch {path} to WAL mode (journal mode is `{journal_mode}`); \
         put the data folder on a local file system"
    )]
    WalUnavailable {
        /// Database file.
        path: PathBuf,
        /// Journal mode that SQLite reported instead of `wal`.
        journal_mode: String,
    },

    /// The topic does not exist.
    #[error(
        "no embedded topics in {path}; check --data or WEIR_DATA, or create a topic there \
         with `weir topic create`"
    )]
    NoStore {
        /// The folder that has no database.
        path: PathBuf,
    },

    #[error("topic `{topic}` not found in {path}; create it with `weir topic create {topic}`")]
    UnknownTopic {
        /// Topic name.
        topic: String,
        /// Database file.
        path: PathBuf,
    },

    /// A topic with this name exists already.
    #[error("topic `{topic}` already exists with partition count {partitions}")]
    TopicExists {
        /// Topic name.
        topic: String,
        /// Partition count of the existing topic.
        partitions: u32,
    },

    /// The topic name breaks Kafka's naming rules.
    #[error(
        "invalid topic name `{name}`: {reason}; a topic name has 1 to 249 characters from \
         ASCII letters, digits, `.`, `_` and `-`, and is not `.` or `..`"
    )]
    InvalidTopicName {
        /// Rejected name.
        name: String,
        /// Rule that the name breaks.
        reason: String,
    },

    /// The partition count of a new topic is out of range.
    #[error("invalid partition count {partitions}; use 1 to {MAX_PARTITIONS}")]
    InvalidPartitionCount {
        /// Rejected partition count.
        partitions: u32,
    },

    /// The partition does not exist in the topic.
    #[error(
        "partition {partition} not found in topic `{topic}`, which has partitions 0 to {}",
        partitions - 1
    )]
    InvalidPartition {
        /// Topic name.
        topic: String,
        /// Rejected partition.
        partition: u32,
        /// Partition count of the topic, at least 1.
        partitions: u32,
    },

    /// An offset is negative or past the end of the partition.
    #[error("invalid offset {offset} for {topic}/{partition}: {reason}")]
    InvalidOffset {
        /// Topic name.
        topic: String,
        /// Partition.
        partition: u32,
        /// Rejected offset.
        offset: i64,
        /// Rule that the offset breaks.
        reason: String,
    },

    /// A record to append has a field that the store cannot take.
    #[error("invalid record {index} of the batch for topic `{topic}`: {reason}")]
    InvalidRecord {
        /// Topic name.
        topic: String,
        /// Position of the record in the batch, from 0.
        index: usize,
        /// Field and rule that it breaks.
        reason: String,
    },

    /// A consumer group id is empty.
    #[error("invalid consumer group id: the id is empty; name the group")]
    EmptyGroupId,

    /// A stored record could not be decoded.
    #[error("record {topic}/{partition} at offset {offset} in {path} is corrupt: {reason}")]
    CorruptRecord {
        /// Database file.
        path: PathBuf,
        /// Topic name.
        topic: String,
        /// Partition.
        partition: u32,
        /// Offset of the record.
        offset: i64,
        /// Description of the damage.
        reason: String,
    },

    /// Another connection held the write lock for longer than the busy timeout.
    #[error(
        "timed out after {timeout:?} waiting for the write lock on {path}; another \
         connection or process has a long write transaction open, so retry when it ends"
    )]
    Busy {
        /// Database file.
        path: PathBuf,
        /// Busy timeout of the connection.
        timeout: Duration,
    },

    /// Any other SQLite failure.
    #[error("SQLite failed on {path}: {source}")]
    Sqlite {
        /// Database file.
        path: PathBuf,
        /// Error of SQLite.
        source: rusqlite::Error,
    },
}

impl LocalError {
    /// Wraps an SQLite error, turning `SQLITE_BUSY` into [`LocalError::Busy`].
    pub(crate) fn sqlite(path: PathBuf, busy_timeout: Duration, source: rusqlite::Error) -> Self {
        if source.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) {
            return LocalError::Busy {
                path,
                timeout: busy_timeout,
            };
        }
        LocalError::Sqlite { path, source }
    }
}
