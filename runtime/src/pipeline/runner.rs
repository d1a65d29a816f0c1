use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::chain::Chain;
use super::control::PipelineControl;
use super::slot::StepSlot;
use super::stats::{PipelineStats, StatsSnapshot};
use super::status::StatusBoard;
use super::steps::prepare_steps;
use super::worker::{BatchProgress, PartitionWorker, WorkerSettings};
use crate::admin::AdminOptions;
use crate::config::{PipelineConfig, PipelineFile, SourceKind, StartPosition};
use crate::local::LocalStore;
use crate::plugin::PluginEngine;

/// Options of [`run_pipelines`].
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only the pipeline of this name.
    pub pipeline: Option<String>,
    /// Return once every partition is processed to its end, instead of waiting for more.
    pub stop_at_end: bool,
    /// Serve the admin API with these settings; `None` serves none.
    pub admin: Option<AdminOptions>,
    /// The pipeline file, which a reload reads again.
    pub file: Option<PathBuf>,
    /// Swap a step's plugin when its file changes, and reload the pipeline file when it
    /// changes.
    pub watch: bool,
}

/// A pipeline whose plugins are loaded and initialised and whose topics exist.
pub struct PreparedPipeline {
    pub name: Arc<str>,
    pub settings: Arc<WorkerSettings>,
    pub steps: Vec<Arc<StepSlot>>,
    pub source_dir: PathBuf,
    /// `None` when the sink uses the source's folder.
    pub sink_dir: Option<PathBuf>,
    pub partitions: Vec<(String, u32)>,
    pub start: StartPosition,
    pub poll_interval: Duration,
}

/// Builds the settings that every partition worker of `config` shares, and adds the pipeline
/// to `status`.
pub fn worker_settings(config: &PipelineConfig, status: &Arc<StatusBoard>) -> Arc<WorkerSettings> {
    let stats = Arc::new(PipelineStats::default());
    let source = match config.source.kind.value {
        SourceKind::Local => "local",
        SourceKind::Kafka => "kafka",
    };
    status.add_pipeline(&config.name.value, source, Arc::clone(&stats));
    Arc::new(WorkerSettings {
        pipeline: config.name.value.as_str().into(),
        group: config.source.group.value.clone(),
        batch_size: config.source.batch_size.value,
        sink_topic: config.sink.topic.value.clone(),
        max_outputs_per_event: config.sink.max_outputs_per_event,
        version_header: config.sink.version_header,
        max_record_bytes: usize::try_from(config.sink.max_record_bytes.as_u64())
            .unwrap_or(usize::MAX),
        stats,
        status: Arc::clone(status),
    })
}

/// Prepares a pipeline on embedded topics: loads its plugins (see [`prepare_steps`]) and checks
/// that the source, sink and dead-letter topics exist. Blocks.
pub fn prepare_pipeline(
    engine: &PluginEngine,
    config: &PipelineConfig,
    status: &Arc<StatusBoard>,
) -> anyhow::Result<PreparedPipeline> {
    let name: Arc<str> = config.name.value.as_str().into();
    let steps = prepare_steps(engine, config)?;

    let (Some(source_path), Some(sink_path)) = (&config.source.path, &config.sink.path) else {
        bail!("pipeline `{name}`: a local source and sink need a `path`");
    };
    let source_dir = source_path.value.clone();
    let source = LocalStore::open(&source_dir)?;
    let mut partitions = Vec::new();
    for topic in &config.source.topics.value {
        let Some(info) = source.topic(topic)? else {
            bail!(
                "pipeline `{name}`: source topic `{topic}` not found in {}; create it with \
                 `weir topic create {topic} --data {}`",
                source_dir.display(),
                source_dir.display()
            );
        };
        partitions.extend((0..info.partitions).map(|partition| (topic.clone(), partition)));
    }

    let sink_dir = sink_path.value.clone();
    let same_folder = same_path(&sink_dir, &source_dir);
    let sink = if same_folder {
        None
    } else {
        Some(LocalStore::open(&sink_dir)?)
    };
    let sink_store = sink.as_ref().unwrap_or(&source);
    let mut required = vec![config.sink.topic.value.clone()];
    required.extend(config.failure.value.dead_letter_topic.clone());
    for step in &steps {
        required.extend(step.current().1.failure.dead_letter_topic.clone());
    }
    for topic in required {
        if sink_store.topic(&topic)?.is_none() {
            bail!(
                "pipeline `{name}`: topic `{topic}` not found in {}; create it with \
                 `weir topic create {topic} --data {}`",
                sink_dir.display(),
                sink_dir.display()
            );
        }
    }

    Ok(PreparedPipeline {
        name,
        settings: worker_settings(config, status),
        steps,
        source_dir,
        sink_dir: (!same_folder).then_some(sink_dir),
        partitions,
        start: config.source.start,
        poll_interval: config.source.poll_interval,
    })
}

