use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine};

use super::bindings::Plugin;
use super::cache::ComponentCache;
use super::error::PluginError;
use super::host::HostState;
use super::loaded::LoadedPlugin;

/// Period of the epoch clock that enforces call deadlines, so a deadline is rounded up to it.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Compiles plugin components and drives the clock behind their call deadlines.
///
/// One engine serves every pipeline of a process. Cloning is cheap and shares the engine.
#[derive(Clone)]
pub struct PluginEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Option<ComponentCache>,
    meters_fuel: bool,
}

impl PluginEngine {
    /// Creates an engine whose compiled components are cached in `cache_dir`, or not cached
    /// when it is `None`.
    ///
    /// With `meter_fuel`, compiled code counts the instructions it runs, so that steps may set
    /// a fuel limit. Metering slows every plugin down, so it is on only when a step sets a fuel limit.
    pub fn new(cache_dir: Option<PathBuf>, meter_fuel: bool) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(meter_fuel);
        // Compiled code is cached, so spend compile time for faster plugins.
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Plugin::add_to_linker::<_, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )?;

        let cache = cache_dir.map(|dir| ComponentCache::new(dir, &engine));
        let inner = Arc::new(EngineInner {
            engine,
            linker,
            cache,
            meters_fuel: meter_fuel,
        });
        start_epoch_clock(Arc::downgrade(&inner));

        Ok(Self { inner })
    }

    /// Returns the default cache folder: `$WEIR_CACHE_DIR`, else the user's cache folder.
    pub fn default_cache_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("WEIR_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("weir").join("components"));
        }
        std::env::var_os("HOME").map(|home| {
            PathBuf::from(home)
                .join(".cache")
                .join("weir")
                .join("components")
        })
    }

    /// Loads the component at `path`, compiling it unless the cache contains it, and checks it
    /// against the contract.
    pub fn load(&self, path: &Path) -> Result<Arc<LoadedPlugin>, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        LoadedPlugin::load(self, path, &bytes).map(Arc::new)
    }

    /// Tells whether plugins run with fuel metering, which a step's `fuel` limit needs.
    pub fn meters_fuel(&self) -> bool {
        self.inner.meters_fuel
    }

    /// Loads a component from `bytes`, such as an upload, naming it `path` in messages.
    pub fn load_bytes(&self, path: &Path, bytes: &[u8]) -> Result<Arc<LoadedPlugin>, PluginError> {
        LoadedPlugin::load(self, path, bytes).map(Arc::new)
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.inner.linker
    }

    pub(crate) fn cache(&self) -> Option<&ComponentCache> {
        self.inner.cache.as_ref()
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_clock(inner: Weak<EngineInner>) {
    let spawned = thread::Builder::new()
        .name("weir-epoch".into())
        .spawn(move || {
            loop {
                thread::sleep(EPOCH_TICK);
                match inner.upgrade() {
                    Some(inner) => inner.engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(error) = spawned {
        // Without the clock no deadline fires, so a looping plugin would hang its worker.
        panic!("cannot start the plugin deadline clock thread: {error}");
    }
}
