//! [`BatchWriter`]: the write path shared by [`LocalStore::append`] and
//! [`LocalStore::commit`].
//!
//! [`LocalStore::append`]: super::LocalStore::append
//! [`LocalStore::commit`]: super::LocalStore::commit

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::partitioner::partition_for_key;
use super::record::encode_headers;
use super::store::{DatabaseFile, TopicRow, check_partition, find_topic, now_ms, read_end_offset};
use super::{GroupOffset, LocalError, NewRecord};

/// Writes one batch inside an open write transaction.
///
/// It keeps each touched topic's round-robin position and each touched partition's end
/// offset in memory while the batch runs, and [`finish`](Self::finish) writes them back.
/// When a method fails, the caller returns without committing, and dropping the
/// transaction rolls back everything that the batch wrote.
pub(super) struct BatchWriter<'a> {
    transaction: &'a Transaction<'a>,
    database: &'a DatabaseFile,
    topics: HashMap<String, BatchTopic>,
    partitions: HashMap<(i64, u32), BatchPartition>,
    now_ms: i64,
}

struct BatchTopic {
    row: TopicRow,
    next_round_robin: u32,
    round_robin_moved: bool,
}

struct BatchPartition {
    end_offset: i64,
    appended: bool,
}

impl<'a> BatchWriter<'a> {
    pub(super) fn new(transaction: &'a Transaction<'a>, database: &'a DatabaseFile) -> Self {
        BatchWriter {
            transaction,
            database,
            topics: HashMap::new(),
            partitions: HashMap::new(),
            now_ms: now_ms(),
        }
    }

    /// Appends record number `index` of the batch and returns its position.
    pub(super) fn append(
        &mut self,
        index: usize,
        record: &NewRecord,
    ) -> Result<(String, u32, i64), LocalError> {
        let invalid = |reason: String| LocalError::InvalidRecord {
            topic: record.topic.clone(),
            index,
            reason,
        };
        let timestamp_ms = match record.timestamp_ms {
            Some(timestamp_ms) if timestamp_ms < 0 => {
                return Err(invalid(format!(
                    "timestamp_ms is {timestamp_ms}, but a timestamp cannot be negative"
                )));
            }
            Some(timestamp_ms) => timestamp_ms,
            None => self.now_ms,
        };
        let headers = encode_headers(&record.headers).map_err(invalid)?;

        let topic = self.topic(&record.topic)?;
        let partition = match (record.partition, &record.key) {
            (Some(partition), _) => {
                check_partition(&record.topic, partition, topic.row.partitions)?;
                partition
            }
            (None, Some(key)) => partition_for_key(key, topic.row.partitions),
            (None, None) => {
                let partition = topic.next_round_robin % topic.row.partitions;
                topic.next_round_robin = (partition + 1) % topic.row.partitions;
                topic.round_robin_moved = true;
                partition
            }
        };
        let topic_id = topic.row.topic_id;

        let partition_state = self.partition(topic_id, partition)?;
        let offset = partition_state.end_offset;
        partition_state.end_offset += 1;
        partition_state.appended = true;

        self.transaction
            .prepare_cached(
                "INSERT INTO records (topic_id, partition, offset, timestamp_ms, key, value, headers)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    topic_id,
                    partition,
                    offset,
                    timestamp_ms,
                    record.key,
                    record.value,
                    headers,
                ])
            })
            .map_err(|source| self.database.error(source))?;

        Ok((record.topic.clone(), partition, offset))
    }

    /// Stores one group offset after checking it against the partition's end offset,
    /// which includes the records that this batch appended.
    pub(super) fn store_group_offset(&mut self, offset: &GroupOffset) -> Result<(), LocalError> {
        if offset.group.is_empty() {
            return Err(LocalError::EmptyGroupId);
        }
        let topic_row = self.topic(&offset.topic)?.row;
        check_partition(&offset.topic, offset.partition, topic_row.partitions)?;
        let end_offset = self
            .partition(topic_row.topic_id, offset.partition)?
            .end_offset;

        let invalid = |reason: String| LocalError::InvalidOffset {
            topic: offset.topic.clone(),
            partition: offset.partition,
            offset: offset.next_offset,
            reason,
        };
        if offset.next_offset < 0 {
            return Err(invalid(format!(
                "group `{}` cannot commit a negative offset",
                offset.group
            )));
        }
        if offset.next_offset > end_offset {
            return Err(invalid(format!(
                "group `{}` cannot commit past the end offset {end_offset}",
                offset.group
            )));
        }

        self.transaction
            .prepare_cached(
                "INSERT INTO group_offsets (group_id, topic_id, partition, next_offset, committed_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (group_id, topic_id, partition)
                 DO UPDATE SET next_offset = excluded.next_offset, committed_ms = excluded.committed_ms",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    offset.group,
                    topic_row.topic_id,
                    offset.partition,
                    offset.next_offset,
                    self.now_ms,
                ])
            })
            .map_err(|source| self.database.error(source))?;
        Ok(())
    }

    /// Writes the end offsets and round-robin positions that the batch moved.
    pub(super) fn finish(self) -> Result<(), LocalError> {
        let sql_error = |source| self.database.error(source);

        let mut update_partition = self
            .transaction
            .prepare_cached(
                "UPDATE partitions SET end_offset = ?3 WHERE topic_id = ?1 AND partition = ?2",
            )
            .map_err(sql_error)?;
        for ((topic_id, partition), state) in &self.partitions {
            if state.appended {
                update_partition
                    .execute(params![topic_id, partition, state.end_offset])
                    .map_err(sql_error)?;
            }
        }

        let mut update_topic = self
            .transaction
            .prepare_cached("UPDATE topics SET next_round_robin = ?2 WHERE topic_id = ?1")
            .map_err(sql_error)?;
        for topic in self.topics.values() {
            if topic.round_robin_moved {
                update_topic
                    .execute(params![topic.row.topic_id, topic.next_round_robin])
                    .map_err(sql_error)?;
            }
        }
        Ok(())
    }

    fn topic(&mut self, name: &str) -> Result<&mut BatchTopic, LocalError> {
        if !self.topics.contains_key(name) {
            let row = find_topic(self.transaction, name)
                .map_err(|source| self.database.error(source))?
                .ok_or_else(|| LocalError::UnknownTopic {
                    topic: name.to_owned(),
                    path: self.database.path.clone(),
                })?;
            let topic = BatchTopic {
                row,
                next_round_robin: row.next_round_robin,
                round_robin_moved: false,
            };
            self.topics.insert(name.to_owned(), topic);
        }
        Ok(self.topics.get_mut(name).expect("inserted above"))
    }

    fn partition(
        &mut self,
        topic_id: i64,
        partition: u32,
    ) -> Result<&mut BatchPartition, LocalError> {
        let key = (topic_id, partition);
        if !self.partitions.contains_key(&key) {
            let end_offset = read_end_offset(self.transaction, topic_id, partition)
                .map_err(|source| self.database.error(source))?;
            let state = BatchPartition {
                end_offset,
                appended: false,
            };
            self.partitions.insert(key, state);
        }
        Ok(self.partitions.get_mut(&key).expect("inserted above"))
    }
}
