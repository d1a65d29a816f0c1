use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;

use super::chain::{StepFailure, StepFailureKind};
use crate::config::{FailurePolicy, OnExhausted};
use crate::local::{Header, NewRecord};
use crate::plugin::Event;

/// Header names that a dead-letter record carries beside the original event's headers.
pub mod dead_letter_header {
    pub const ERROR: &str = "weir.error";
    pub const ERROR_KIND: &str = "weir.error.kind";
    pub const ATTEMPTS: &str = "weir.attempts";
    pub const SOURCE_TOPIC: &str = "weir.source.topic";
    pub const SOURCE_PARTITION: &str = "weir.source.partition";
    pub const SOURCE_OFFSET: &str = "weir.source.offset";
    pub const STEP: &str = "weir.step";
    pub const PLUGIN_DIGEST: &str = "weir.plugin.digest";
    pub const FAILED_AT: &str = "weir.failed.at";
}

/// Returns the wait before attempt `attempt + 1`: exponential from the policy's initial
/// backoff, capped at its maximum, then scaled by a random factor from 0.5 to 1 so that
/// partitions that failed together do not retry in lockstep.
pub fn backoff(policy: &FailurePolicy, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let base = policy
        .initial_backoff
        .saturating_mul(1u32 << exponent)
        .min(policy.max_backoff);
    let factor = rand::rng().random_range(0.5..=1.0);
    base.mul_f64(factor)
}

/// Maximum length of the error message a dead-letter record carries, so that a plugin's long message cannot
/// make the record too large for the dead-letter topic.
const MAX_ERROR_HEADER_BYTES: usize = 2048;

/// Returns `text` cut to at most `max` bytes, at a character boundary, marked when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Builds the dead-letter record of `event`: its original key, value and headers, plus
/// headers that describe the failure.
pub fn dead_letter_record(
    topic: &str,
    event: &Event,
    failure: &StepFailure,
    attempts: u32,
) -> NewRecord {
    use dead_letter_header as name;

    let mut headers: Vec<Header> = event
        .headers
        .iter()
        .map(|header| Header {
            name: header.name.clone(),
            value: header.value.clone(),
        })
        .collect();
    let failed_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let added = [
        (
            name::ERROR,
            truncate(&failure.message, MAX_ERROR_HEADER_BYTES),
        ),
        (name::ERROR_KIND, failure.kind.as_str().to_string()),
        (name::ATTEMPTS, attempts.to_string()),
        (name::SOURCE_TOPIC, event.topic.clone()),
        (name::SOURCE_PARTITION, event.partition.to_string()),
        (name::SOURCE_OFFSET, event.offset.to_string()),
        (name::STEP, failure.step.to_string()),
        (name::PLUGIN_DIGEST, failure.plugin_digest.clone()),
        (name::FAILED_AT, failed_at),
    ];
    headers.extend(added.into_iter().map(|(name, value)| Header {
        name: name.to_string(),
        value: Some(value.into_bytes()),
    }));

    NewRecord {
        topic: topic.to_string(),
        partition: None,
        timestamp_ms: event.timestamp_ms,
        key: event.key.clone(),
        value: event.value.clone(),
        headers,
    }
}

/// The handling of an event whose output the sink rejects for good after the batch was handed
/// over, as a Kafka broker can (a timestamp outside the topic's limits, a denied topic). It
/// follows the failure policy of the chain's last step.
#[derive(Debug, Clone)]
pub struct OutputRejection {
    pub pipeline: Arc<str>,
    pub step_index: usize,
    pub step: Arc<str>,
    pub plugin_digest: String,
    pub policy: FailurePolicy,
}

/// The action for an event with a rejected output.
#[derive(Debug)]
pub enum RejectionAction {
    /// Write this dead-letter record in place of the event's undelivered outputs.
    DeadLetter(NewRecord),
    /// Drop the event's undelivered outputs.
    Skip,
    /// Keep sending the rejected output, holding the partition back, until it is taken.
    Resend,
}

impl OutputRejection {
    /// Decides what becomes of `event`, whose output the sink rejected with `error`, and logs
    /// it at error level.
    pub fn decide(&self, event: &Event, output_topic: &str, error: &str) -> RejectionAction {
        let failure = StepFailure {
            step_index: self.step_index,
            step: Arc::clone(&self.step),
            plugin_digest: self.plugin_digest.clone(),
            kind: StepFailureKind::InvalidOutput,
            message: format!("the sink rejected an output to topic `{output_topic}`: {error}"),
        };
        let (action, description) = match (
            self.policy.on_exhausted(),
            self.policy.dead_letter_topic.as_deref(),
        ) {
            (OnExhausted::DeadLetter, Some(topic)) => (
                RejectionAction::DeadLetter(dead_letter_record(topic, event, &failure, 1)),
                "sending the event to the dead-letter topic",
            ),
            (OnExhausted::Skip, _) => (
                RejectionAction::Skip,
                "skipping the event's undelivered outputs, as the pipeline's failure policy says",
            ),
            _ => (
                RejectionAction::Resend,
                "the pipeline has no dead-letter topic, so the output is sent again every second \
                 and holds the partition back until the cause is fixed",
            ),
        };
        tracing::error!(
            pipeline = %self.pipeline,
            topic = %event.topic,
            partition = event.partition,
            offset = event.offset,
            step = %failure.step,
            plugin = %failure.plugin_digest,
            output_topic,
            %error,
            "the sink rejected an output for good; {description}"
        );
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_error_is_cut_at_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate(&"é".repeat(100), 11);
        assert!(cut.len() <= 11, "{cut}");
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        let policy = FailurePolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..FailurePolicy::default()
        };

        for _ in 0..100 {
            let first = backoff(&policy, 1);
            assert!(first >= Duration::from_millis(50), "first wait {first:?}");
            assert!(first <= Duration::from_millis(100), "first wait {first:?}");

            let third = backoff(&policy, 3);
            assert!(third >= Duration::from_millis(200), "third wait {third:?}");
            assert!(third <= Duration::from_millis(400), "third wait {third:?}");

            let late = backoff(&policy, 40);
            assert!(late <= Duration::from_secs(1), "late wait {late:?}");
        }
    }
}
