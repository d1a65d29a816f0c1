//! Live changes to running pipelines: swapping a step's plugin, rolling it back, and reloading
//! the pipeline file.
//!
//! A new version is loaded, checked against the contract and initialised once here, away from
//! the partition workers. Only then is it published to the step's [`StepSlot`], and each
//! partition switches to it at its next batch. A version that fails any check is never
//! published, so the old one keeps running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::chain::StepSpec;
use super::runner::same_path;
use super::slot::{StepSlot, SwapRecord};
use super::steps::{prepare_step, step_with_plugin};
use crate::config::{ConfigErrors, PipelineConfig, load_pipeline_file};
use crate::plugin::{LogContext, PluginEngine, PluginError, PluginInstance};
use crate::sync::lock;

/// The source of a new plugin version.
#[derive(Debug, Clone)]
pub enum PluginSource {
    /// A component file on the machine that runs `weir run`.
    File(PathBuf),
    /// Component bytes sent to the admin API, named for messages.
    Upload { name: String, bytes: Vec<u8> },
}

/// A step that took a new version.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SwapReport {
    pub pipeline: String,
    pub step: String,
    /// Digest of the version that ran before.
    pub from: String,
    /// Digest of the version that partitions switch to at their next batch.
    pub to: String,
    /// The step's generation after the change; it grows by one with each change.
    pub generation: u64,
    /// Whether a new version was published. A reload that changes only a step's settings
    /// publishes one with the same digest, while a swap to the running file publishes none.
    pub published: bool,
}

/// The reason a live change was not applied. The versions that ran before keep running.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no running pipeline named `{0}`")]
    UnknownPipeline(String),

    #[error("pipeline `{pipeline}` has no step named `{step}`; its steps are: {steps}")]
    UnknownStep {
        pipeline: String,
        step: String,
        steps: String,
    },

    #[error(
        "the new version of step `{step}` was not taken, and the old one keeps running: {source}"
    )]
    Plugin {
        step: String,
        #[source]
        source: PluginError,
    },

    #[error(
        "the new version of step `{step}` was not taken, and the old one keeps running: {message}"
    )]
    Step { step: String, message: String },

    #[error("step `{step}` has no previous version to roll back to")]
    NoPrevious { step: String },

    #[error("the pipeline file is invalid, so nothing was reloaded:\n{0}")]
    Config(ConfigErrors),

    #[error(
        "the pipeline file changes {0}, which cannot change while Weir runs; restart `weir run` \
         to apply it (nothing was reloaded)"
    )]
    RestartNeeded(String),

    #[error("`weir run` was started without a pipeline file, so there is nothing to reload")]
    NoFile,
}

/// The live controls of the pipelines one `weir run` runs.
pub struct PipelineControl {
    engine: PluginEngine,
    file: Option<PathBuf>,
    pipelines: BTreeMap<String, ControlledPipeline>,
    /// Serialises changes, so they are published in the order they were requested.
    serial: Mutex<()>,
    /// Functions run after each reload that took effect, such as the file watch adding the
    /// folders of moved plugins.
    reload_listeners: Mutex<Vec<ReloadListener>>,
}

/// A function called with the controls after a reload took effect.
pub type ReloadListener = Box<dyn Fn(&PipelineControl) + Send + Sync>;

struct ControlledPipeline {
    /// The configuration the running versions were built from, for reloads to compare with.
    config: Mutex<PipelineConfig>,
    steps: Vec<Arc<StepSlot>>,
}

impl PipelineControl {
    /// Creates the controls; `file` is the pipeline file that reloads read.
    pub fn new(engine: PluginEngine, file: Option<PathBuf>) -> Self {
        Self {
            engine,
            file,
            pipelines: BTreeMap::new(),
            serial: Mutex::new(()),
            reload_listeners: Mutex::new(Vec::new()),
        }
    }

    /// Registers `listener` to run after every reload that took effect.
    pub fn on_reload(&self, listener: ReloadListener) {
        lock(&self.reload_listeners).push(listener);
    }

    /// Adds a running pipeline with the slots of its steps.
    pub fn add_pipeline(&mut self, config: &PipelineConfig, steps: Vec<Arc<StepSlot>>) {
        self.pipelines.insert(
            config.name.value.clone(),
            ControlledPipeline {
                config: Mutex::new(config.clone()),
                steps,
            },
        );
    }

