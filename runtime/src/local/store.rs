//! [`LocalStore`]: partitioned topics and consumer-group offsets in one SQLite file.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::batch::BatchWriter;
use super::error::MAX_PARTITIONS;
use super::record::decode_headers;
use super::schema::open_connection;
use super::{GroupOffset, LocalError, NewRecord, Record};

/// Name of the database file inside the data folder.
pub const DATABASE_FILE_NAME: &str = "weir.db";

/// How long a connection waits for the write lock before an operation fails with
/// [`LocalError::Busy`].
///
/// Writes of the store take milliseconds per batch, so a writer that waits this long is
/// blocked by a stuck or very large transaction rather than by normal traffic.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Maximum length of a topic name, as in Kafka.
const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// A topic and the end offset of each of its partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: u32,
    /// End offset of each partition, indexed by partition: the offset that the next
    /// appended record gets, which is also the partition's record count.
    pub end_offsets: Vec<i64>,
}

/// A connection to the local topic database `weir.db` in a data folder.
///
/// One `LocalStore` is one SQLite connection. It is [`Send`] but not [`Sync`], so a
/// program opens one per thread. Connections of several threads and processes (such as
/// `weir run` and `weir topic produce`) can use the same folder at once:
///
/// - Reads do not wait for writers, and see the data committed when their statement
///   starts.
/// - Writes take the database's write lock with `BEGIN IMMEDIATE`, so they run one at a
///   time. A writer waits up to the busy timeout ([`DEFAULT_BUSY_TIMEOUT`] unless
///   [`set_busy_timeout`](Self::set_busy_timeout) changes it) and then fails with
///   [`LocalError::Busy`].
/// - A write that returned `Ok` is on disk. It survives a crash of the process, and of
///   the machine when the storage honours fsync, because every commit waits for an
///   fsync of the write-ahead log.
///
/// Topics cannot be deleted and their partition counts cannot change.
// NOTE: nothing deletes records yet, so the database grows until the folder is removed.
pub struct LocalStore {
    connection: Connection,
    database: DatabaseFile,
}

/// Path and busy timeout of a connection, which every error of the connection names.
pub(super) struct DatabaseFile {
    pub(super) path: PathBuf,
    busy_timeout: Duration,
}

impl DatabaseFile {
    pub(super) fn error(&self, source: rusqlite::Error) -> LocalError {
        LocalError::sqlite(self.path.clone(), self.busy_timeout, source)
    }
}

/// Row of an existing topic.
#[derive(Debug, Clone, Copy)]
pub(super) struct TopicRow {
    pub(super) topic_id: i64,
    pub(super) partitions: u32,
    pub(super) next_round_robin: u32,
}

