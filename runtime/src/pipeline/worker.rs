use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::chain::{Chain, EventOutcome, StepFailure, StepFailureKind};
use super::failure::{backoff, dead_letter_record};
use super::stats::PipelineStats;
use crate::config::{FailurePolicy, OnExhausted};
use crate::local::{GroupOffset, Header, LocalError, LocalStore, NewRecord, Record};
use crate::plugin::{self, Event, Output};

/// Settings shared by the partition workers of one pipeline.
pub struct WorkerSettings {
    pub pipeline: Arc<str>,
    pub group: String,
    pub batch_size: usize,
    /// Topic of outputs whose plugin named none.
    pub sink_topic: String,
    /// Policy for failures that no step owns, such as an output the sink cannot take.
    pub failure: FailurePolicy,
    pub max_outputs_per_event: usize,
    pub max_record_bytes: usize,
    pub stats: Arc<PipelineStats>,
}

/// What one call of [`PartitionWorker::run_batch`] did.
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
    chain: Chain,
    next_offset: i64,
    known_topics: HashSet<String>,
    pause_failures: u32,
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
        Self {
            settings,
            topic,
            partition,
            source,
            sink,
            chain,
            next_offset,
            known_topics: HashSet::new(),
            pause_failures: 0,
        }
    }

    /// The partition's topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Offset of the next event to process, which is also the committed offset.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Reads, processes and commits one batch. Blocks: run it on a thread meant for it.
    pub fn run_batch(&mut self) -> Result<BatchProgress, LocalError> {
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
        let outcomes = self.chain.process(&events);

        let mut writes = Vec::new();
        let mut handled = 0;
        let mut totals = (0u64, 0u64, 0u64);
        let mut paused = None;
        for (event, outcome) in events.iter().zip(outcomes) {
            let (outcome, attempts) = self.settle(event, outcome)?;
            match outcome {
                Ok(outputs) => {
                    totals.0 += outputs.len() as u64;
                    writes.extend(
                        outputs
                            .into_iter()
                            .map(|output| self.output_record(event, output)),
                    );
                }
                Err((failure, policy)) => match policy.on_exhausted() {
                    OnExhausted::DeadLetter => {
                        let Some(topic) = policy.dead_letter_topic.as_deref() else {
                            unreachable!(
                                "the policy's on_exhausted is dead-letter only with a topic"
                            );
                        };
                        self.log_failure(
                            event,
                            &failure,
                            attempts,
                            "sending the event to the dead-letter topic",
                        );
                        writes.push(dead_letter_record(topic, event, &failure, attempts));
                        totals.1 += 1;
                    }
                    OnExhausted::Skip => {
                        self.log_failure(
                            event,
                            &failure,
                            attempts,
                            "skipping the event, as the pipeline's failure policy says",
                        );
                        totals.2 += 1;
                    }
                    OnExhausted::Pause => {
                        self.pause_failures += 1;
                        let retry_in = backoff(&policy, self.pause_failures);
                        tracing::error!(
                            pipeline = %self.settings.pipeline,
                            topic = %self.topic,
                            partition = self.partition,
                            offset = event.offset,
                            step = %failure.step,
                            plugin = %failure.plugin_digest,
                            kind = failure.kind.as_str(),
                            error = %failure.message,
                            attempts,
                            retry_in_ms = retry_in.as_millis() as u64,
                            "event failed and the pipeline has no dead-letter topic; the partition is paused at this offset and retries it"
                        );
                        paused = Some(BatchProgress::Paused {
                            offset: event.offset,
                            retry_in,
                        });
                        break;
                    }
                },
            }
            handled += 1;
        }

        if handled > 0 {
            self.commit(&writes, events[0].offset + handled as i64)?;
            self.settings
                .stats
                .record_commit(handled as u64, totals.0, totals.1, totals.2);
        }
        if let Some(paused) = paused {
            return Ok(paused);
        }
        self.pause_failures = 0;
        Ok(BatchProgress::Committed { events: handled })
    }

    /// Retries a failed event under its policy until it succeeds or runs out of attempts,
    /// and turns outputs that the sink cannot take into a failure.
    ///
    /// Returns the final outcome and the number of attempts made.
    #[allow(clippy::type_complexity)]
    fn settle(
        &mut self,
        event: &Event,
        mut outcome: EventOutcome,
    ) -> Result<(Result<Vec<Output>, (StepFailure, FailurePolicy)>, u32), LocalError> {
        let mut attempts = 1;
        loop {
            let failure = match outcome {
                Ok(outputs) => match self.check_outputs(&outputs)? {
                    None => return Ok((Ok(outputs), attempts)),
                    Some(message) => {
                        let failure = StepFailure {
                            step_index: usize::MAX,
                            step: "sink".into(),
                            plugin_digest: String::new(),
                            kind: StepFailureKind::Reject,
                            message,
                        };
                        return Ok((Err((failure, self.settings.failure.clone())), attempts));
                    }
                },
                Err(failure) => failure,
            };

            let policy = self.policy_for(&failure);
            if !failure.kind.is_retryable() || attempts >= policy.max_attempts {
                return Ok((Err((failure, policy)), attempts));
            }

            let wait = backoff(&policy, attempts);
            tracing::warn!(
                pipeline = %self.settings.pipeline,
                topic = %self.topic,
                partition = self.partition,
                offset = event.offset,
                step = %failure.step,
                kind = failure.kind.as_str(),
                error = %failure.message,
                attempt = attempts,
                max_attempts = policy.max_attempts,
                retry_in_ms = wait.as_millis() as u64,
                "event failed; retrying"
            );
            std::thread::sleep(wait);
            self.settings.stats.record_retry();
            attempts += 1;

            outcome = self
                .chain
                .process(std::slice::from_ref(event))
                .pop()
                .unwrap_or_else(|| Ok(Vec::new()));
        }
    }

    fn policy_for(&self, failure: &StepFailure) -> FailurePolicy {
        if failure.step_index == usize::MAX {
            self.settings.failure.clone()
        } else {
            self.chain.step_spec(failure.step_index).failure.clone()
        }
    }

    /// Returns why the sink cannot take `outputs`, or `None` when it can.
    fn check_outputs(&mut self, outputs: &[Output]) -> Result<Option<String>, LocalError> {
        let settings = &self.settings;
        if outputs.len() > settings.max_outputs_per_event {
            return Ok(Some(format!(
                "the event produced {} outputs, over the limit of {} (sink.max_outputs_per_event)",
                outputs.len(),
                settings.max_outputs_per_event
            )));
        }

        for output in outputs {
            let size = output.key.as_ref().map_or(0, Vec::len)
                + output.value.as_ref().map_or(0, Vec::len)
                + output
                    .headers
                    .iter()
                    .map(|header| header.name.len() + header.value.as_ref().map_or(0, Vec::len))
                    .sum::<usize>();
            if size > settings.max_record_bytes {
                return Ok(Some(format!(
                    "an output of {size} bytes is over the limit of {} bytes (sink.max_record_bytes)",
                    settings.max_record_bytes
                )));
            }

            let Some(topic) = output.topic.as_deref() else {
                continue;
            };
            if self.known_topics.contains(topic) {
                continue;
            }
            if let Err(message) = crate::config::check_topic_name(topic) {
                return Ok(Some(format!(
                    "the plugin routed an output to an invalid topic: {message}"
                )));
            }
            let store = self.sink.as_ref().unwrap_or(&self.source);
            if store.topic(topic)?.is_none() {
                return Ok(Some(format!(
                    "the plugin routed an output to topic `{topic}`, which does not exist; create \
                     it with `weir topic create {topic}`"
                )));
            }
            self.known_topics.insert(topic.to_string());
        }
        Ok(None)
    }

    fn output_record(&self, event: &Event, output: Output) -> NewRecord {
        NewRecord {
            topic: output
                .topic
                .unwrap_or_else(|| self.settings.sink_topic.clone()),
            partition: None,
            timestamp_ms: event.timestamp_ms,
            key: output.key,
            value: output.value,
            headers: output
                .headers
                .into_iter()
                .map(|header| Header {
                    name: header.name,
                    value: header.value,
                })
                .collect(),
        }
    }

    fn commit(&mut self, writes: &[NewRecord], next_offset: i64) -> Result<(), LocalError> {
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

    fn log_failure(&self, event: &Event, failure: &StepFailure, attempts: u32, action: &str) {
        tracing::error!(
            pipeline = %self.settings.pipeline,
            topic = %self.topic,
            partition = self.partition,
            offset = event.offset,
            step = %failure.step,
            plugin = %failure.plugin_digest,
            kind = failure.kind.as_str(),
            error = %failure.message,
            attempts,
            "event failed; {action}"
        );
    }
}

fn event_from_record(record: Record) -> Event {
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
