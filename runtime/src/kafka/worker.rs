use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};

use super::context::WeirContext;
use super::sink::{BatchDeliveries, BatchOrigin, KafkaCatalog, KafkaSink};
use super::tools::record_from_message;
use super::window::{Acknowledged, InFlightWindow};
use crate::config::StartPosition;
use crate::pipeline::{BatchProcessor, Chain, StepSlot, WorkerSettings, event_from_record};
use crate::plugin::Event;

/// How long a worker waits for a message before it checks whether it should stop.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// How often a worker checks its outputs' acknowledgements while it waits for them.
const ACK_POLL_INTERVAL: Duration = Duration::from_millis(2);

/// Wait before a partition worker tries a failed output-topic lookup or plugin load again.
const RETRY_WAIT: Duration = Duration::from_secs(1);

/// Settings and clients shared by every partition worker of one pipeline.
pub(crate) struct WorkerShared {
    pub(crate) settings: Arc<WorkerSettings>,
    pub(crate) steps: Vec<Arc<StepSlot>>,
    pub(crate) sink: Arc<KafkaSink>,
    /// Whether workers check, when idle, if they have read to the end of their partition.
    pub(crate) stop_at_end: bool,
    /// Batches of one partition whose outputs may await acknowledgement at once.
    pub(crate) max_in_flight_batches: usize,
    /// Start position of the group on a partition without a committed offset.
    pub(crate) start: StartPosition,
}

/// The coordinator's side of one partition worker.
pub(crate) struct WorkerControl {
    /// Asks the worker to stop after its current batch.
    pub(crate) stop: AtomicBool,
    /// Set once the partition is no longer owned; no offset is stored after that. The lock
    /// makes "check, then store" atomic against the revoke.
    pub(crate) revoked: Mutex<bool>,
    /// Set while the worker has read to the end of the partition and has no event pending.
    pub(crate) at_end: AtomicBool,
    /// When the batch in progress was read, or `None` between batches. The coordinator gives
    /// the partition up when a batch runs past `max.poll.interval.ms`.
    pub(crate) batch_started: Mutex<Option<std::time::Instant>>,
}