/// Takes the lock of a consumer group on embedded topics, held until the returned file is
/// dropped. Embedded topics have no group coordinator to share partitions, so a second
/// process on the same group would process every event again.
fn lock_group(dir: &Path, group: &str) -> anyhow::Result<std::fs::File> {
    let path = dir.join(format!("weir-group-{group}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open the group lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "group `{group}` on the embedded topics in {} is already consumed by another \
             `weir run`; embedded topics do not share partitions between processes, so stop \
             the other one, use another group, or use Kafka to scale out",
            dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Tells whether two paths name the same file or folder, comparing them as written when
/// either cannot be resolved.
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Runs the pipelines of `file` until a shutdown signal (SIGINT or SIGTERM), or, with
/// [`RunOptions::stop_at_end`], until every partition is processed to its end.
///
/// Returns each pipeline's counters. A partition worker stops between batches, and every
/// batch is committed whole or not at all, so a shutdown never leaves an event half done.
pub async fn run_pipelines(
    engine: PluginEngine,
    file: PipelineFile,
    options: RunOptions,
) -> anyhow::Result<Vec<(String, StatsSnapshot)>> {
    let selected: Vec<&PipelineConfig> = file
        .pipelines
        .iter()
        .filter(|pipeline| {
            options
                .pipeline
                .as_ref()
                .is_none_or(|name| &pipeline.name.value == name)
        })
        .collect();
    if selected.is_empty() {
        let names: Vec<&str> = file
            .pipelines
            .iter()
            .map(|p| p.name.value.as_str())
            .collect();
        bail!(
            "no pipeline named `{}` in the file; its pipelines are: {}",
            options.pipeline.as_deref().unwrap_or_default(),
            names.join(", ")
        );
    }

    let status = Arc::new(StatusBoard::default());
    let mut control = PipelineControl::new(engine.clone(), options.file.clone());
    let mut prepared = Vec::new();
    let mut group_locks = Vec::new();
    let mut kafka_pipelines = Vec::new();
    for config in selected {
        let engine = engine.clone();
        let config_name = config.name.value.clone();
        // Loading compiles plugins and opens databases, which blocks.
        if config.source.kind.value == SourceKind::Kafka {
            let steps = tokio::task::block_in_place(|| prepare_steps(&engine, config))
                .with_context(|| format!("cannot start pipeline `{config_name}`"))?;
            let settings = worker_settings(config, &status);
            status.set_steps(&config_name, steps.clone());
            control.add_pipeline(config, steps.clone());
            kafka_pipelines.push((config, steps, settings));
            continue;
        }
        let pipeline = tokio::task::block_in_place(|| prepare_pipeline(&engine, config, &status))
            .with_context(|| format!("cannot start pipeline `{config_name}`"))?;
        status.set_steps(&config_name, pipeline.steps.clone());
        control.add_pipeline(config, pipeline.steps.clone());
        group_locks.push(lock_group(&pipeline.source_dir, &pipeline.settings.group)?);
        prepared.push(pipeline);
    }
    let control = Arc::new(control);

    let (shutdown_sender, shutdown) = watch::channel(false);
    tokio::spawn(forward_shutdown_signals(shutdown_sender));
    if let Some(admin) = options.admin.clone() {
        crate::admin::serve(
            admin,
            Arc::clone(&status),
            Arc::clone(&control),
            shutdown.clone(),
        )
        .await?;
    }
    // Dropping the watcher stops it, so it lives until the pipelines stop.
    let _watcher = if options.watch {
        Some(super::watch::watch_files(Arc::clone(&control))?)
    } else {
        None
    };

    // Kafka pipelines run on threads of their own, because librdkafka's rebalance callbacks
    // block while partitions drain.
    let kafka_shutdown = Arc::new(AtomicBool::new(false));
    let mut kafka_runs = Vec::new();
    for (config, steps, settings) in kafka_pipelines {
        let name = config.name.value.clone();
        let stats = Arc::clone(&settings.stats);
        let stop = Arc::clone(&kafka_shutdown);
        let config = config.clone();
        let stop_at_end = options.stop_at_end;
        let run = tokio::task::spawn_blocking(move || {
            crate::kafka::run_kafka_pipeline(&config, steps, settings, stop_at_end, stop)
        });
        kafka_runs.push((name, stats, run));
    }
    let mut signal = shutdown.clone();
    let kafka_stop = Arc::clone(&kafka_shutdown);
    tokio::spawn(async move {
        let _ = signal.changed().await;
        kafka_stop.store(true, Ordering::Release);
    });

    let permits = Arc::new(Semaphore::new(
        std::thread::available_parallelism().map_or(2, |count| count.get()),
    ));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for pipeline in &prepared {
        for (topic, partition) in &pipeline.partitions {
            let worker = tokio::task::block_in_place(|| open_worker(pipeline, topic, *partition))?;
            tracing::info!(
                pipeline = %pipeline.name,
                topic = %topic,
                partition,
                offset = worker.next_offset(),
                "partition worker started"
            );
            workers.spawn(run_worker(
                worker,
                Arc::clone(&permits),
                shutdown.clone(),
                options.stop_at_end,
                pipeline.poll_interval,
            ));
        }
    }

    let reporter = tokio::spawn(report_progress(
        prepared
            .iter()
            .map(|pipeline| {
                (
                    Arc::clone(&pipeline.name),
                    Arc::clone(&pipeline.settings.stats),
                )
            })
            .collect(),
    ));
    let mut paused = Vec::new();
    while let Some(result) = workers.join_next().await {
        paused.extend(result.context("a partition worker panicked")?);
    }
    let mut totals = Vec::new();
    for (name, _, run) in kafka_runs {
        let stats = run
            .await
            .context("a Kafka pipeline thread panicked")?
            .with_context(|| format!("pipeline `{name}` failed"))?;
        tracing::info!(
            pipeline = %name,
            events = stats.events,
            outputs = stats.outputs,
            dead_lettered = stats.dead_lettered,
            skipped = stats.skipped,
            retries = stats.retries,
            "pipeline stopped"
        );
        totals.push((name, stats));
    }
    reporter.abort();

    let elapsed = started.elapsed();
    for pipeline in &prepared {
        let stats = pipeline.settings.stats.snapshot();
        tracing::info!(
            pipeline = %pipeline.name,
            events = stats.events,
            outputs = stats.outputs,
            dead_lettered = stats.dead_lettered,
            skipped = stats.skipped,
            retries = stats.retries,
            elapsed_ms = elapsed.as_millis() as u64,
            events_per_second = (stats.events as f64 / elapsed.as_secs_f64().max(1e-9)) as u64,
            "pipeline stopped"
        );
        totals.push((pipeline.name.to_string(), stats));
    }

    if !paused.is_empty() {
        let places: Vec<String> = paused
            .iter()
            .map(|p| format!("{}/{} at offset {}", p.topic, p.partition, p.offset))
            .collect();
        bail!(
            "stopped with paused partitions: {}; an event there failed for good and the pipeline \
             has no dead-letter topic, so nothing after it was committed (set \
             failure.dead_letter_topic, or fix the plugin and run again)",
            places.join(", ")
        );
    }
    Ok(totals)
}

fn open_worker(
    pipeline: &PreparedPipeline,
    topic: &str,
    partition: u32,
) -> anyhow::Result<PartitionWorker> {
    let source = LocalStore::open(&pipeline.source_dir)?;
    let sink = match &pipeline.sink_dir {
        Some(dir) => Some(LocalStore::open(dir)?),
        None => None,
    };

    let committed = source.committed_offset(&pipeline.settings.group, topic, partition)?;
    let next_offset = match (committed, pipeline.start) {
        (Some(offset), _) => offset,
        (None, StartPosition::Earliest) => 0,
        (None, StartPosition::Latest) => source.end_offset(topic, partition)?,
    };

    let chain = Chain::new(&pipeline.steps, Some(partition))?;
    Ok(PartitionWorker::new(
        Arc::clone(&pipeline.settings),
        topic.to_string(),
        partition,
        source,
        sink,
        chain,
        next_offset,
    ))
}

/// Runs one partition worker's batches on the blocking thread pool, at most as many at once
/// as there are permits, until shutdown or, with `stop_at_end`, until the partition is idle.
async fn run_worker(
    mut worker: PartitionWorker,
    permits: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    stop_at_end: bool,
    poll_interval: Duration,
) -> Option<PausedPartition> {
    let mut store_failures = 0u32;
    let mut paused = None;
    loop {
        if *shutdown.borrow() {
            break;
        }

        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let runtime = tokio::runtime::Handle::current();
        let slots = Arc::clone(&permits);
        let joined = tokio::task::spawn_blocking(move || {
            // A retry's backoff gives the worker slot up, so that a partition retrying a
            // poison event does not hold back the others.
            let mut permit = Some(permit);
            let mut wait = |duration: Duration| {
                drop(permit.take());
                std::thread::sleep(duration);
                permit = runtime.block_on(Arc::clone(&slots).acquire_owned()).ok();
            };
            let progress = worker.run_batch(&mut wait);
            (worker, progress)
        })
        .await;
        let progress;
        (worker, progress) = match joined {
            Ok(pair) => pair,
            Err(error) => {
                tracing::error!(%error, "partition worker thread panicked; its partition stops");
                return None;
            }
        };

        let wait = match progress {
            Ok(BatchProgress::Committed { .. }) => {
                store_failures = 0;
                continue;
            }
            Ok(BatchProgress::Idle) if stop_at_end => break,
            Ok(BatchProgress::Idle) => poll_interval,
            Ok(BatchProgress::Paused { offset, .. }) if stop_at_end => {
                // Waiting for the paused event would never reach the end.
                paused = Some(PausedPartition {
                    topic: worker.topic().to_string(),
                    partition: worker.partition(),
                    offset,
                });
                break;
            }
            Ok(BatchProgress::Paused { retry_in, .. }) => retry_in,
            Err(error) => {
                store_failures += 1;
                let wait = Duration::from_secs(1 << store_failures.min(5));
                tracing::error!(
                    topic = worker.topic(),
                    partition = worker.partition(),
                    offset = worker.next_offset(),
                    %error,
                    retry_in_ms = wait.as_millis() as u64,
                    "cannot read or commit the partition; nothing past the committed offset is lost, retrying"
                );
                wait
            }
        };

        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }

    tracing::info!(
        topic = worker.topic(),
        partition = worker.partition(),
        offset = worker.next_offset(),
        "partition worker stopped"
    );
    paused
}

/// A partition that `--stop-at-end` left paused at an event that failed for good.
struct PausedPartition {
    topic: String,
    partition: u32,
    offset: i64,
}

async fn forward_shutdown_signals(sender: watch::Sender<bool>) {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the pipeline");
                None
            }
        };
    let terminated = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };

    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; finishing the current batches"),
        _ = terminated => tracing::info!("SIGTERM received; finishing the current batches"),
    }
    let _ = sender.send(true);
}

async fn report_progress(pipelines: Vec<(Arc<str>, Arc<PipelineStats>)>) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    interval.tick().await;
    let mut last: Vec<StatsSnapshot> = vec![StatsSnapshot::default(); pipelines.len()];
    loop {
        interval.tick().await;
        for ((name, stats), last) in pipelines.iter().zip(last.iter_mut()) {
            let now = stats.snapshot();
            if now != *last {
                tracing::info!(
                    pipeline = %name,
                    events = now.events,
                    outputs = now.outputs,
                    dead_lettered = now.dead_lettered,
                    events_per_second = (now.events - last.events) / 5,
                    "progress"
                );
                *last = now;
            }
        }
    }
}
