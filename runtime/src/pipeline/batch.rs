use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::chain::{Chain, EventOutcome, StepFailure, StepFailureKind};
use super::failure::{OutputRejection, backoff, dead_letter_record};
use super::status::PartitionHandle;
use super::worker::WorkerSettings;
use crate::config::{FailurePolicy, OnExhausted};
use crate::local::{Header, NewRecord};
use crate::plugin::{Event, Output};

/// Describes the sink's topics, so that an output routed to a missing topic, or too large for
/// its topic, fails its event instead of the whole write.
pub trait TopicCatalog {
    type Error;

    /// Returns `None` when `topic` does not exist in the sink.
    fn describe_topic(&mut self, topic: &str) -> Result<Option<SinkTopic>, Self::Error>;
}

/// The limits of the sink on one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkTopic {
    /// Largest record the topic takes, as [`wire_size`] counts it; `None` for no limit beyond
    /// the pipeline's own `sink.max_record_bytes`.
    pub max_wire_bytes: Option<usize>,
}

/// Size of an output in Kafka's record format, counted as the Kafka client counts it before
/// sending: the key, value and headers, plus the largest possible framing of each.
pub fn wire_size(output: &Output) -> usize {
    /// Length, attributes, timestamp and offset deltas, key and value lengths, header count.
    const RECORD_FRAMING: usize = 36;
    /// The name and value lengths of one header.
    const HEADER_FRAMING: usize = 10;

    RECORD_FRAMING
        + output.key.as_ref().map_or(0, Vec::len)
        + output.value.as_ref().map_or(0, Vec::len)
        + output
            .headers
            .iter()
            .map(|header| {
                HEADER_FRAMING + header.name.len() + header.value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>()
}

/// Header that names, on every output, the version of each step that made it.
pub const VERSION_HEADER: &str = "weir.plugins";

/// What to write and commit for one batch of a partition.
#[derive(Debug, Default)]
pub struct ResolvedBatch {
    /// Outputs and dead-letter records, in the order of the events that made them.
    pub writes: Vec<NewRecord>,
    /// For each record of `writes`, the event of the batch it comes from.
    pub sources: Vec<WriteSource>,
    /// Events settled from the start of the batch: the offset to commit is the first
    /// event's offset plus this.
    pub handled: usize,
    /// Outputs among the writes.
    pub outputs: u64,
    pub dead_lettered: u64,
    pub skipped: u64,
    /// Offset of an event that failed for good under `on_exhausted: pause`, and the wait
    /// before the partition tries it again. The batch ends before it.
    pub paused: Option<(i64, Duration)>,
}

/// The event a record of [`ResolvedBatch::writes`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSource {
    /// Index of the event in the batch.
    pub event: usize,
    /// Whether the record is the event's dead letter rather than one of its outputs.
    pub dead_letter: bool,
}

/// Runs batches of one partition through the plugin chain and applies the failure policy:
/// retries with backoff, then dead-letter, skip or pause.
pub struct BatchProcessor {
    settings: Arc<WorkerSettings>,
    topic: String,
    partition: u32,
    chain: Chain,
    known_topics: HashMap<String, SinkTopic>,
    pause_failures: u32,
    status: PartitionHandle,
}

impl BatchProcessor {
    pub fn new(settings: Arc<WorkerSettings>, topic: String, partition: u32, chain: Chain) -> Self {
        let status = settings
            .status
            .partition(&settings.pipeline, &topic, partition);
        status.set_versions(chain.versions());
        Self {
            status,
            settings,
            topic,
            partition,
            chain,
            known_topics: HashMap::new(),
            pause_failures: 0,
        }
    }

    /// Returns what to do with an event whose output the sink rejects for good after the
    /// batch was handed over: the last step's failure policy, which an output the sink cannot
    /// take falls under.
    pub fn rejection_plan(&self) -> OutputRejection {
        let step_index = self.chain.len() - 1;
        let spec = self.chain.step_spec(step_index);
        OutputRejection {
            pipeline: Arc::clone(&self.settings.pipeline),
            step_index,
            step: Arc::clone(&spec.name),
            plugin_digest: spec.plugin.digest().to_string(),
            policy: spec.failure.clone(),
        }
    }

    /// Returns this partition's place on the status board.
    pub fn status(&self) -> &PartitionHandle {
        &self.status
    }

    /// Processes `events`, which are consecutive events of this partition, and returns what to
    /// write and how far to commit. Blocks while plugins run and while retries back off.
    ///
    /// `wait` sleeps between attempts of a failed event; a caller that holds a share of a
    /// limited resource, such as a worker slot, can give it up for the wait.
    pub fn process<C: TopicCatalog>(
        &mut self,
        events: &[Event],
        catalog: &mut C,
        wait: &mut dyn FnMut(Duration),
    ) -> Result<ResolvedBatch, C::Error> {
        if self.chain.refresh() {
            self.status.set_versions(self.chain.versions());
        }
        let outcomes = self.chain.process(events);

        let mut batch = ResolvedBatch::default();
        let mut paused = None;
        for (index, (event, outcome)) in events.iter().zip(outcomes).enumerate() {
            let (outcome, attempts) = self.settle(event, outcome, catalog, wait)?;
            match outcome {
                Ok(outputs) => {
                    batch.outputs += outputs.len() as u64;
                    for output in outputs {
                        batch.writes.push(self.output_record(event, output));
                        batch.sources.push(WriteSource {
                            event: index,
                            dead_letter: false,
                        });
                    }
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
                        batch
                            .writes
                            .push(dead_letter_record(topic, event, &failure, attempts));
                        batch.sources.push(WriteSource {
                            event: index,
                            dead_letter: true,
                        });
                        batch.dead_lettered += 1;
                    }
                    OnExhausted::Skip => {
                        self.log_failure(
                            event,
                            &failure,
                            attempts,
                            "skipping the event, as the pipeline's failure policy says",
                        );
                        batch.skipped += 1;
                    }
                    OnExhausted::Pause => {
                        // Each pause cycle after the first is another try of the same event.
                        if self.pause_failures > 0 {
                            self.settings.stats.record_retry();
                        }
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
                        self.status.pause(
                            event.offset,
                            &failure.step,
                            failure.kind.as_str(),
                            &failure.message,
                        );
                        paused = Some((event.offset, retry_in));
                        break;
                    }
                },
            }
            batch.handled += 1;
        }

        batch.paused = paused;
        if batch.paused.is_none() {
            self.pause_failures = 0;
            self.status.resume();
        }
        Ok(batch)
    }

    /// Retries a failed event under its policy until it succeeds or runs out of attempts,
    /// and turns outputs that the sink cannot take into a failure.
    ///
    /// Returns the final outcome and the number of attempts made.
    #[allow(clippy::type_complexity)]
    fn settle<C: TopicCatalog>(
        &mut self,
        event: &Event,
        mut outcome: EventOutcome,
        catalog: &mut C,
        wait: &mut dyn FnMut(Duration),
    ) -> Result<(Result<Vec<Output>, (StepFailure, FailurePolicy)>, u32), C::Error> {
        let mut attempts = 1;
        loop {
            let failure = match outcome {
                Ok(outputs) => match self.check_outputs(&outputs, catalog)? {
                    None => return Ok((Ok(outputs), attempts)),
                    Some(message) => {
                        // The last step made the outputs, so the failure is pinned on it.
                        let step_index = self.chain.len() - 1;
                        let spec = self.chain.step_spec(step_index);
                        let failure = StepFailure {
                            step_index,
                            step: Arc::clone(&spec.name),
                            plugin_digest: spec.plugin.digest().to_string(),
                            kind: StepFailureKind::InvalidOutput,
                            message,
                        };
                        let policy = spec.failure.clone();
                        return Ok((Err((failure, policy)), attempts));
                    }
                },
                Err(failure) => failure,
            };

            let policy = self.policy_for(&failure);
            if !failure.kind.is_retryable() || attempts >= policy.max_attempts {
                return Ok((Err((failure, policy)), attempts));
            }

            let retry_in = backoff(&policy, attempts);
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
                retry_in_ms = retry_in.as_millis() as u64,
                "event failed; retrying"
            );
            wait(retry_in);
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
        self.chain.step_spec(failure.step_index).failure.clone()
    }

    /// Returns why the sink cannot take `outputs`, or `None` when it can.
    fn check_outputs<C: TopicCatalog>(
        &mut self,
        outputs: &[Output],
        catalog: &mut C,
    ) -> Result<Option<String>, C::Error> {
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

            let topic = output.topic.as_deref().unwrap_or(&settings.sink_topic);
            let sink_topic = match self.known_topics.get(topic) {
                Some(sink_topic) => *sink_topic,
                None => {
                    if let Err(message) = crate::config::check_topic_name(topic) {
                        return Ok(Some(format!(
                            "the plugin routed an output to an invalid topic: {message}"
                        )));
                    }
                    let Some(sink_topic) = catalog.describe_topic(topic)? else {
                        return Ok(Some(format!(
                            "the plugin routed an output to topic `{topic}`, which does not \
                             exist; create it with `weir topic create {topic}`"
                        )));
                    };
                    self.known_topics.insert(topic.to_string(), sink_topic);
                    sink_topic
                }
            };
            if let Some(limit) = sink_topic.max_wire_bytes {
                let wire = wire_size(output);
                if wire > limit {
                    return Ok(Some(format!(
                        "an output of {wire} bytes in Kafka's record format is over the {limit} \
                         bytes that topic `{topic}` accepts (the topic's max.message.bytes, or \
                         the producer's message.max.bytes)"
                    )));
                }
            }
        }
        Ok(None)
    }

    fn output_record(&self, event: &Event, output: Output) -> NewRecord {
        let mut headers: Vec<Header> = output
            .headers
            .into_iter()
            .map(|header| Header {
                name: header.name,
                value: header.value,
            })
            .collect();
        if self.settings.version_header {
            headers.push(Header {
                name: VERSION_HEADER.to_string(),
                value: Some(self.chain.versions().as_bytes().to_vec()),
            });
        }
        NewRecord {
            topic: output
                .topic
                .unwrap_or_else(|| self.settings.sink_topic.clone()),
            partition: None,
            timestamp_ms: event.timestamp_ms,
            key: output.key,
            value: output.value,
            headers,
        }
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
