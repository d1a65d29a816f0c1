use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::slot::{StepSlot, SwapRecord};
use super::stats::{PipelineStats, StatsSnapshot};

/// The state of every pipeline and partition of a running process, for `weir status` and the
/// admin API. Workers update it once per batch.
#[derive(Default)]
pub struct StatusBoard {
    pipelines: Mutex<BTreeMap<String, PipelineEntry>>,
}

struct PipelineEntry {
    source: &'static str,
    stats: Arc<PipelineStats>,
    steps: Vec<Arc<StepSlot>>,
    partitions: BTreeMap<(String, u32), PartitionStatus>,
}

/// The state of every pipeline of a process at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusReport {
    pub pipelines: Vec<PipelineReport>,
}

/// The state of one pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineReport {
    pub name: String,
    /// `local` or `kafka`.
    pub source: String,
    pub stats: StatsSnapshot,
    pub steps: Vec<StepReport>,
    /// Partitions this process works on now; on Kafka, the ones assigned to it.
    pub partitions: Vec<PartitionStatus>,
}

/// The published version of one step, and the outcome of the last change requested for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    /// Source of the running version: a file, or the name of an upload.
    pub plugin: String,
    pub digest: String,
    /// Grows by one with each published version.
    pub generation: u64,
    /// Digests a rollback would go back to, newest first.
    pub previous: Vec<String>,
    pub last_swap: Option<SwapRecord>,
}

/// The state of one partition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: u32,
    /// `running`, or `paused` at an event that failed for good.
    pub state: PartitionState,
    /// Offset of the next event to process: everything before it is committed, or on Kafka
    /// stored for the next commit.
    pub next_offset: Option<i64>,
    /// The step versions this partition runs, as in the `weir.plugins` header.
    pub versions: String,
    pub paused: Option<PauseInfo>,
}

/// See [`PartitionStatus::state`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PartitionState {
    Running,
    Paused,
}

/// The cause of a partition's pause.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PauseInfo {
    /// Offset of the event that failed.
    pub offset: i64,
    pub step: String,
    /// Kind of failure, as in the `weir.error.kind` dead-letter header.
    pub kind: String,
    pub error: String,
    /// Times the event has failed for good since the partition paused.
    pub cycles: u32,
    /// When the partition paused, in RFC 3339.
    pub since: String,
}

impl StatusBoard {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, PipelineEntry>> {
        crate::sync::lock(&self.pipelines)
    }

    /// Adds a pipeline with no partition yet.
    pub fn add_pipeline(&self, name: &str, source: &'static str, stats: Arc<PipelineStats>) {
        self.lock().insert(
            name.to_string(),
            PipelineEntry {
                source,
                stats,
                steps: Vec::new(),
                partitions: BTreeMap::new(),
            },
        );
    }

    /// Sets the steps of `pipeline`, whose versions the report shows.
    pub fn set_steps(&self, pipeline: &str, steps: Vec<Arc<StepSlot>>) {
        if let Some(entry) = self.lock().get_mut(pipeline) {
            entry.steps = steps;
        }
    }

    /// Adds a partition of `pipeline` and returns the handle its worker updates it through.
    /// The partition leaves the board when the last clone of the handle is dropped.
    pub fn partition(
        self: &Arc<Self>,
        pipeline: &str,
        topic: &str,
        partition: u32,
    ) -> PartitionHandle {
        let status = PartitionStatus {
            topic: topic.to_string(),
            partition,
            state: PartitionState::Running,
            next_offset: None,
            versions: String::new(),
            paused: None,
        };
        if let Some(entry) = self.lock().get_mut(pipeline) {
            entry
                .partitions
                .insert((topic.to_string(), partition), status);
        }
        PartitionHandle {
            slot: Arc::new(Slot {
                board: Arc::clone(self),
                pipeline: pipeline.to_string(),
                key: (topic.to_string(), partition),
            }),
        }
    }