/// Runs one assigned partition until it is stopped or revoked. Blocks its thread.
pub(crate) fn run_partition(
    shared: Arc<WorkerShared>,
    consumer: Arc<BaseConsumer<WeirContext>>,
    queue: PartitionQueue<WeirContext>,
    topic: String,
    partition: i32,
    control: Arc<WorkerControl>,
    done: Sender<()>,
) {
    let pipeline = Arc::clone(&shared.settings.pipeline);
    let partition_number = partition as u32;

    let chain = loop {
        match Chain::new(&shared.steps, Some(partition_number)) {
            Ok(chain) => break chain,
            Err(error) => {
                tracing::error!(%pipeline, %topic, partition, %error, "cannot instantiate the plugin chain; retrying");
                if sleep_unless_stopped(&control, RETRY_WAIT) {
                    let _ = done.send(());
                    return;
                }
            }
        }
    };
    let mut processor = BatchProcessor::new(
        Arc::clone(&shared.settings),
        topic.clone(),
        partition_number,
        chain,
    );

    let status = processor.status().clone();
    let offsets = OffsetStore {
        consumer: &consumer,
        topic: &topic,
        partition,
        control: &control,
        shared: &shared,
    };
    let mut next_offset: Option<i64> = None;
    let mut shown_offset: Option<i64> = None;
    let mut window = InFlightWindow::new(shared.max_in_flight_batches);
    while !control.stop.load(Ordering::Acquire) {
        // Only a change is written, because an idle turn comes every poll timeout.
        if next_offset != shown_offset
            && let Some(offset) = next_offset
        {
            status.set_next_offset(offset);
            shown_offset = next_offset;
        }
        let events = match read_batch(&queue, shared.settings.batch_size) {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%pipeline, %topic, partition, %error, "error reading the partition; librdkafka retries");
                continue;
            }
        };
        if events.is_empty() {
            if !offsets.settle(&mut window, &mut next_offset, Until::Now) {
                break;
            }
            if shared.stop_at_end && window.is_empty() {
                let at_end = read_to_end(&consumer, &topic, partition, next_offset, shared.start);
                control.at_end.store(at_end, Ordering::Release);
            }
            continue;
        }
        control.at_end.store(false, Ordering::Release);

        let first_offset = events[0].offset;
        *lock(&control.batch_started) = Some(std::time::Instant::now());
        let batch = loop {
            // A retry's wait holds the partition's own thread only, so a plain sleep will do;
            // cutting it short on shutdown would spend the event's attempts early.
            let mut wait = std::thread::sleep;
            match processor.process(&events, &mut KafkaCatalog(&shared.sink), &mut wait) {
                Ok(batch) => break Some(batch),
                Err(error) => {
                    tracing::error!(%pipeline, %topic, partition, offset = first_offset, %error, "cannot look up an output topic; retrying the batch");
                    if sleep_unless_stopped(&control, RETRY_WAIT) {
                        break None;
                    }
                }
            }
        };
        let Some(batch) = batch else {
            break;
        };

        if *lock(&control.revoked) {
            // The partition was given up while the plugins ran; its next owner processes
            // these events again, so writing them here would only duplicate them.
            tracing::warn!(%pipeline, %topic, partition, offset = first_offset, "partition was given up during the batch; its outputs are not written");
            break;
        }

        let summary = Acknowledged {
            last_offset: (batch.handled > 0).then(|| first_offset + batch.handled as i64 - 1),
            handled: batch.handled as u64,
            outputs: batch.outputs,
            dead_lettered: batch.dead_lettered,
            skipped: batch.skipped,
        };
        let origin = BatchOrigin {
            pipeline: Arc::clone(&pipeline),
            topic: topic.clone(),
            partition,
            events,
            sources: batch.sources,
            rejection: processor.rejection_plan(),
        };
        let deliveries = BatchDeliveries::send(&shared.sink, batch.writes, origin, status.clone());
        window.push(summary, deliveries);
        *lock(&control.batch_started) = None;

        // A paused batch waits for everything before it, so that the seek below starts over
        // from a settled state.
        let until = if batch.paused.is_some() {
            Until::Empty
        } else {
            Until::Room
        };
        if !offsets.settle(&mut window, &mut next_offset, until) {
            break;
        }

        if let Some((offset, retry_in)) = batch.paused {
            next_offset = Some(offset);
            // Read the failed event again after the wait, with everything after it.
            if let Err(error) = consumer.seek(
                &topic,
                partition,
                Offset::Offset(offset),
                Duration::from_secs(10),
            ) {
                tracing::error!(%pipeline, %topic, partition, offset, %error, "cannot seek back to the paused event");
            }
            sleep_unless_stopped(&control, retry_in);
        }
    }

    // Stopping: wait for the outputs already sent, so their offsets are stored before the
    // commit that follows. A revoke ends the wait and stores nothing more.
    offsets.settle(&mut window, &mut next_offset, Until::Empty);

    tracing::info!(%pipeline, %topic, partition, "partition worker stopped");
    let _ = done.send(());
}

/// How long [`OffsetStore::settle`] waits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Not at all: store what is acknowledged now.
    Now,
    /// Until the window has room for another batch.
    Room,
    /// Until every batch in the window is acknowledged.
    Empty,
}

/// The consumer and partition that one worker stores the offsets of acknowledged batches in.
struct OffsetStore<'a> {
    consumer: &'a BaseConsumer<WeirContext>,
    topic: &'a str,
    partition: i32,
    control: &'a WorkerControl,
    shared: &'a WorkerShared,
}

