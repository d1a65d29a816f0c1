use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::chain::StepSpec;
use crate::sync::lock;

/// Previous versions a step keeps for `weir plugin rollback`.
const HISTORY_LENGTH: usize = 10;

/// A step of a running pipeline: the version that its partitions run, which a swap replaces.
///
/// Partition workers compare [`StepSlot::generation`] with the one they run at the start of
/// each batch and switch then, so a batch never mixes two versions.
pub struct StepSlot {
    current: RwLock<(u64, Arc<StepSpec>)>,
    generation: AtomicU64,
    history: Mutex<Vec<Arc<StepSpec>>>,
    last_swap: Mutex<Option<SwapRecord>>,
}

/// The outcome of the last swap, reload or rollback request for a step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SwapRecord {
    /// When the request ended, in RFC 3339.
    pub at: String,
    /// Digest of the version that was requested, when it could be read.
    pub digest: Option<String>,
    /// The reason the version was not taken, or `None` when it was.
    pub error: Option<String>,
}

impl SwapRecord {
    pub(crate) fn now(digest: Option<String>, error: Option<String>) -> Self {
        Self {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            digest,
            error,
        }
    }
}

impl StepSlot {
    pub fn new(spec: Arc<StepSpec>) -> Self {
        Self {
            current: RwLock::new((0, spec)),
            generation: AtomicU64::new(0),
            history: Mutex::new(Vec::new()),
            last_swap: Mutex::new(None),
        }
    }

    /// Returns the number of versions published since the start; it only grows.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Returns the version partitions should run, with its generation.
    pub fn current(&self) -> (u64, Arc<StepSpec>) {
        let current = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (current.0, Arc::clone(&current.1))
    }

    /// Makes `spec` the version partitions switch to at their next batch, and keeps the one
    /// it replaces for a rollback. Returns the replaced version.
    pub(crate) fn publish(&self, spec: Arc<StepSpec>) -> Arc<StepSpec> {
        let previous = self.replace(spec);
        let mut history = lock(&self.history);
        history.push(Arc::clone(&previous));
        if history.len() > HISTORY_LENGTH {
            history.remove(0);
        }
        previous
    }

    /// Goes back to the version before the current one, which is then forgotten, so that
    /// repeated rollbacks walk further back. Returns the version rolled back to, or `None`
    /// when there is none.
    pub(crate) fn roll_back(&self) -> Option<(Arc<StepSpec>, Arc<StepSpec>)> {
        let previous = lock(&self.history).pop()?;
        let replaced = self.replace(Arc::clone(&previous));
        Some((previous, replaced))
    }

    fn replace(&self, spec: Arc<StepSpec>) -> Arc<StepSpec> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let generation = current.0 + 1;
        let previous = std::mem::replace(&mut *current, (generation, spec)).1;
        self.generation.store(generation, Ordering::Release);
        previous
    }

    /// Returns the digests of the versions a rollback would go back to, newest first.
    pub fn history(&self) -> Vec<String> {
        lock(&self.history)
            .iter()
            .rev()
            .map(|spec| spec.plugin.digest().to_string())
            .collect()
    }

    pub(crate) fn record_swap(&self, record: SwapRecord) {
        *lock(&self.last_swap) = Some(record);
    }

    /// Returns the outcome of the last swap request.
    pub fn last_swap(&self) -> Option<SwapRecord> {
        lock(&self.last_swap).clone()
    }
}
