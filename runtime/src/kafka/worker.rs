use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::Offset;
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};

use super::context::WeirContext;
use super::sink::{KafkaCatalog, KafkaSink};
use crate::pipeline::{BatchProcessor, Chain, StepSpec, WorkerSettings};
use crate::plugin::{Event, Header};

/// How long a worker waits for a message before it checks whether it should stop.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Wait before a partition worker tries a failed delivery or plugin load again.
const RETRY_WAIT: Duration = Duration::from_secs(1);

/// What every partition worker of one pipeline shares.
pub(crate) struct WorkerShared {
    pub(crate) settings: Arc<WorkerSettings>,
    pub(crate) steps: Vec<Arc<StepSpec>>,
    pub(crate) sink: Arc<KafkaSink>,
    /// Whether workers check, when idle, if they have read to the end of their partition.
    pub(crate) stop_at_end: bool,
}

/// The coordinator's side of one partition worker.
pub(crate) struct WorkerControl {
    /// Asks the worker to stop after its current batch.
    pub(crate) stop: AtomicBool,
    /// Set once the partition is no longer owned; no offset is stored after that. The lock
    /// makes "check, then store" atomic against the revoke.
    pub(crate) revoked: Mutex<bool>,
    /// Set while the worker has read to the end of the partition and holds no event.
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

    let mut next_offset: Option<i64> = None;
    while !control.stop.load(Ordering::Acquire) {
        let events = match read_batch(&queue, shared.settings.batch_size) {
            Ok(events) => events,
            Err(error) => {
                tracing::warn!(%pipeline, %topic, partition, %error, "error reading the partition; librdkafka retries");
                continue;
            }
        };
        if events.is_empty() {
            if shared.stop_at_end {
                let at_end = read_to_end(&consumer, &topic, partition, next_offset);
                control.at_end.store(at_end, Ordering::Release);
            }
            continue;
        }
        control.at_end.store(false, Ordering::Release);

        let first_offset = events[0].offset;
        *lock(&control.batch_started) = Some(std::time::Instant::now());
        let batch = loop {
            match processor.process(&events, &mut KafkaCatalog(&shared.sink)) {
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

        let mut attempt = 0u32;
        let delivered = loop {
            match shared.sink.deliver(&batch.writes) {
                Ok(()) => break true,
                Err(error) => {
                    attempt += 1;
                    tracing::error!(
                        %pipeline,
                        %topic,
                        partition,
                        offset = first_offset,
                        attempt,
                        %error,
                        "cannot deliver the batch's outputs; nothing past them is committed, retrying"
                    );
                    if *lock(&control.revoked) || sleep_unless_stopped_long(&control, RETRY_WAIT) {
                        break false;
                    }
                }
            }
        };
        if !delivered {
            break;
        }

        if batch.handled > 0 {
            let last_offset = first_offset + batch.handled as i64 - 1;
            let revoked = lock(&control.revoked);
            if *revoked {
                tracing::warn!(%pipeline, %topic, partition, offset = last_offset, "partition was revoked during the batch; its offset is not stored");
                break;
            }
            // librdkafka commits the stored offset plus one: the next event to read.
            if let Err(error) = consumer.store_offset(&topic, partition, last_offset) {
                tracing::warn!(%pipeline, %topic, partition, offset = last_offset, %error, "cannot store the offset");
            }
            drop(revoked);
            next_offset = Some(last_offset + 1);
            shared.settings.stats.record_commit(
                batch.handled as u64,
                batch.outputs,
                batch.dead_lettered,
                batch.skipped,
            );
        }

        *lock(&control.batch_started) = None;

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

    tracing::info!(%pipeline, %topic, partition, "partition worker stopped");
    let _ = done.send(());
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

/// Tells whether the partition holds no event at or after `next_offset`, the offset after the
/// last one processed (or, before any, the consumer's position).
fn read_to_end(
    consumer: &BaseConsumer<WeirContext>,
    topic: &str,
    partition: i32,
    next_offset: Option<i64>,
) -> bool {
    let Ok((low, high)) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(5))
    else {
        return false;
    };
    let position = next_offset.or_else(|| {
        let positions = consumer.position().ok()?;
        match positions.find_partition(topic, partition)?.offset() {
            Offset::Offset(offset) => Some(offset),
            _ => None,
        }
    });
    match position {
        Some(position) => position >= high,
        None => high <= low,
    }
}

fn event_from_message(message: &BorrowedMessage<'_>) -> Event {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| Header {
                    name: header.key.to_string(),
                    value: header.value.map(<[u8]>::to_vec),
                })
                .collect()
        })
        .unwrap_or_default();
    Event {
        topic: message.topic().to_string(),
        partition: message.partition() as u32,
        offset: message.offset(),
        timestamp_ms: message.timestamp().to_millis(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
    }
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

/// Like [`sleep_unless_stopped`], but only a revoke ends the wait early: a stopping worker
/// still tries to deliver the batch it holds until its drain time runs out.
fn sleep_unless_stopped_long(control: &WorkerControl, wait: Duration) -> bool {
    std::thread::sleep(wait);
    *lock(&control.revoked)
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