impl OffsetStore<'_> {
    /// Stores the offset of the window's acknowledged prefix, waiting as `until` sets.
    /// Returns `false` when the partition was revoked, after which nothing more may be stored.
    fn settle(
        &self,
        window: &mut InFlightWindow<BatchDeliveries>,
        next_offset: &mut Option<i64>,
        until: Until,
    ) -> bool {
        let (topic, partition) = (self.topic, self.partition);
        loop {
            if let Some(acknowledged) = window.take_acknowledged() {
                let revoked = lock(&self.control.revoked);
                if *revoked {
                    return false;
                }
                if let Some(last_offset) = acknowledged.last_offset {
                    // librdkafka commits the stored offset plus one: the next event to read.
                    if let Err(error) = self.consumer.store_offset(topic, partition, last_offset) {
                        tracing::warn!(pipeline = %self.shared.settings.pipeline, topic, partition, offset = last_offset, %error, "cannot store the offset");
                    }
                    *next_offset = Some(last_offset + 1);
                }
                drop(revoked);
                self.shared.settings.stats.record_commit(
                    acknowledged.handled,
                    acknowledged.outputs,
                    acknowledged.dead_lettered,
                    acknowledged.skipped,
                );
            }

            let satisfied = match until {
                Until::Now => true,
                Until::Room => !window.is_full(),
                Until::Empty => window.is_empty(),
            };
            if satisfied {
                return true;
            }
            if *lock(&self.control.revoked) {
                return false;
            }
            std::thread::sleep(ACK_POLL_INTERVAL);
        }
    }
}

/// Reads up to `max` events: waits for the first, then takes what is already fetched.
fn read_batch(queue: &PartitionQueue<WeirContext>, max: usize) -> Result<Vec<Event>, KafkaError> {
    let mut events = Vec::new();
    let mut timeout = POLL_TIMEOUT;
    while events.len() < max {
        match queue.poll(timeout) {
            None => break,
            Some(Ok(message)) => events.push(event_from_message(&message)),
            Some(Err(error)) if events.is_empty() => return Err(error),
            Some(Err(_)) => break,
        }
        timeout = Duration::ZERO;
    }
    Ok(events)
}

/// Tells whether the partition contains no event at or after `next_offset`, the offset after
/// the last one processed. Before any event was processed, the group's committed offset
/// stands for it. A group without one starts at the low watermark under `earliest` and at
/// the end under `latest`.
fn read_to_end(
    consumer: &BaseConsumer<WeirContext>,
    topic: &str,
    partition: i32,
    next_offset: Option<i64>,
    start: StartPosition,
) -> bool {
    let timeout = Duration::from_secs(5);
    let Ok((low, high)) = consumer.fetch_watermarks(topic, partition, timeout) else {
        return false;
    };
    let position = match next_offset {
        Some(offset) => Some(offset),
        None => {
            let mut list = TopicPartitionList::new();
            list.add_partition(topic, partition);
            let Ok(committed) = consumer.committed_offsets(list, timeout) else {
                return false;
            };
            match committed
                .find_partition(topic, partition)
                .map(|element| element.offset())
            {
                Some(Offset::Offset(offset)) => Some(offset),
                _ => None,
            }
        }
    };
    match (position, start) {
        (Some(position), _) => position >= high,
        (None, StartPosition::Earliest) => high <= low,
        (None, StartPosition::Latest) => true,
    }
}

fn event_from_message(message: &BorrowedMessage<'_>) -> Event {
    let mut event = event_from_record(record_from_message(message));
    // The record model fills a missing timestamp with 0; the plugin sees that it is missing.
    event.timestamp_ms = message.timestamp().to_millis();
    event
}

/// Sleeps for `wait`, waking early when the worker is asked to stop; returns whether it was.
fn sleep_unless_stopped(control: &WorkerControl, wait: Duration) -> bool {
    let deadline = std::time::Instant::now() + wait;
    while std::time::Instant::now() < deadline {
        if control.stop.load(Ordering::Acquire) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20).min(wait));
    }
    control.stop.load(Ordering::Acquire)
}

pub(crate) use crate::sync::lock;