/// Opens a connection, trying again while another connection holds a lock that SQLite does not
/// wait for: switching a new database to WAL mode fails at once with `SQLITE_BUSY` when another
/// connection is doing the same, without calling the busy handler.
fn open_retrying(path: &Path, busy_timeout: Duration) -> Result<Connection, LocalError> {
    let started = std::time::Instant::now();
    loop {
        match open_connection(path, busy_timeout) {
            Err(LocalError::Busy { .. }) if started.elapsed() < busy_timeout => {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

impl LocalStore {
    /// Opens `weir.db` in `dir`, creating the folder and the database when missing.
    ///
    /// Fails when the file is another program's SQLite database, when it has a schema
    /// version that this build does not support, or when SQLite cannot use WAL mode on
    /// the folder's file system.
    pub fn open(dir: &Path) -> Result<Self, LocalError> {
        std::fs::create_dir_all(dir).map_err(|source| LocalError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;

        let path = dir.join(DATABASE_FILE_NAME);
        let connection = open_retrying(&path, DEFAULT_BUSY_TIMEOUT)?;
        tracing::debug!(path = %path.display(), "opened local topic database");

        Ok(LocalStore {
            connection,
            database: DatabaseFile {
                path,
                busy_timeout: DEFAULT_BUSY_TIMEOUT,
            },
        })
    }

    /// Opens the store in `dir` only if it exists, so that a mistyped folder is an error
    /// instead of a new, empty store.
    pub fn open_existing(dir: &Path) -> Result<Self, LocalError> {
        if !dir.join(DATABASE_FILE_NAME).is_file() {
            return Err(LocalError::NoStore {
                path: dir.to_owned(),
            });
        }
        Self::open(dir)
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        &self.database.path
    }

    /// Sets how long this connection waits for the write lock before failing with
    /// [`LocalError::Busy`].
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), LocalError> {
        self.connection
            .busy_timeout(timeout)
            .map_err(|source| self.database.error(source))?;
        self.database.busy_timeout = timeout;
        Ok(())
    }

    /// Creates a topic with partitions `0..partitions`, each with end offset 0.
    ///
    /// The name must follow Kafka's rules (see [`validate_topic_name`]) and `partitions`
    /// must be 1 to [`MAX_PARTITIONS`]. Fails with [`LocalError::TopicExists`] when the
    /// topic exists, whatever its partition count.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<(), LocalError> {
        validate_topic_name(name)?;
        if !(1..=MAX_PARTITIONS).contains(&partitions) {
            return Err(LocalError::InvalidPartitionCount { partitions });
        }
        let sql_error = |source| self.database.error(source);

        let transaction =
            Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)
                .map_err(sql_error)?;

        if let Some(existing) = find_topic(&transaction, name).map_err(sql_error)? {
            return Err(LocalError::TopicExists {
                topic: name.to_owned(),
                partitions: existing.partitions,
            });
        }

        transaction
            .prepare_cached(
                "INSERT INTO topics (name, partitions, next_round_robin, created_ms)
                 VALUES (?1, ?2, 0, ?3)",
            )
            .and_then(|mut statement| statement.execute(params![name, partitions, now_ms()]))
            .map_err(sql_error)?;
        let topic_id = transaction.last_insert_rowid();

        let mut insert_partition = transaction
            .prepare_cached(
                "INSERT INTO partitions (topic_id, partition, end_offset) VALUES (?1, ?2, 0)",
            )
            .map_err(sql_error)?;
        for partition in 0..partitions {
            insert_partition
                .execute(params![topic_id, partition])
                .map_err(sql_error)?;
        }
        drop(insert_partition);

        transaction.commit().map_err(sql_error)?;
        tracing::info!(topic = name, partitions, path = %self.database.path.display(), "created local topic");
        Ok(())
    }

    /// Returns the topic with its end offsets, or `None` when it does not exist.
    pub fn topic(&self, name: &str) -> Result<Option<TopicInfo>, LocalError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT t.name, t.partitions, p.partition, p.end_offset
                 FROM topics AS t JOIN partitions AS p USING (topic_id)
                 WHERE t.name = ?1
                 ORDER BY p.partition",
            )
            .map_err(|source| self.database.error(source))?;
        let rows = statement
            .query(params![name])
            .map_err(|source| self.database.error(source))?;

        let topics = self.collect_topics(rows)?;
        Ok(topics.into_iter().next())
    }

    /// Returns all topics in name order, each with its end offsets.
    pub fn topics(&self) -> Result<Vec<TopicInfo>, LocalError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT t.name, t.partitions, p.partition, p.end_offset
                 FROM topics AS t JOIN partitions AS p USING (topic_id)
                 ORDER BY t.name, p.partition",
            )
            .map_err(|source| self.database.error(source))?;
        let rows = statement
            .query([])
            .map_err(|source| self.database.error(source))?;

        self.collect_topics(rows)
    }

    /// Groups rows of (name, partitions, partition, end offset), sorted by name and
    /// partition, into one [`TopicInfo`] per topic.
    fn collect_topics(&self, mut rows: rusqlite::Rows<'_>) -> Result<Vec<TopicInfo>, LocalError> {
        let mut topics: Vec<TopicInfo> = Vec::new();
        while let Some(row) = rows.next().map_err(|source| self.database.error(source))? {
            let read_row = || -> rusqlite::Result<(String, u32, i64)> {
                Ok((row.get(0)?, row.get(1)?, row.get(3)?))
            };
            let (name, partitions, end_offset) =
                read_row().map_err(|source| self.database.error(source))?;

            match topics.last_mut() {
                Some(topic) if topic.name == name => topic.end_offsets.push(end_offset),
                _ => topics.push(TopicInfo {
                    name,
                    partitions,
                    end_offsets: vec![end_offset],
                }),
            }
        }
        Ok(topics)
    }

    /// Appends records in one transaction and returns the topic, partition and offset of
    /// each record, in the order of `records`.
    ///
    /// Either all records are stored or, on error, none. Each partition's offsets
    /// continue from its end offset without gaps, in the order of `records`. A record's
    /// partition is its explicit one when set, checked against the topic's partition
    /// count. Otherwise a keyed record goes where Kafka's default partitioner puts it
    /// (see [`partition_for_key`](super::partitioner::partition_for_key)), and a keyless record goes to the topic's next
    /// partition in round-robin order. The round-robin position is stored with the topic,
    /// so it carries on across connections and processes.
    pub fn append(&mut self, records: &[NewRecord]) -> Result<Vec<(String, u32, i64)>, LocalError> {
        self.commit(records, &[])
    }

    /// Appends `outputs` and stores consumer-group offsets in one transaction, so that
    /// writing a batch's outputs and advancing the offset past its inputs either both
    /// happen or, on error or crash, neither does.
    ///
    /// Returns the positions of `outputs` as [`append`](Self::append) does. Each offset
    /// must be 0 to the partition's end offset after `outputs` are appended. An offset
    /// may move backwards, which is how a replay sets a group back. An offset that names
    /// an unknown topic or partition or an empty group id fails the whole call.
    pub fn commit(
        &mut self,
        outputs: &[NewRecord],
        offsets: &[GroupOffset],
    ) -> Result<Vec<(String, u32, i64)>, LocalError> {
        if outputs.is_empty() && offsets.is_empty() {
            return Ok(Vec::new());
        }
        let database = &self.database;

        let transaction = Transaction::new(&mut self.connection, TransactionBehavior::Immediate)
            .map_err(|source| database.error(source))?;
        let mut writer = BatchWriter::new(&transaction, database);

        let mut positions = Vec::with_capacity(outputs.len());
        for (index, record) in outputs.iter().enumerate() {
            positions.push(writer.append(index, record)?);
        }
        for offset in offsets {
            writer.store_group_offset(offset)?;
        }

        writer.finish()?;
        transaction
            .commit()
            .map_err(|source| database.error(source))?;
        Ok(positions)
    }

    /// Reads up to `max_records` records of a partition, starting at `from_offset`, in
    /// offset order.
    ///
    /// Returns fewer records, or none, when the partition ends sooner. Fails when the
    /// topic or partition does not exist or `from_offset` is negative.
    pub fn read(
        &self,
        topic: &str,
        partition: u32,
        from_offset: i64,
        max_records: usize,
    ) -> Result<Vec<Record>, LocalError> {
        let topic_row = self.existing_partition(topic, partition)?;
        if from_offset < 0 {
            return Err(LocalError::InvalidOffset {
                topic: topic.to_owned(),
                partition,
                offset: from_offset,
                reason: "offsets start at 0".to_owned(),
            });
        }
        if max_records == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(max_records).unwrap_or(i64::MAX);
        let sql_error = |source| self.database.error(source);

        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT offset, timestamp_ms, key, value, headers FROM records
                 WHERE topic_id = ?1 AND partition = ?2 AND offset >= ?3
                 ORDER BY offset
                 LIMIT ?4",
            )
            .map_err(sql_error)?;
        let mut rows = statement
            .query(params![topic_row.topic_id, partition, from_offset, limit])
            .map_err(sql_error)?;

        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(sql_error)? {
            let offset: i64 = row.get(0).map_err(sql_error)?;
            let headers_blob: Option<Vec<u8>> = row.get(4).map_err(sql_error)?;
            let headers = decode_headers(headers_blob.as_deref()).map_err(|reason| {
                LocalError::CorruptRecord {
                    path: self.database.path.clone(),
                    topic: topic.to_owned(),
                    partition,
                    offset,
                    reason,
                }
            })?;

            records.push(Record {
                topic: topic.to_owned(),
                partition,
                offset,
                timestamp_ms: row.get(1).map_err(sql_error)?,
                key: row.get(2).map_err(sql_error)?,
                value: row.get(3).map_err(sql_error)?,
                headers,
            });
        }
        Ok(records)
    }

    /// Returns the end offset of a partition: the offset that the next appended record
    /// gets. Fails when the topic or partition does not exist.
    pub fn end_offset(&self, topic: &str, partition: u32) -> Result<i64, LocalError> {
        let topic_row = self.existing_partition(topic, partition)?;
        read_end_offset(&self.connection, topic_row.topic_id, partition)
            .map_err(|source| self.database.error(source))
    }

    /// Returns the committed offset of a consumer group on a partition, which is the
    /// offset of the next record to read, or `None` when the group has committed none.
    ///
    /// Fails when the group id is empty or the topic or partition does not exist.
    pub fn committed_offset(
        &self,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<i64>, LocalError> {
        if group.is_empty() {
            return Err(LocalError::EmptyGroupId);
        }
        let topic_row = self.existing_partition(topic, partition)?;

        self.connection
            .prepare_cached(
                "SELECT next_offset FROM group_offsets
                 WHERE group_id = ?1 AND topic_id = ?2 AND partition = ?3",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![group, topic_row.topic_id, partition], |row| {
                        row.get(0)
                    })
                    .optional()
            })
            .map_err(|source| self.database.error(source))
    }

    /// Returns all committed offsets of a consumer group, sorted by topic and partition.
    pub fn group_offsets(&self, group: &str) -> Result<Vec<GroupOffset>, LocalError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT t.name, g.partition, g.next_offset
                 FROM group_offsets AS g JOIN topics AS t USING (topic_id)
                 WHERE g.group_id = ?1
                 ORDER BY t.name, g.partition",
            )
            .map_err(|source| self.database.error(source))?;
        let offsets = statement
            .query_map(params![group], |row| {
                Ok(GroupOffset {
                    group: group.to_owned(),
                    topic: row.get(0)?,
                    partition: row.get(1)?,
                    next_offset: row.get(2)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(|source| self.database.error(source))?;
        Ok(offsets)
    }

    /// Looks up a topic and checks that it has `partition`.
    fn existing_partition(&self, topic: &str, partition: u32) -> Result<TopicRow, LocalError> {
        let topic_row = find_topic(&self.connection, topic)
            .map_err(|source| self.database.error(source))?
            .ok_or_else(|| LocalError::UnknownTopic {
                topic: topic.to_owned(),
                path: self.database.path.clone(),
            })?;
        check_partition(topic, partition, topic_row.partitions)?;
        Ok(topic_row)
    }
}

/// Checks a topic name against Kafka's rules: 1 to 249 characters from ASCII letters,
/// digits, `.`, `_` and `-`, and neither `.` nor `..`.
pub fn validate_topic_name(name: &str) -> Result<(), LocalError> {
    let invalid = |reason: String| LocalError::InvalidTopicName {
        name: name.to_owned(),
        reason,
    };

    if name.is_empty() {
        return Err(invalid("the name is empty".to_owned()));
    }
    if name == "." || name == ".." {
        return Err(invalid("`.` and `..` are reserved".to_owned()));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if let Some(character) = name.chars().find(|&c| !allowed(c)) {
        return Err(invalid(format!("it contains {character:?}")));
    }
    // Only ASCII is left, so the byte length is the character count.
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(invalid(format!(
            "the name is {} characters long",
            name.len()
        )));
    }
    Ok(())
}

pub(super) fn check_partition(
    topic: &str,
    partition: u32,
    partitions: u32,
) -> Result<(), LocalError> {
    if partition >= partitions {
        return Err(LocalError::InvalidPartition {
            topic: topic.to_owned(),
            partition,
            partitions,
        });
    }
    Ok(())
}

pub(super) fn find_topic(
    connection: &Connection,
    name: &str,
) -> rusqlite::Result<Option<TopicRow>> {
    connection
        .prepare_cached(
            "SELECT topic_id, partitions, next_round_robin FROM topics WHERE name = ?1",
        )?
        .query_row(params![name], |row| {
            Ok(TopicRow {
                topic_id: row.get(0)?,
                partitions: row.get(1)?,
                next_round_robin: row.get(2)?,
            })
        })
        .optional()
}

pub(super) fn read_end_offset(
    connection: &Connection,
    topic_id: i64,
    partition: u32,
) -> rusqlite::Result<i64> {
    connection
        .prepare_cached("SELECT end_offset FROM partitions WHERE topic_id = ?1 AND partition = ?2")?
        .query_row(params![topic_id, partition], |row| row.get(0))
}

/// Milliseconds since the Unix epoch, or 0 when the clock is before 1970.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Instant;

    use super::*;
    use crate::local::Header;

    fn open_temp() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = LocalStore::open(dir.path()).expect("open store");
        (dir, store)
    }

    fn to_partition(topic: &str, partition: u32, value: &str) -> NewRecord {
        NewRecord {
            topic: topic.to_owned(),
            partition: Some(partition),
            value: Some(value.as_bytes().to_vec()),
            ..NewRecord::default()
        }
    }

    fn keyed(topic: &str, key: &str) -> NewRecord {
        NewRecord {
            topic: topic.to_owned(),
            key: Some(key.as_bytes().to_vec()),
            value: Some(b"v".to_vec()),
            ..NewRecord::default()
        }
    }

    fn keyless(topic: &str) -> NewRecord {
        NewRecord {
            topic: topic.to_owned(),
            value: Some(b"v".to_vec()),
            ..NewRecord::default()
        }
    }

    fn group_offset(group: &str, topic: &str, partition: u32, next_offset: i64) -> GroupOffset {
        GroupOffset {
            group: group.to_owned(),
            topic: topic.to_owned(),
            partition,
            next_offset,
        }
    }

    fn values(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|record| String::from_utf8(record.value.clone().unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn open_sets_wal_and_full_sync() {
        let (_dir, store) = open_temp();

        let journal_mode: String = store
            .connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        let synchronous: i64 = store
            .connection
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();

        let journal_size_limit: i64 = store
            .connection
            .pragma_query_value(None, "journal_size_limit", |row| row.get(0))
            .unwrap();

        assert_eq!(journal_mode, "wal");
        assert_eq!(journal_size_limit, 64 * 1024 * 1024);
        // 2 is FULL in SQLite's numbering (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA).
        assert_eq!(synchronous, 2);
        assert!(store.path().ends_with(DATABASE_FILE_NAME));
    }

    #[test]
    fn open_creates_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a").join("b");

        let store = LocalStore::open(&nested).unwrap();

        assert!(nested.join(DATABASE_FILE_NAME).is_file());
        assert_eq!(store.topics().unwrap(), Vec::new());
    }

    #[test]
    fn append_offsets_without_gaps() {
        let (_dir, mut store) = open_temp();
        store.create_topic("orders", 3).unwrap();

        let first = store
            .append(&[
                to_partition("orders", 0, "a"),
                to_partition("orders", 2, "b"),
                to_partition("orders", 0, "c"),
                to_partition("orders", 0, "d"),
            ])
            .unwrap();
        let second = store
            .append(&[
                to_partition("orders", 2, "e"),
                to_partition("orders", 0, "f"),
            ])
            .unwrap();

        let position = |partition, offset| ("orders".to_owned(), partition, offset);
        assert_eq!(
            first,
            vec![
                position(0, 0),
                position(2, 0),
                position(0, 1),
                position(0, 2)
            ]
        );
        assert_eq!(second, vec![position(2, 1), position(0, 3)]);
        assert_eq!(store.end_offset("orders", 0).unwrap(), 4);
        assert_eq!(store.end_offset("orders", 1).unwrap(), 0);
        assert_eq!(store.end_offset("orders", 2).unwrap(), 2);

        let partition_0 = store.read("orders", 0, 0, 100).unwrap();
        let offsets: Vec<i64> = partition_0.iter().map(|record| record.offset).collect();
        assert_eq!(offsets, vec![0, 1, 2, 3]);
        assert_eq!(values(&partition_0), vec!["a", "c", "d", "f"]);
        assert_eq!(
            values(&store.read("orders", 2, 0, 100).unwrap()),
            vec!["b", "e"]
        );
    }

    #[test]
    fn append_empty_batch_is_noop() {
        let (_dir, mut store) = open_temp();

        assert_eq!(store.append(&[]).unwrap(), Vec::new());
        assert_eq!(store.commit(&[], &[]).unwrap(), Vec::new());
    }

    #[test]
    fn append_failing_record_stores_nothing() {
        let (_dir, mut store) = open_temp();
        store.create_topic("orders", 2).unwrap();
        store
            .append(&[to_partition("orders", 0, "before")])
            .unwrap();

        let bad_batches = [
            vec![
                to_partition("orders", 0, "x"),
                keyless("orders"),
                to_partition("orders", 2, "bad partition"),
            ],
            vec![
                to_partition("orders", 1, "x"),
                keyless("orders"),
                to_partition("missing", 0, "unknown topic"),
            ],
            vec![
                keyless("orders"),
                NewRecord {
                    timestamp_ms: Some(-5),
                    ..to_partition("orders", 0, "negative timestamp")
                },
            ],
        ];
        for batch in &bad_batches {
            let result = store.append(batch);
            assert!(result.is_err(), "batch was accepted: {result:?}");
        }

        assert_eq!(store.end_offset("orders", 0).unwrap(), 1);
        assert_eq!(store.end_offset("orders", 1).unwrap(), 0);
        assert_eq!(
            values(&store.read("orders", 0, 0, 10).unwrap()),
            vec!["before"]
        );
        assert_eq!(store.read("orders", 1, 0, 10).unwrap(), Vec::new());
        // The failed batches moved the round-robin position in memory only.
        let positions = store.append(&[keyless("orders")]).unwrap();
        assert_eq!(positions, vec![("orders".to_owned(), 0, 1)]);
    }

    #[test]
    fn append_keyed_uses_kafka_partitioner() {
        let (_dir, mut store) = open_temp();
        store.create_topic("orders", 3).unwrap();
        store.create_topic("wide", 12).unwrap();

        // Partitions that kafka-clients 4.4.0 picks for these keys.
        let positions = store
            .append(&[
                keyed("orders", "ord-000001"),
                keyed("orders", "ord-000042"),
                keyed("orders", "abc"),
                keyed("wide", "a-little-bit-longer-string"),
                keyed("wide", ""),
            ])
            .unwrap();

        let partitions: Vec<u32> = positions
            .iter()
            .map(|(_, partition, _)| *partition)
            .collect();
        assert_eq!(partitions, vec![2, 1, 0, 11, 9]);
    }

    #[test]
    fn append_keyless_round_robin_persists() {
        let dir = tempfile::tempdir().unwrap();
        let partitions_of = |positions: Vec<(String, u32, i64)>| -> Vec<u32> {
            positions
                .into_iter()
                .map(|(_, partition, _)| partition)
                .collect()
        };

        {
            let mut store = LocalStore::open(dir.path()).unwrap();
            store.create_topic("events", 3).unwrap();
            let first = store
                .append(&[keyless("events"), keyless("events")])
                .unwrap();
            assert_eq!(partitions_of(first), vec![0, 1]);

            // An explicit partition or a key leaves the round-robin position alone.
            store
                .append(&[to_partition("events", 0, "x"), keyed("events", "k")])
                .unwrap();
            let second = store
                .append(&[keyless("events"), keyless("events")])
                .unwrap();
            assert_eq!(partitions_of(second), vec![2, 0]);
        }

        let mut reopened = LocalStore::open(dir.path()).unwrap();
        let third = reopened.append(&[keyless("events")]).unwrap();
        assert_eq!(partitions_of(third), vec![1]);
    }

    #[test]
    fn append_unknown_topic_names_fix() {
        let (_dir, mut store) = open_temp();

        let error = store.append(&[keyless("payments")]).unwrap_err();

        assert!(matches!(&error, LocalError::UnknownTopic { topic, .. } if topic == "payments"));
        let message = error.to_string();
        assert!(message.contains("`payments`"), "{message}");
        assert!(message.contains("weir topic create payments"), "{message}");
    }

    #[test]
    fn append_invalid_partition_names_range() {
        let (_dir, mut store) = open_temp();
        store.create_topic("orders", 3).unwrap();

        let error = store.append(&[to_partition("orders", 3, "x")]).unwrap_err();

        assert!(matches!(
            error,
            LocalError::InvalidPartition {
                partition: 3,
                partitions: 3,
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "partition 3 not found in topic `orders`, which has partitions 0 to 2"
        );
    }

    #[test]
    fn append_timestamps_given_or_now() {
        let (_dir, mut store) = open_temp();
        store.create_topic("t", 1).unwrap();
        let before = now_ms();

        store
            .append(&[
                NewRecord {
                    timestamp_ms: Some(1_700_000_000_000),
                    ..to_partition("t", 0, "given")
                },
                to_partition("t", 0, "now"),
            ])
            .unwrap();

        let after = now_ms();
        let records = store.read("t", 0, 0, 10).unwrap();
        assert_eq!(records[0].timestamp_ms, 1_700_000_000_000);
        assert!(
            records[1].timestamp_ms >= before,
            "{} < {before}",
            records[1].timestamp_ms
        );
        assert!(
            records[1].timestamp_ms <= after,
            "{} > {after}",
            records[1].timestamp_ms
        );
    }

    #[test]
    fn tombstones_keys_and_headers_round_trip() {
        let (_dir, mut store) = open_temp();
        store.create_topic("t", 1).unwrap();
        let headers = vec![
            Header {
                name: "trace".to_owned(),
                value: Some(b"1".to_vec()),
            },
            Header {
                name: "flag".to_owned(),
                value: None,
            },
            Header {
                name: "trace".to_owned(),
                value: Some(vec![0xff, 0x00]),
            },
        ];
        let inputs = vec![
            NewRecord {
                topic: "t".to_owned(),
                partition: Some(0),
                timestamp_ms: Some(1),
                key: Some(b"k".to_vec()),
                value: None,
                headers: headers.clone(),
            },
            NewRecord {
                topic: "t".to_owned(),
                partition: Some(0),
                timestamp_ms: Some(2),
                key: Some(Vec::new()),
                value: Some(Vec::new()),
                headers: Vec::new(),
            },
            NewRecord {
                topic: "t".to_owned(),
                partition: Some(0),
                timestamp_ms: Some(3),
                key: None,
                value: Some(vec![0, 1, 2, 255]),
                headers: Vec::new(),
            },
        ];

        store.append(&inputs).unwrap();
        let records = store.read("t", 0, 0, 10).unwrap();

        assert_eq!(records.len(), 3);
        for (offset, (record, input)) in records.iter().zip(&inputs).enumerate() {
            assert_eq!(record.offset, offset as i64);
            assert_eq!(
                record.timestamp_ms,
                input.timestamp_ms.unwrap(),
                "offset {offset}"
            );
            assert_eq!(record.key, input.key, "key at offset {offset}");
            assert_eq!(record.value, input.value, "value at offset {offset}");
            assert_eq!(record.headers, input.headers, "headers at offset {offset}");
        }
    }

    #[test]
    fn read_ranges_and_limits() {
        let (_dir, mut store) = open_temp();
        store.create_topic("t", 2).unwrap();
        let batch: Vec<NewRecord> = (0..10)
            .map(|i| to_partition("t", 1, &i.to_string()))
            .collect();
        store.append(&batch).unwrap();

        assert_eq!(
            values(&store.read("t", 1, 3, 4).unwrap()),
            vec!["3", "4", "5", "6"]
        );
        assert_eq!(values(&store.read("t", 1, 8, 100).unwrap()), vec!["8", "9"]);
        assert_eq!(store.read("t", 1, 10, 100).unwrap(), Vec::new());
        assert_eq!(store.read("t", 1, 0, 0).unwrap(), Vec::new());
        assert_eq!(store.read("t", 0, 0, 100).unwrap(), Vec::new());

        let negative = store.read("t", 1, -1, 10).unwrap_err();
        assert!(matches!(
            negative,
            LocalError::InvalidOffset { offset: -1, .. }
        ));
        let missing_partition = store.read("t", 2, 0, 10).unwrap_err();
        assert!(matches!(
            missing_partition,
            LocalError::InvalidPartition { .. }
        ));
        let missing_topic = store.read("nope", 0, 0, 10).unwrap_err();
        assert!(matches!(missing_topic, LocalError::UnknownTopic { .. }));
        let missing_end = store.end_offset("nope", 0).unwrap_err();
        assert!(matches!(missing_end, LocalError::UnknownTopic { .. }));
    }

    #[test]
    fn create_topic_existing_rejected() {
        let (_dir, store) = open_temp();
        store.create_topic("orders", 4).unwrap();

        let error = store.create_topic("orders", 1).unwrap_err();

        assert!(matches!(
            error,
            LocalError::TopicExists { partitions: 4, .. }
        ));
        assert_eq!(
            error.to_string(),
            "topic `orders` already exists with partition count 4"
        );
        assert_eq!(store.topic("orders").unwrap().unwrap().partitions, 4);
    }

    #[test]
    fn create_topic_partition_count_range() {
        let (_dir, store) = open_temp();

        for partitions in [0, MAX_PARTITIONS + 1, u32::MAX] {
            let error = store.create_topic("t", partitions).unwrap_err();
            assert!(
                matches!(error, LocalError::InvalidPartitionCount { .. }),
                "{partitions}: {error}"
            );
        }
        store.create_topic("one", 1).unwrap();
        store.create_topic("max", MAX_PARTITIONS).unwrap();

        assert_eq!(store.topic("t").unwrap(), None);
        let max = store.topic("max").unwrap().unwrap();
        assert_eq!(max.end_offsets.len(), MAX_PARTITIONS as usize);
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        let longest = "x".repeat(249);
        let valid = [
            "a",
            "orders",
            "Orders.v2",
            "dead_letter-1",
            "..a",
            "...",
            &longest,
        ];
        for name in valid {
            assert!(validate_topic_name(name).is_ok(), "{name:?} rejected");
        }

        let too_long = "x".repeat(250);
        let invalid = ["", ".", "..", "a b", "a/b", "ä", "a\n", "a:b", &too_long];
        for name in invalid {
            let result = validate_topic_name(name);
            assert!(
                matches!(result, Err(LocalError::InvalidTopicName { .. })),
                "{name:?} accepted"
            );
        }

        let message = validate_topic_name("a b").unwrap_err().to_string();
        assert!(message.contains("it contains ' '"), "{message}");
    }

    #[test]
    fn topics_list_end_offsets() {
        let (_dir, mut store) = open_temp();
        store.create_topic("b-topic", 2).unwrap();
        store.create_topic("a-topic", 1).unwrap();
        store
            .append(&[
                to_partition("b-topic", 1, "x"),
                to_partition("b-topic", 1, "y"),
            ])
            .unwrap();

        let topics = store.topics().unwrap();

        let expected = vec![
            TopicInfo {
                name: "a-topic".to_owned(),
                partitions: 1,
                end_offsets: vec![0],
            },
            TopicInfo {
                name: "b-topic".to_owned(),
                partitions: 2,
                end_offsets: vec![0, 2],
            },
        ];
        assert_eq!(topics, expected);
        assert_eq!(store.topic("b-topic").unwrap().as_ref(), Some(&expected[1]));
        assert_eq!(store.topic("c-topic").unwrap(), None);
    }

    #[test]
    fn commit_stores_outputs_and_offsets() {
        let (_dir, mut store) = open_temp();
        store.create_topic("in", 2).unwrap();
        store.create_topic("out", 1).unwrap();
        let inputs: Vec<NewRecord> = (0..5)
            .map(|i| to_partition("in", 1, &i.to_string()))
            .collect();
        store.append(&inputs).unwrap();
        assert_eq!(store.committed_offset("g", "in", 1).unwrap(), None);

        let positions = store
            .commit(
                &[to_partition("out", 0, "o1"), to_partition("out", 0, "o2")],
                &[group_offset("g", "in", 1, 3)],
            )
            .unwrap();

        assert_eq!(
            positions,
            vec![("out".to_owned(), 0, 0), ("out".to_owned(), 0, 1)]
        );
        assert_eq!(store.committed_offset("g", "in", 1).unwrap(), Some(3));
        assert_eq!(store.committed_offset("g", "in", 0).unwrap(), None);
        assert_eq!(store.committed_offset("other", "in", 1).unwrap(), None);
        assert_eq!(
            values(&store.read("out", 0, 0, 10).unwrap()),
            vec!["o1", "o2"]
        );
    }

    #[test]
    fn commit_failure_stores_nothing() {
        let (_dir, mut store) = open_temp();
        store.create_topic("in", 1).unwrap();
        store.create_topic("out", 1).unwrap();
        store.append(&[to_partition("in", 0, "a")]).unwrap();
        store.commit(&[], &[group_offset("g", "in", 0, 1)]).unwrap();

        let bad_offsets = [
            group_offset("g", "in", 1, 0),
            group_offset("g", "missing", 0, 0),
            group_offset("g", "in", 0, 2),
            group_offset("g", "in", 0, -1),
            group_offset("", "in", 0, 0),
        ];
        for bad in bad_offsets {
            let result = store.commit(
                &[to_partition("out", 0, "output")],
                &[group_offset("h", "in", 0, 1), bad.clone()],
            );
            assert!(result.is_err(), "{bad:?} was accepted");
        }

        assert_eq!(store.end_offset("out", 0).unwrap(), 0);
        assert_eq!(store.committed_offset("g", "in", 0).unwrap(), Some(1));
        assert_eq!(store.committed_offset("h", "in", 0).unwrap(), None);
    }

    #[test]
    fn commit_offset_checks_include_batch_outputs() {
        let (_dir, mut store) = open_temp();
        store.create_topic("loop", 1).unwrap();

        // A group may commit offsets on a topic that the same call appends to.
        store
            .commit(
                &[to_partition("loop", 0, "a"), to_partition("loop", 0, "b")],
                &[group_offset("g", "loop", 0, 2)],
            )
            .unwrap();

        assert_eq!(store.committed_offset("g", "loop", 0).unwrap(), Some(2));
    }

    #[test]
    fn commit_offset_can_move_backwards() {
        let (_dir, mut store) = open_temp();
        store.create_topic("in", 1).unwrap();
        let inputs: Vec<NewRecord> = (0..4)
            .map(|i| to_partition("in", 0, &i.to_string()))
            .collect();
        store.append(&inputs).unwrap();

        store.commit(&[], &[group_offset("g", "in", 0, 4)]).unwrap();
        store.commit(&[], &[group_offset("g", "in", 0, 1)]).unwrap();

        assert_eq!(store.committed_offset("g", "in", 0).unwrap(), Some(1));
        assert_eq!(
            store.group_offsets("g").unwrap(),
            vec![group_offset("g", "in", 0, 1)]
        );
    }

    #[test]
    fn committed_offset_rejects_bad_arguments() {
        let (_dir, store) = open_temp();
        store.create_topic("in", 1).unwrap();

        assert!(matches!(
            store.committed_offset("", "in", 0),
            Err(LocalError::EmptyGroupId)
        ));
        assert!(matches!(
            store.committed_offset("g", "in", 1),
            Err(LocalError::InvalidPartition { .. })
        ));
        assert!(matches!(
            store.committed_offset("g", "nope", 0),
            Err(LocalError::UnknownTopic { .. })
        ));
    }

    #[test]
    fn group_offsets_sorted_by_topic() {
        let (_dir, mut store) = open_temp();
        store.create_topic("b", 2).unwrap();
        store.create_topic("a", 1).unwrap();
        store
            .append(&[to_partition("b", 1, "x"), to_partition("a", 0, "y")])
            .unwrap();

        store
            .commit(
                &[],
                &[
                    group_offset("g", "b", 1, 1),
                    group_offset("g", "a", 0, 1),
                    group_offset("g", "b", 0, 0),
                    group_offset("other", "a", 0, 0),
                ],
            )
            .unwrap();

        let expected = vec![
            group_offset("g", "a", 0, 1),
            group_offset("g", "b", 0, 0),
            group_offset("g", "b", 1, 1),
        ];
        assert_eq!(store.group_offsets("g").unwrap(), expected);
        assert_eq!(store.group_offsets("nobody").unwrap(), Vec::new());
    }

    #[test]
    fn reopen_keeps_records_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = LocalStore::open(dir.path()).unwrap();
            store.create_topic("t", 2).unwrap();
            store
                .append(&[to_partition("t", 1, "a"), to_partition("t", 1, "b")])
                .unwrap();
            store.commit(&[], &[group_offset("g", "t", 1, 1)]).unwrap();
        }

        let mut store = LocalStore::open(dir.path()).unwrap();

        assert_eq!(values(&store.read("t", 1, 0, 10).unwrap()), vec!["a", "b"]);
        assert_eq!(store.committed_offset("g", "t", 1).unwrap(), Some(1));
        let positions = store.append(&[to_partition("t", 1, "c")]).unwrap();
        assert_eq!(positions, vec![("t".to_owned(), 1, 2)]);
    }

    #[test]
    fn open_rejects_foreign_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DATABASE_FILE_NAME);
        let foreign = Connection::open(&path).unwrap();
        foreign
            .execute_batch("CREATE TABLE notes (text TEXT)")
            .unwrap();
        drop(foreign);

        let error = LocalStore::open(dir.path())
            .err()
            .expect("foreign database opened");

        assert!(matches!(
            error,
            LocalError::NotWeirDatabase {
                application_id: 0,
                ..
            }
        ));
        assert!(
            error.to_string().contains("is not a Weir database"),
            "{error}"
        );
    }

    #[test]
    fn open_rejects_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(LocalStore::open(dir.path()).unwrap());
        let path = dir.path().join(DATABASE_FILE_NAME);
        let raw = Connection::open(&path).unwrap();
        raw.pragma_update(None, "user_version", 7).unwrap();
        drop(raw);

        let error = LocalStore::open(dir.path())
            .err()
            .expect("newer schema opened");

        assert!(matches!(
            error,
            LocalError::UnsupportedSchema {
                found: 7,
                supported: 1,
                ..
            }
        ));
    }

    #[test]
    fn open_concurrently_on_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let threads = 4;
        let barrier = Arc::new(Barrier::new(threads));

        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let path = dir.path().to_owned();
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    LocalStore::open(&path).map(|store| store.topics().map(|topics| topics.len()))
                })
            })
            .collect();

        for handle in handles {
            let topic_count = handle.join().unwrap().unwrap().unwrap();
            assert_eq!(topic_count, 0);
        }
    }

    #[test]
    fn append_concurrently_from_two_threads() {
        const BATCHES: usize = 50;
        const BATCH_SIZE: usize = 20;
        let dir = tempfile::tempdir().unwrap();
        LocalStore::open(dir.path())
            .unwrap()
            .create_topic("shared", 1)
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));

        let writers: Vec<_> = ["left", "right"]
            .into_iter()
            .map(|writer| {
                let path = dir.path().to_owned();
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    let mut store = LocalStore::open(&path).unwrap();
                    barrier.wait();
                    for batch in 0..BATCHES {
                        let records: Vec<NewRecord> = (0..BATCH_SIZE)
                            .map(|i| {
                                to_partition(
                                    "shared",
                                    0,
                                    &format!("{writer}-{}", batch * BATCH_SIZE + i),
                                )
                            })
                            .collect();
                        store.append(&records).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }

        let store = LocalStore::open(dir.path()).unwrap();
        let total = 2 * BATCHES * BATCH_SIZE;
        assert_eq!(store.end_offset("shared", 0).unwrap(), total as i64);
        let records = store.read("shared", 0, 0, total + 1).unwrap();
        let offsets: Vec<i64> = records.iter().map(|record| record.offset).collect();
        assert_eq!(offsets, (0..total as i64).collect::<Vec<_>>());

        // Each writer's records appear once each, in the order it appended them.
        for writer in ["left", "right"] {
            let prefix = format!("{writer}-");
            let sequence: Vec<usize> = values(&records)
                .iter()
                .filter_map(|value| value.strip_prefix(&prefix).map(|n| n.parse().unwrap()))
                .collect();
            assert_eq!(
                sequence,
                (0..BATCHES * BATCH_SIZE).collect::<Vec<_>>(),
                "{writer}"
            );
        }
    }

    #[test]
    fn append_times_out_when_locked() {
        let (dir, mut store) = open_temp();
        store.create_topic("t", 1).unwrap();
        store.set_busy_timeout(Duration::from_millis(100)).unwrap();
        let blocker = Connection::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

        let started = Instant::now();
        let error = store.append(&[keyless("t")]).unwrap_err();
        let waited = started.elapsed();

        assert!(matches!(error, LocalError::Busy { .. }), "{error}");
        assert!(waited >= Duration::from_millis(100), "waited {waited:?}");
        // Reads still work while another connection holds the write lock.
        assert_eq!(store.end_offset("t", 0).unwrap(), 0);

        blocker.execute_batch("ROLLBACK").unwrap();
        store.append(&[keyless("t")]).unwrap();
    }

    /// Environment variable with the data folder of a child process that
    /// `child_process_entry` runs in. Only tests that start a child set it.
    const CHILD_DIR_VARIABLE: &str = "WEIR_LOCAL_STORE_CHILD_DIR";
    /// Environment variable with what the child does: `abort` or `append`.
    const CHILD_MODE_VARIABLE: &str = "WEIR_LOCAL_STORE_CHILD_MODE";
    const CHILD_BATCHES: usize = 20;
    const CHILD_BATCH_SIZE: usize = 10;

    /// Runs the work of a child process, and does nothing in a normal test run.
    #[test]
    fn child_process_entry() {
        let Some(dir) = std::env::var_os(CHILD_DIR_VARIABLE) else {
            return;
        };
        let mut store = LocalStore::open(Path::new(&dir)).unwrap();

        match std::env::var(CHILD_MODE_VARIABLE).as_deref() {
            Ok("abort") => {
                store
                    .commit(
                        &[to_partition("t", 0, "acknowledged")],
                        &[group_offset("g", "t", 0, 1)],
                    )
                    .unwrap();
                // Abort skips destructors, so SQLite gets no chance to checkpoint or close.
                std::process::abort();
            }
            Ok("append") => append_numbered(&mut store, "child"),
            other => panic!("unknown child mode {other:?}"),
        }
    }

    /// Appends `CHILD_BATCHES` batches of values `{writer}-0`, `{writer}-1`, … to
    /// partition 0 of topic `t`.
    fn append_numbered(store: &mut LocalStore, writer: &str) {
        for batch in 0..CHILD_BATCHES {
            let records: Vec<NewRecord> = (0..CHILD_BATCH_SIZE)
                .map(|i| {
                    to_partition(
                        "t",
                        0,
                        &format!("{writer}-{}", batch * CHILD_BATCH_SIZE + i),
                    )
                })
                .collect();
            store.append(&records).unwrap();
        }
    }

    /// Starts this test binary as a child that runs `child_process_entry` in `mode`.
    fn spawn_child(dir: &Path, mode: &str) -> std::process::Child {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "local::store::tests::child_process_entry",
                "--exact",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_VARIABLE, dir)
            .env(CHILD_MODE_VARIABLE, mode)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    #[test]
    fn append_survives_process_abort() {
        let dir = tempfile::tempdir().unwrap();
        LocalStore::open(dir.path())
            .unwrap()
            .create_topic("t", 1)
            .unwrap();

        let status = spawn_child(dir.path(), "abort").wait().unwrap();
        assert!(!status.success(), "the child process did not abort");

        let store = LocalStore::open(dir.path()).unwrap();
        assert_eq!(
            values(&store.read("t", 0, 0, 10).unwrap()),
            vec!["acknowledged"]
        );
        assert_eq!(store.committed_offset("g", "t", 0).unwrap(), Some(1));
    }

    #[test]
    fn append_from_two_processes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = LocalStore::open(dir.path()).unwrap();
        store.create_topic("t", 1).unwrap();

        let mut child = spawn_child(dir.path(), "append");
        append_numbered(&mut store, "parent");
        let status = child.wait().unwrap();
        assert!(status.success(), "the child process failed: {status}");

        let total = 2 * CHILD_BATCHES * CHILD_BATCH_SIZE;
        let records = store.read("t", 0, 0, total + 1).unwrap();
        let offsets: Vec<i64> = records.iter().map(|record| record.offset).collect();
        assert_eq!(offsets, (0..total as i64).collect::<Vec<_>>());
        for writer in ["parent", "child"] {
            let prefix = format!("{writer}-");
            let sequence: Vec<usize> = values(&records)
                .iter()
                .filter_map(|value| value.strip_prefix(&prefix).map(|n| n.parse().unwrap()))
                .collect();
            assert_eq!(
                sequence,
                (0..CHILD_BATCHES * CHILD_BATCH_SIZE).collect::<Vec<_>>(),
                "{writer}"
            );
        }
    }

    /// Prints rough timings of the two write patterns that matter: one large append, and
    /// many small commits that each wait for an fsync.
    #[test]
    #[ignore = "timing measurement; run with `--release -- --ignored --nocapture`"]
    fn measure_append_and_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = LocalStore::open(dir.path()).unwrap();
        store.create_topic("bulk", 4).unwrap();
        store.create_topic("in", 4).unwrap();
        store.create_topic("out", 4).unwrap();
        let small = |topic: &str, i: usize| NewRecord {
            topic: topic.to_owned(),
            key: Some(format!("ord-{:06}", i % 5000).into_bytes()),
            value: Some(
                format!(r#"{{"type":"OrderPlaced","order_id":"ord-{i:06}","total":"12.50"}}"#)
                    .into_bytes(),
            ),
            ..NewRecord::default()
        };

        let bulk: Vec<NewRecord> = (0..100_000).map(|i| small("bulk", i)).collect();
        let started = Instant::now();
        store.append(&bulk).unwrap();
        let bulk_elapsed = started.elapsed();
        println!(
            "append 100000 records in one transaction: {bulk_elapsed:?} ({:.0} records/s)",
            100_000.0 / bulk_elapsed.as_secs_f64()
        );

        let inputs: Vec<NewRecord> = (0..100_000)
            .map(|i| NewRecord {
                partition: Some(0),
                ..small("in", i)
            })
            .collect();
        store.append(&inputs).unwrap();
        let started = Instant::now();
        for batch in 0..400 {
            let outputs: Vec<NewRecord> = (0..250).map(|i| small("out", batch * 250 + i)).collect();
            let offset = group_offset("bench", "in", 0, (batch as i64 + 1) * 250);
            store.commit(&outputs, &[offset]).unwrap();
        }
        let commit_elapsed = started.elapsed();
        println!(
            "commit 400 batches of 250 outputs and an offset: {commit_elapsed:?} ({:.2} ms per commit, {:.0} records/s)",
            commit_elapsed.as_secs_f64() * 1000.0 / 400.0,
            100_000.0 / commit_elapsed.as_secs_f64()
        );

        let started = Instant::now();
        let mut next = 0;
        let mut read_count = 0;
        for _ in 0..1000 {
            let records = store.read("in", 0, next, 500).unwrap();
            let Some(last) = records.last() else { break };
            next = last.offset + 1;
            read_count += records.len();
        }
        let read_elapsed = started.elapsed();
        println!(
            "read {read_count} records in batches of 500: {read_elapsed:?} ({:.0} records/s)",
            read_count as f64 / read_elapsed.as_secs_f64()
        );
    }
}
