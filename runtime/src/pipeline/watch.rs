//! Watches plugin files and the pipeline file, so that copying a new plugin version over the
//! old one swaps it, and saving the pipeline file reloads it.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::control::{PipelineControl, PluginSource};
use crate::sync::lock;

/// How long a file must stay unchanged before it is read, so that a file still being written
/// is not loaded half-done.
const SETTLE_TIME: Duration = Duration::from_millis(500);

/// A running watch; dropping it stops watching.
pub struct FileWatch {
    _folders: Arc<WatchedFolders>,
}

/// The watcher and the folders it watches. A reload can point a step at a plugin in a folder
/// not watched yet, so folders are added while running.
struct WatchedFolders {
    debouncer: Mutex<Debouncer<RecommendedWatcher>>,
    folders: Mutex<BTreeSet<PathBuf>>,
    stamps: Arc<FileStamps>,
}

/// The state of a file as the file system reports it. Reading the file leaves the stamp
/// unchanged, while writing it or renaming another file over it changes the stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path)
            .ok()
            .filter(|metadata| metadata.is_file())?;
        Some(Self {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            inode: metadata.ino(),
        })
    }
}

/// The last seen stamp of each watched file. The watcher also reports files that were only
/// read, and a reload reads its file, so without stamps each reload would start the next one.
#[derive(Default)]
struct FileStamps(Mutex<HashMap<PathBuf, Stamp>>);

impl FileStamps {
    /// Records the current stamp of `path` and returns whether it differs from the last one.
    fn changed(&self, path: &Path) -> bool {
        let Some(stamp) = Stamp::of(path) else {
            return false;
        };
        lock(&self.0).insert(path.to_path_buf(), stamp) != Some(stamp)
    }
}

impl WatchedFolders {
    /// Watches the folder of each file in `files` that is not watched yet, and records the
    /// files' stamps, so that only a later change of a file counts.
    fn add(&self, files: impl IntoIterator<Item = PathBuf>) -> anyhow::Result<()> {
        let mut debouncer = lock(&self.debouncer);
        let mut folders = lock(&self.folders);
        for file in files {
            let absolute = std::fs::canonicalize(&file).unwrap_or(file);
            self.stamps.changed(&absolute);
            let folder = folder_of(&absolute);
            if folders.contains(&folder) {
                continue;
            }
            debouncer
                .watcher()
                .watch(&folder, RecursiveMode::NonRecursive)
                .map_err(|error| {
                    anyhow::anyhow!(
                        "cannot watch {} for new plugin versions: {error}",
                        folder.display()
                    )
                })?;
            tracing::info!(folder = %folder.display(), "watching for changed plugin and pipeline files");
            folders.insert(folder);
        }
        Ok(())
    }
}

/// Starts watching every plugin file of `control`, and its pipeline file. After a reload, the
/// folders of plugins that the reload named are watched too.
///
/// Folders are watched rather than files, because deploy tools often replace a file by
/// renaming a new one over it, which ends a watch on the file itself.
pub fn watch_files(control: Arc<PipelineControl>) -> anyhow::Result<FileWatch> {
    let stamps = Arc::new(FileStamps::default());
    let handler_control = Arc::clone(&control);
    let handler_stamps = Arc::clone(&stamps);
    let debouncer = new_debouncer(SETTLE_TIME, move |result: DebounceEventResult| {
        handle_events(&handler_control, &handler_stamps, result)
    })?;
    let watched = Arc::new(WatchedFolders {
        debouncer: Mutex::new(debouncer),
        folders: Mutex::new(BTreeSet::new()),
        stamps,
    });

    let mut files = control.plugin_files();
    files.extend(control.file().map(Path::to_path_buf));
    watched.add(files)?;

    // A weak reference, because the watcher's handler holds the controls: a strong one would
    // keep both alive after the watch is dropped.
    let listener_folders = Arc::downgrade(&watched);
    control.on_reload(Box::new(move |control| {
        let Some(folders) = listener_folders.upgrade() else {
            return;
        };
        if let Err(error) = folders.add(control.plugin_files()) {
            tracing::error!(%error, "a reloaded step's plugin folder is not watched; changes to its file need `weir plugin swap`");
        }
    }));

    Ok(FileWatch { _folders: watched })
}

/// Returns the folder of `file`, or `.` for a bare file name.
fn folder_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Swaps the steps whose plugin file changed and reloads a changed pipeline file. Runs on the
/// watcher's thread, so loading blocks only further file events.
fn handle_events(control: &PipelineControl, stamps: &FileStamps, result: DebounceEventResult) {
    let events = match result {
        Ok(events) => events,
        Err(error) => {
            tracing::error!(%error, "file watch failed; changed files may go unnoticed");
            return;
        }
    };

    let changed: BTreeSet<PathBuf> = events.into_iter().map(|event| event.path).collect();
    for path in changed {
        let is_pipeline_file = control
            .file()
            .is_some_and(|file| std::fs::canonicalize(file).ok().as_deref() == Some(&path));
        let steps = control.steps_using(&path);
        // Other files in a watched folder are skipped before their stamp is taken, so that
        // the stamps cover only the files in use.
        if (!is_pipeline_file && steps.is_empty()) || !stamps.changed(&path) {
            continue;
        }
        if is_pipeline_file {
            tracing::info!(file = %path.display(), "pipeline file changed; reloading it");
            // A failed reload is logged and recorded on the step by the control itself.
            let _ = control.reload();
            continue;
        }

        for (pipeline, step) in steps {
            tracing::info!(%pipeline, %step, file = %path.display(), "plugin file changed; swapping it in");
            let _ = control.swap(&pipeline, &step, PluginSource::File(path.clone()));
        }
    }
}
