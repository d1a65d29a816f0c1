use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one pipeline, shared by its partition workers.
#[derive(Debug, Default)]
pub struct PipelineStats {
    events: AtomicU64,
    outputs: AtomicU64,
    dead_lettered: AtomicU64,
    skipped: AtomicU64,
    retries: AtomicU64,
}

/// A copy of [`PipelineStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatsSnapshot {
    /// Source events committed.
    pub events: u64,
    /// Outputs written to the sink.
    pub outputs: u64,
    /// Events written to the dead-letter topic.
    pub dead_lettered: u64,
    /// Events dropped under `on_exhausted: skip`.
    pub skipped: u64,
    /// Extra attempts made for failed events, including each new cycle of a paused partition.
    pub retries: u64,
}

impl PipelineStats {
    pub(crate) fn record_commit(
        &self,
        events: u64,
        outputs: u64,
        dead_lettered: u64,
        skipped: u64,
    ) {
        self.events.fetch_add(events, Ordering::Relaxed);
        self.outputs.fetch_add(outputs, Ordering::Relaxed);
        self.dead_lettered
            .fetch_add(dead_lettered, Ordering::Relaxed);
        self.skipped.fetch_add(skipped, Ordering::Relaxed);
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events: self.events.load(Ordering::Relaxed),
            outputs: self.outputs.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}