    /// Returns the pipeline file that reloads read.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Returns the `(pipeline, step)` pairs whose configured plugin file is `path`.
    pub fn steps_using(&self, path: &Path) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (name, pipeline) in &self.pipelines {
            for step in &lock(&pipeline.config).steps {
                if same_path(&step.plugin.value, path) {
                    found.push((name.clone(), step.name.value.clone()));
                }
            }
        }
        found
    }

    /// Returns every plugin file the running configuration names.
    pub fn plugin_files(&self) -> Vec<PathBuf> {
        self.pipelines
            .values()
            .flat_map(|pipeline| {
                lock(&pipeline.config)
                    .steps
                    .iter()
                    .map(|step| step.plugin.value.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Replaces the plugin of one step with the component from `source`, keeping the step's
    /// config, limits and grants. Blocks while the component compiles and initialises.
    ///
    /// A component with the digest of the running version changes nothing and reports
    /// `from == to`.
    pub fn swap(
        &self,
        pipeline: &str,
        step: &str,
        source: PluginSource,
    ) -> Result<SwapReport, ControlError> {
        let _serial = lock(&self.serial);
        let slot = self.slot(pipeline, step)?;
        let (generation, current) = slot.current();

        let loaded = match &source {
            PluginSource::File(path) => self.engine.load(path),
            PluginSource::Upload { name, bytes } => self.engine.load_bytes(Path::new(name), bytes),
        };
        let plugin = match loaded {
            Ok(plugin) => plugin,
            Err(error) => {
                let error = ControlError::Plugin {
                    step: step.to_string(),
                    source: error,
                };
                return Err(reject(slot, pipeline, step, None, error));
            }
        };
        if plugin.digest() == current.plugin.digest() {
            tracing::info!(
                pipeline,
                step,
                digest = plugin.short_digest(),
                "swap requested with the running version; nothing changes"
            );
            return Ok(SwapReport {
                pipeline: pipeline.to_string(),
                step: step.to_string(),
                from: current.plugin.digest().to_string(),
                to: plugin.digest().to_string(),
                generation,
                published: false,
            });
        }

        let spec = StepSpec {
            plugin,
            ..(*current).clone()
        };
        if let Err(error) = check(&spec) {
            let digest = Some(spec.plugin.digest().to_string());
            return Err(reject(slot, pipeline, step, digest, error));
        }
        Ok(publish(slot, pipeline, step, spec))
    }

    /// Goes back to the step's version before the current one.
    pub fn roll_back(&self, pipeline: &str, step: &str) -> Result<SwapReport, ControlError> {
        let _serial = lock(&self.serial);
        let slot = self.slot(pipeline, step)?;
        let Some((restored, replaced)) = slot.roll_back() else {
            return Err(ControlError::NoPrevious {
                step: step.to_string(),
            });
        };

        let report = SwapReport {
            pipeline: pipeline.to_string(),
            step: step.to_string(),
            from: replaced.plugin.digest().to_string(),
            to: restored.plugin.digest().to_string(),
            generation: slot.generation(),
            published: true,
        };
        slot.record_swap(SwapRecord::now(Some(report.to.clone()), None));
        tracing::info!(
            pipeline,
            step,
            from = replaced.plugin.short_digest(),
            to = restored.plugin.short_digest(),
            generation = report.generation,
            "rolled step back to its previous version"
        );
        Ok(report)
    }

    /// Reads the pipeline file again and publishes a new version of every step whose
    /// settings changed in it. Blocks.
    ///
    /// Either every changed step takes its new version or none does. A change to anything
    /// that cannot change while running (a source, a sink, the list of steps, the list of
    /// pipelines) rejects the whole reload.
    pub fn reload(&self) -> Result<Vec<SwapReport>, ControlError> {
        let _serial = lock(&self.serial);
        let Some(file) = &self.file else {
            return Err(ControlError::NoFile);
        };
        let new_file = load_pipeline_file(file).map_err(|errors| {
            tracing::error!(file = %file.display(), error = %errors, "pipeline file reload rejected; the file is invalid");
            ControlError::Config(errors)
        })?;

        let mut fixed_changes = Vec::new();
        let running: Vec<&String> = self.pipelines.keys().collect();
        let listed: Vec<&String> = new_file
            .pipelines
            .iter()
            .map(|pipeline| &pipeline.name.value)
            .collect();
        if running != listed {
            fixed_changes.push("the list of pipelines".to_string());
        }

        let mut changes: Vec<(&ControlledPipeline, usize, StepSpec)> = Vec::new();
        for new_config in &new_file.pipelines {
            let Some(pipeline) = self.pipelines.get(&new_config.name.value) else {
                continue;
            };
            let old_config = lock(&pipeline.config).clone();
            let name = &new_config.name.value;
            for key in fixed_differences(&old_config, new_config) {
                fixed_changes.push(format!("pipelines[{name}].{key}"));
            }
            if !fixed_changes.is_empty() {
                continue;
            }

            for (index, step) in new_config.steps.iter().enumerate() {
                let old_step = &old_config.steps[index];
                if step_fingerprint(&old_config, old_step) == step_fingerprint(new_config, step) {
                    continue;
                }
                let step_name = step.name.value.clone();
                let slot = &pipeline.steps[index];
                // A step whose `plugin` path is unchanged keeps its running plugin, which may
                // be an upload, so that a settings change never swaps the code.
                let prepared = if same_path(&old_step.plugin.value, &step.plugin.value) {
                    step_with_plugin(new_config, step, Arc::clone(&slot.current().1.plugin))
                } else {
                    prepare_step(&self.engine, new_config, step)
                };
                let spec = prepared.map_err(|error| {
                    let error = ControlError::Step {
                        step: step_name.clone(),
                        message: format!("{error:#}"),
                    };
                    reject(slot, name, &step_name, None, error)
                })?;
                if let Err(error) = check(&spec) {
                    let digest = Some(spec.plugin.digest().to_string());
                    return Err(reject(slot, name, &step_name, digest, error));
                }
                changes.push((pipeline, index, spec));
            }
        }
        if !fixed_changes.is_empty() {
            let changes = fixed_changes.join(", ");
            tracing::error!(file = %file.display(), %changes, "pipeline file reload rejected; a restart is needed");
            return Err(ControlError::RestartNeeded(changes));
        }

        let mut reports = Vec::with_capacity(changes.len());
        for (pipeline, index, spec) in changes {
            let slot = &pipeline.steps[index];
            let pipeline_name = spec.pipeline.to_string();
            let step_name = spec.name.to_string();
            reports.push(publish(slot, &pipeline_name, &step_name, spec));
        }
        for new_config in new_file.pipelines {
            if let Some(pipeline) = self.pipelines.get(&new_config.name.value) {
                *lock(&pipeline.config) = new_config;
            }
        }
        tracing::info!(file = %file.display(), changed_steps = reports.len(), "reloaded the pipeline file");
        for listener in lock(&self.reload_listeners).iter() {
            listener(self);
        }
        Ok(reports)
    }

    fn slot(&self, pipeline: &str, step: &str) -> Result<&Arc<StepSlot>, ControlError> {
        let Some(controlled) = self.pipelines.get(pipeline) else {
            return Err(ControlError::UnknownPipeline(pipeline.to_string()));
        };
        let config = lock(&controlled.config);
        let position = config
            .steps
            .iter()
            .position(|candidate| candidate.name.value == step);
        match position {
            Some(index) => Ok(&controlled.steps[index]),
            None => Err(ControlError::UnknownStep {
                pipeline: pipeline.to_string(),
                step: step.to_string(),
                steps: config
                    .steps
                    .iter()
                    .map(|candidate| candidate.name.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }
}

/// Instantiates the version once and runs its `init`, under the step's deadline, so that a
/// version that cannot start is never published.
fn check(spec: &StepSpec) -> Result<(), ControlError> {
    let log = LogContext {
        pipeline: Arc::clone(&spec.pipeline),
        step: Arc::clone(&spec.name),
        plugin: spec.plugin.short_digest().into(),
        partition: None,
        offset: None,
    };
    PluginInstance::new(&spec.plugin, &spec.config, &spec.sandbox, log)
        .map(drop)
        .map_err(|source| ControlError::Plugin {
            step: spec.name.to_string(),
            source,
        })
}

fn publish(slot: &StepSlot, pipeline: &str, step: &str, spec: StepSpec) -> SwapReport {
    let to = spec.plugin.digest().to_string();
    let short = spec.plugin.short_digest().to_string();
    let replaced = slot.publish(Arc::new(spec));
    let generation = slot.generation();
    slot.record_swap(SwapRecord::now(Some(to.clone()), None));
    tracing::info!(
        pipeline,
        step,
        from = replaced.plugin.short_digest(),
        to = %short,
        generation,
        "published a new step version; partitions switch at their next batch"
    );
    SwapReport {
        pipeline: pipeline.to_string(),
        step: step.to_string(),
        from: replaced.plugin.digest().to_string(),
        to,
        generation,
        published: true,
    }
}

/// Records and logs a rejected version, and returns the error for the caller.
fn reject(
    slot: &StepSlot,
    pipeline: &str,
    step: &str,
    digest: Option<String>,
    error: ControlError,
) -> ControlError {
    let message = error.to_string();
    tracing::error!(pipeline, step, digest = ?digest, error = %message, "new step version rejected; the old one keeps running");
    slot.record_swap(SwapRecord::now(digest, Some(message)));
    error
}

/// Returns the keys of a pipeline's settings that differ between `old` and `new` and that
/// cannot change while it runs.
fn fixed_differences(old: &PipelineConfig, new: &PipelineConfig) -> Vec<&'static str> {
    let source = |config: &PipelineConfig| {
        let source = &config.source;
        [
            ("source.kind", format!("{:?}", source.kind.value)),
            (
                "source.path",
                format!("{:?}", source.path.as_ref().map(|path| &path.value)),
            ),
            (
                "source.bootstrap_servers",
                format!(
                    "{:?}",
                    source
                        .bootstrap_servers
                        .as_ref()
                        .map(|servers| &servers.value)
                ),
            ),
            ("source.properties", format!("{:?}", source.properties)),
            ("source.topics", format!("{:?}", source.topics.value)),
            ("source.group", source.group.value.clone()),
            ("source.start", format!("{:?}", source.start)),
            ("source.batch_size", source.batch_size.value.to_string()),
            (
                "source.poll_interval",
                format!("{:?}", source.poll_interval),
            ),
            (
                "source.drain_timeout",
                format!("{:?}", source.drain_timeout),
            ),
            (
                "source.max_in_flight_batches",
                source.max_in_flight_batches.to_string(),
            ),
        ]
    };
    let sink = |config: &PipelineConfig| {
        let sink = &config.sink;
        [
            ("sink.kind", format!("{:?}", sink.kind.value)),
            (
                "sink.path",
                format!("{:?}", sink.path.as_ref().map(|path| &path.value)),
            ),
            (
                "sink.bootstrap_servers",
                format!(
                    "{:?}",
                    sink.bootstrap_servers
                        .as_ref()
                        .map(|servers| &servers.value)
                ),
            ),
            ("sink.properties", format!("{:?}", sink.properties)),
            ("sink.topic", sink.topic.value.clone()),
            (
                "sink.max_outputs_per_event",
                sink.max_outputs_per_event.to_string(),
            ),
            ("sink.max_record_bytes", sink.max_record_bytes.to_string()),
            ("sink.version_header", sink.version_header.to_string()),
            (
                "steps",
                config
                    .steps
                    .iter()
                    .map(|step| step.name.value.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]
    };

    let mut changed = Vec::new();
    for (before, after) in source(old).into_iter().zip(source(new)) {
        if before.1 != after.1 {
            changed.push(before.0);
        }
    }
    for (before, after) in sink(old).into_iter().zip(sink(new)) {
        if before.1 != after.1 {
            changed.push(before.0);
        }
    }
    changed
}

/// Describes everything that makes up a step's version, without line numbers, so that two
/// loads of the same settings compare equal.
fn step_fingerprint(pipeline: &PipelineConfig, step: &crate::config::StepConfig) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        step.plugin.value,
        step.config,
        step.failure_policy(&pipeline.failure.value),
        step.sandbox_limits(&pipeline.limits.value),
        step.grants,
    )
}
