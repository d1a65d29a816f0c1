use std::sync::Arc;
use std::time::Duration;

use super::batch::{BatchProcessor, SinkTopic, TopicCatalog};
use super::chain::Chain;
use super::stats::PipelineStats;
use super::status::StatusBoard;
use crate::local::{GroupOffset, LocalError, LocalStore, Record};
use crate::plugin::{self, Event};

/// Settings shared by the partition workers of one pipeline.
pub struct WorkerSettings {
    pub pipeline: Arc<str>,
    pub group: String,
    pub batch_size: usize,
    /// Topic of outputs whose plugin named none.
    pub sink_topic: String,
    pub max_outputs_per_event: usize,
    pub max_record_bytes: usize,
    /// Adds the [`super::VERSION_HEADER`] header to every output.
    pub version_header: bool,
    pub stats: Arc<PipelineStats>,
    /// The status board that the partition workers report their state to.
    pub status: Arc<StatusBoard>,
}

/// Outcome of one call of [`PartitionWorker::run_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchProgress {
    /// Events were processed and committed.
    Committed { events: usize },
    /// The partition has no event past the committed offset.
    Idle,
    /// An event failed for good under `on_exhausted: pause`; the worker tries it again after
    /// the wait.
    Paused { offset: i64, retry_in: Duration },
}

/// Processes one partition of a local topic in offset order.
///
/// Each batch is read, run through the chain, and committed in one transaction together with
/// its outputs and dead-letter records, so the committed offset never passes an event whose
/// outputs are not on disk. When the sink lives in another folder, the outputs are written
/// there first and the offset is committed after, which can repeat a batch after a crash but
/// never loses one.
pub struct PartitionWorker {
    settings: Arc<WorkerSettings>,
    topic: String,
    partition: u32,
    source: LocalStore,
    /// `None` when the sink is the source's own store.
    sink: Option<LocalStore>,
    processor: BatchProcessor,
    next_offset: i64,
}

/// Looks topics up in the store that receives the outputs.
struct LocalCatalog<'a>(&'a LocalStore);

impl TopicCatalog for LocalCatalog<'_> {
    type Error = LocalError;

    fn describe_topic(&mut self, topic: &str) -> Result<Option<SinkTopic>, LocalError> {
        Ok(self.0.topic(topic)?.map(|_| SinkTopic::default()))
    }
}

impl PartitionWorker {
    pub fn new(
        settings: Arc<WorkerSettings>,
        topic: String,
        partition: u32,
        source: LocalStore,
        sink: Option<LocalStore>,
        chain: Chain,
        next_offset: i64,
    ) -> Self {
        let processor = BatchProcessor::new(Arc::clone(&settings), topic.clone(), partition, chain);
        processor.status().set_next_offset(next_offset);
        Self {
            settings,
            topic,
            partition,
            source,
            sink,
            processor,
            next_offset,
        }
    }

    /// Returns the partition's topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Returns the partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Offset of the next event to process, which is also the committed offset.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Reads, processes and commits one batch. Blocks: run it on a thread meant for it.
    ///
    /// `wait` sleeps between attempts of a failed event (see [`BatchProcessor::process`]).
    pub fn run_batch(
        &mut self,
        wait: &mut dyn FnMut(Duration),
    ) -> Result<BatchProgress, LocalError> {
        let records = self.source.read(
            &self.topic,
            self.partition,
            self.next_offset,
            self.settings.batch_size,
        )?;
        if records.is_empty() {
            return Ok(BatchProgress::Idle);
        }

        let events: Vec<Event> = records.into_iter().map(event_from_record).collect();
        let catalog_store = self.sink.as_ref().unwrap_or(&self.source);
        let batch = self
            .processor
            .process(&events, &mut LocalCatalog(catalog_store), wait)?;

        if batch.handled > 0 {
            let next_offset = events[0].offset + batch.handled as i64;
            self.commit(&batch.writes, next_offset)?;
            self.processor.status().set_next_offset(next_offset);
            self.settings.stats.record_commit(
                batch.handled as u64,
                batch.outputs,
                batch.dead_lettered,
                batch.skipped,
            );
        }
        match batch.paused {
            Some((offset, retry_in)) => Ok(BatchProgress::Paused { offset, retry_in }),
            None => Ok(BatchProgress::Committed {
                events: batch.handled,
            }),
        }
    }

    fn commit(
        &mut self,
        writes: &[crate::local::NewRecord],
        next_offset: i64,
    ) -> Result<(), LocalError> {
        let offset = GroupOffset {
            group: self.settings.group.clone(),
            topic: self.topic.clone(),
            partition: self.partition,
            next_offset,
        };
        match &mut self.sink {
            None => {
                self.source.commit(writes, &[offset])?;
            }
            Some(sink) => {
                sink.append(writes)?;
                self.source.commit(&[], &[offset])?;
            }
        }
        self.next_offset = next_offset;
        Ok(())
    }
}

/// Converts a stored record into the event a plugin receives.
pub(crate) fn event_from_record(record: Record) -> Event {
    Event {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp_ms: Some(record.timestamp_ms),
        key: record.key,
        value: record.value,
        headers: record
            .headers
            .into_iter()
            .map(|header| plugin::Header {
                name: header.name,
                value: header.value,
            })
            .collect(),
    }
}
