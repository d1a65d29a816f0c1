use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::bindings::PluginPre;
use super::contract::check_contract;
use super::engine::PluginEngine;
use super::error::PluginError;
use super::host::HostState;

/// A compiled component that passed the contract check, ready to be instantiated many times.
pub struct LoadedPlugin {
    path: PathBuf,
    digest: String,
    engine: PluginEngine,
    pre: PluginPre<HostState>,
}

impl LoadedPlugin {
    pub(crate) fn load(
        engine: &PluginEngine,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Self, PluginError> {
        check_header(path, bytes)?;
        let digest = hex::encode(Sha256::digest(bytes));

        let cached = engine
            .cache()
            .and_then(|cache| cache.get(engine.engine(), &digest));
        let component = match cached {
            Some(component) => {
                tracing::debug!(plugin = %path.display(), %digest, "loaded compiled component from cache");
                component
            }
            None => {
                let started = std::time::Instant::now();
                let component = Component::new(engine.engine(), bytes).map_err(|error| {
                    PluginError::Compile {
                        path: path.to_path_buf(),
                        message: format!("{error:#}"),
                    }
                })?;
                tracing::info!(
                    plugin = %path.display(),
                    %digest,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "compiled plugin component"
                );
                if let Some(cache) = engine.cache() {
                    cache.put(&digest, &component);
                }
                component
            }
        };

        check_contract(engine.engine(), &component, path)?;

        let instantiate_error = |error: wasmtime::Error| PluginError::Instantiate {
            path: path.to_path_buf(),
            message: format!("{error:#}"),
        };
        let instance_pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(instantiate_error)?;
        let pre = PluginPre::new(instance_pre).map_err(instantiate_error)?;

        Ok(Self {
            path: path.to_path_buf(),
            digest,
            engine: engine.clone(),
            pre,
        })
    }

    /// Path the component was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hex SHA-256 of the component file; names this plugin version in logs and headers.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Returns the first 12 hex digits of [`Self::digest`], enough to tell versions apart in logs.
    pub fn short_digest(&self) -> &str {
        &self.digest[..12]
    }

    pub(crate) fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub(crate) fn pre(&self) -> &PluginPre<HostState> {
        &self.pre
    }
}

/// Tells a component from a core module or a file that is not WebAssembly at all, because the
/// compiler's own messages for those cases do not say what to do.
pub(crate) fn check_header(path: &Path, bytes: &[u8]) -> Result<(), PluginError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(PluginError::NotWasm {
            path: path.to_path_buf(),
        });
    }

    // The 16-bit word after the version is the layer: 0 for a core module, 1 for a component.
    let layer = u16::from_le_bytes([bytes[6], bytes[7]]);
    if layer == 0 {
        return Err(PluginError::CoreModule {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}