    /// Returns the state of every pipeline now.
    pub fn report(&self) -> StatusReport {
        let pipelines = self
            .lock()
            .iter()
            .map(|(name, entry)| PipelineReport {
                name: name.clone(),
                source: entry.source.to_string(),
                stats: entry.stats.snapshot(),
                steps: entry.steps.iter().map(|slot| step_report(slot)).collect(),
                partitions: entry.partitions.values().cloned().collect(),
            })
            .collect();
        StatusReport { pipelines }
    }
}

fn step_report(slot: &StepSlot) -> StepReport {
    let (generation, spec) = slot.current();
    StepReport {
        name: spec.name.to_string(),
        plugin: spec.plugin.path().display().to_string(),
        digest: spec.plugin.digest().to_string(),
        generation,
        previous: slot.history(),
        last_swap: slot.last_swap(),
    }
}

/// A partition's place on the [`StatusBoard`]. Cloning shares the place.
#[derive(Clone)]
pub struct PartitionHandle {
    slot: Arc<Slot>,
}

struct Slot {
    board: Arc<StatusBoard>,
    pipeline: String,
    key: (String, u32),
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(entry) = self.board.lock().get_mut(&self.pipeline) {
            entry.partitions.remove(&self.key);
        }
    }
}

impl PartitionHandle {
    fn update(&self, change: impl FnOnce(&mut PartitionStatus)) {
        let slot = &self.slot;
        if let Some(status) = slot
            .board
            .lock()
            .get_mut(&slot.pipeline)
            .and_then(|entry| entry.partitions.get_mut(&slot.key))
        {
            change(status);
        }
    }

    /// Records the offset of the next event to process.
    pub fn set_next_offset(&self, offset: i64) {
        self.update(|status| status.next_offset = Some(offset));
    }

    /// Records the step versions the partition runs.
    pub fn set_versions(&self, versions: &str) {
        self.update(|status| status.versions = versions.to_string());
    }

    /// Records that the partition is paused at the event at `offset`.
    pub fn pause(&self, offset: i64, step: &str, kind: &str, error: &str) {
        self.update(|status| {
            let same_event = status
                .paused
                .as_ref()
                .is_some_and(|paused| paused.offset == offset);
            let (cycles, since) = match status.paused.take() {
                Some(paused) if same_event => (paused.cycles + 1, paused.since),
                _ => (
                    1,
                    humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                ),
            };
            status.state = PartitionState::Paused;
            status.paused = Some(PauseInfo {
                offset,
                step: step.to_string(),
                kind: kind.to_string(),
                error: error.to_string(),
                cycles,
                since,
            });
        });
    }

    /// Records that the partition runs: a batch went through without a pause.
    pub fn resume(&self) {
        self.update(|status| {
            status.state = PartitionState::Running;
            status.paused = None;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_leaves_the_board_with_its_last_handle() {
        let board = Arc::new(StatusBoard::default());
        board.add_pipeline("orders", "local", Arc::default());

        let handle = board.partition("orders", "in", 3);
        let clone = handle.clone();
        handle.set_next_offset(42);
        drop(handle);
        let report = board.report();
        assert_eq!(report.pipelines[0].partitions[0].next_offset, Some(42));

        drop(clone);
        assert!(board.report().pipelines[0].partitions.is_empty());
    }

    #[test]
    fn pause_counts_cycles_on_the_same_event() {
        let board = Arc::new(StatusBoard::default());
        board.add_pipeline("orders", "local", Arc::default());
        let handle = board.partition("orders", "in", 0);

        handle.pause(7, "filter", "reject", "bad JSON");
        handle.pause(7, "filter", "reject", "bad JSON");
        let paused = board.report().pipelines[0].partitions[0].paused.clone();
        assert_eq!(paused.map(|paused| paused.cycles), Some(2));

        handle.resume();
        let status = &board.report().pipelines[0].partitions[0];
        assert_eq!(status.state, PartitionState::Running);
        assert_eq!(status.paused, None);
    }
}
