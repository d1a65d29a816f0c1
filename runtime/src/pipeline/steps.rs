//! Building the versions of a pipeline's steps from its configuration.

use std::path::Path;
use std::sync::Arc;

use anyhow::bail;

use super::chain::{Chain, StepSpec};
use super::slot::StepSlot;
use crate::config::{Limits, PipelineConfig, ResolvedDirGrant, StepConfig};
use crate::plugin::{ConfigEntry, LoadedPlugin, PluginEngine, Sandbox};

/// Loads every plugin of `config` and initialises one instance of each, so that a bad plugin
/// or config fails before anything is consumed. Blocks.
pub fn prepare_steps(
    engine: &PluginEngine,
    config: &PipelineConfig,
) -> anyhow::Result<Vec<Arc<StepSlot>>> {
    let mut slots = Vec::with_capacity(config.steps.len());
    for step in &config.steps {
        let spec = prepare_step(engine, config, step)?;
        slots.push(Arc::new(StepSlot::new(Arc::new(spec))));
    }
    // Fails now, with the plugin's own message, rather than in every partition worker later.
    Chain::new(&slots, None)?;
    Ok(slots)
}

/// Loads the plugin of `step` and builds its version from the step's and the pipeline's
/// settings. Blocks while the plugin compiles.
pub fn prepare_step(
    engine: &PluginEngine,
    pipeline: &PipelineConfig,
    step: &StepConfig,
) -> anyhow::Result<StepSpec> {
    let plugin = engine.load(&step.plugin.value)?;
    tracing::info!(
        pipeline = %pipeline.name.value,
        step = %step.name.value,
        plugin = %step.plugin.value.display(),
        digest = plugin.short_digest(),
        "loaded plugin"
    );
    step_with_plugin(pipeline, step, plugin)
}

/// Builds a version of `step` that runs the loaded `plugin` with the step's and the
/// pipeline's settings.
pub fn step_with_plugin(
    pipeline: &PipelineConfig,
    step: &StepConfig,
    plugin: Arc<LoadedPlugin>,
) -> anyhow::Result<StepSpec> {
    Ok(StepSpec {
        pipeline: pipeline.name.value.as_str().into(),
        name: step.name.value.as_str().into(),
        plugin,
        config: config_entries(step),
        sandbox: sandbox(step, &pipeline.limits.value)?,
        failure: step.failure_policy(&pipeline.failure.value),
    })
}

/// Returns the step's `config` as `init` receives it: scalars as their text, nested values
/// as JSON.
fn config_entries(step: &StepConfig) -> Vec<ConfigEntry> {
    step.config
        .iter()
        .map(|(key, value)| ConfigEntry {
            key: key.clone(),
            value: match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            },
        })
        .collect()
}

/// Builds the sandbox of a step from its limits and grants, reading the values of the
/// granted environment variables now.
fn sandbox(step: &StepConfig, pipeline_limits: &Limits) -> anyhow::Result<Sandbox> {
    let mut env = Vec::with_capacity(step.grants.env.len());
    for name in &step.grants.env {
        let Ok(value) = std::env::var(name) else {
            bail!(
                "step `{}` grants environment variable `{name}`, which is not set (or not \
                 UTF-8) in Weir's environment; set it, or remove it from grants.env",
                step.name.value
            );
        };
        env.push((name.clone(), value));
    }

    let dirs: Vec<ResolvedDirGrant> = step
        .grants
        .dirs
        .iter()
        .map(|grant| grant.resolve(Path::new("")))
        .collect();
    for grant in &dirs {
        let ResolvedDirGrant {
            host,
            guest,
            writable,
        } = grant;
        tracing::info!(
            step = %step.name.value,
            host = %host.display(),
            guest,
            writable,
            "granting folder to plugin"
        );
    }

    Ok(Sandbox {
        limits: step.sandbox_limits(pipeline_limits),
        dirs,
        env,
    })
}
