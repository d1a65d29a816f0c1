use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};

use super::client::{log_librdkafka, log_librdkafka_error};
use super::worker::{WorkerControl, WorkerShared, lock, run_partition};

struct RunningWorker {
    control: Arc<WorkerControl>,
    done: Receiver<()>,
    thread: JoinHandle<()>,
}

/// The consumer's context: it starts a worker for each assigned partition and drains and
/// commits the workers of revoked partitions, inside librdkafka's rebalance callback.
pub(crate) struct WeirContext {
    pipeline: Arc<str>,
    shared: Arc<WorkerShared>,
    drain_timeout: Duration,
    /// Set right after the consumer is made; the callbacks need it to split partition queues.
    pub(crate) consumer: OnceLock<Weak<BaseConsumer<WeirContext>>>,
    workers: Mutex<HashMap<(String, i32), RunningWorker>>,
}

impl WeirContext {
    pub(crate) fn new(shared: Arc<WorkerShared>, drain_timeout: Duration) -> Self {
        Self {
            pipeline: Arc::clone(&shared.settings.pipeline),
            shared,
            drain_timeout,
            consumer: OnceLock::new(),
            workers: Mutex::new(HashMap::new()),
        }
    }

    /// Tells whether every assigned partition has been read to its end.
    pub(crate) fn all_at_end(&self) -> bool {
        let workers = lock(&self.workers);
        !workers.is_empty()
            && workers
                .values()
                .all(|worker| worker.control.at_end.load(Ordering::Acquire))
    }

    /// Gives up the partitions whose current batch has run longer than `limit`: their workers
    /// store no offset from now on and are left to finish on their own. Returns the threads
    /// of those workers, which end once the slow plugin call returns.
    pub(crate) fn abandon_stuck(&self, limit: Duration) -> Vec<JoinHandle<()>> {
        let mut workers = lock(&self.workers);
        let stuck: Vec<(String, i32)> = workers
            .iter()
            .filter(|(_, worker)| {
                lock(&worker.control.batch_started).is_some_and(|started| started.elapsed() > limit)
            })
            .map(|(key, _)| key.clone())
            .collect();

        let mut threads = Vec::new();
        for key in stuck {
            let Some(worker) = workers.remove(&key) else {
                continue;
            };
            worker.control.stop.store(true, Ordering::Release);
            *lock(&worker.control.revoked) = true;
            tracing::error!(
                pipeline = %self.pipeline,
                topic = %key.0,
                partition = key.1,
                max_poll_interval_ms = limit.as_millis() as u64,
                "a batch ran longer than max.poll.interval.ms; giving the partition up without committing the batch, so its next owner processes it again"
            );
            threads.push(worker.thread);
        }
        threads
    }

    fn assign(&self, partitions: &TopicPartitionList) {
        let Some(consumer) = self.consumer.get().and_then(Weak::upgrade) else {
            tracing::error!(pipeline = %self.pipeline, "partitions assigned before the consumer was ready; they stay idle");
            return;
        };

        let mut workers = lock(&self.workers);
        for element in partitions.elements() {
            let topic = element.topic().to_string();
            let partition = element.partition();
            let Some(queue) = consumer.split_partition_queue(&topic, partition) else {
                tracing::error!(pipeline = %self.pipeline, %topic, partition, "cannot open the partition's queue");
                continue;
            };

            let control = Arc::new(WorkerControl {
                stop: false.into(),
                revoked: Mutex::new(false),
                at_end: false.into(),
                batch_started: Mutex::new(None),
            });
            let (done_sender, done) = channel();
            let thread = std::thread::Builder::new()
                .name(format!("weir-{topic}-{partition}"))
                .spawn({
                    let shared = Arc::clone(&self.shared);
                    let consumer = Arc::clone(&consumer);
                    let control = Arc::clone(&control);
                    let topic = topic.clone();
                    move || {
                        run_partition(
                            shared,
                            consumer,
                            queue,
                            topic,
                            partition,
                            control,
                            done_sender,
                        )
                    }
                });
            match thread {
                Ok(thread) => {
                    tracing::info!(pipeline = %self.pipeline, %topic, partition, "partition assigned");
                    workers.insert(
                        (topic, partition),
                        RunningWorker {
                            control,
                            done,
                            thread,
                        },
                    );
                }
                Err(error) => {
                    tracing::error!(pipeline = %self.pipeline, %topic, partition, %error, "cannot start the partition worker thread");
                }
            }
        }
    }

    /// Stops the workers of `partitions` (all workers when `None`), waits up to the drain
    /// timeout for their batches, then commits the stored offsets while the partitions are
    /// still owned. A worker that did not finish in time stores nothing more.
    pub(crate) fn drain(
        &self,
        consumer: &BaseConsumer<WeirContext>,
        partitions: Option<&TopicPartitionList>,
    ) {
        let stopping: Vec<((String, i32), RunningWorker)> = {
            let mut workers = lock(&self.workers);
            let keys: Vec<(String, i32)> = match partitions {
                Some(list) => list
                    .elements()
                    .iter()
                    .map(|element| (element.topic().to_string(), element.partition()))
                    .filter(|key| workers.contains_key(key))
                    .collect(),
                None => workers.keys().cloned().collect(),
            };
            keys.into_iter()
                .filter_map(|key| workers.remove(&key).map(|worker| (key, worker)))
                .collect()
        };
        if stopping.is_empty() {
            return;
        }

        for (_, worker) in &stopping {
            worker.control.stop.store(true, Ordering::Release);
        }
        let deadline = Instant::now() + self.drain_timeout;
        for ((topic, partition), worker) in stopping {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let finished = worker.done.recv_timeout(remaining).is_ok();
            *lock(&worker.control.revoked) = true;
            if finished {
                let _ = worker.thread.join();
                tracing::info!(pipeline = %self.pipeline, %topic, partition, "partition drained");
            } else {
                tracing::warn!(
                    pipeline = %self.pipeline,
                    %topic,
                    partition,
                    drain_timeout_ms = self.drain_timeout.as_millis() as u64,
                    "partition worker did not finish its batch in time; its uncommitted events will be read again by the partition's next owner"
                );
            }
        }

        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => tracing::info!(pipeline = %self.pipeline, "committed offsets"),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::error!(pipeline = %self.pipeline, %error, "cannot commit offsets")
            }
        }
    }
}

impl ClientContext for WeirContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        log_librdkafka(&self.pipeline, level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        log_librdkafka_error(&self.pipeline, &error, reason);
    }
}

impl ConsumerContext for WeirContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                tracing::info!(pipeline = %self.pipeline, count = partitions.count(), "rebalance: partitions revoked");
                self.drain(consumer, Some(partitions));
            }
            Rebalance::Assign(partitions) => {
                tracing::info!(pipeline = %self.pipeline, count = partitions.count(), "rebalance: partitions assigned");
            }
            Rebalance::Error(error) => {
                tracing::error!(pipeline = %self.pipeline, %error, "rebalance failed");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            self.assign(partitions);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::debug!(pipeline = %self.pipeline, ?offsets, "offsets committed"),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(pipeline = %self.pipeline, %error, "offset commit failed; the next commit carries the same offsets")
            }
        }
    }
}
