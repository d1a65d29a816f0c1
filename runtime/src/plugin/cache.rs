use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiled components on disk, keyed by the component's SHA-256 digest and by the engine's
/// settings, so a restart or a second process does not compile the same plugin again.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        // Wasmtime's compatibility hash covers its version and every setting that changes the
        // compiled code; DefaultHasher is stable within one build of Weir, which is enough
        // for a cache that is only ever a shortcut.
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        Self { dir, engine_key }
    }

    fn path_for(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Returns the cached compilation of the component with `digest`, if there is a usable one.
    pub(crate) fn get(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path_for(digest);
        if !path.is_file() {
            return None;
        }

        // SAFETY: the file was written by `put` below from `Component::serialize` of this
        // engine configuration, in a folder that only Weir writes to. Deserialization checks
        // the wasmtime version and settings and fails, rather than misbehaving, on a mismatch.
        let loaded = unsafe { Component::deserialize_file(engine, &path) };
        match loaded {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "ignoring unusable cached component");
                None
            }
        }
    }

    /// Stores the compilation of `component`. A failure only costs a compilation later.
    pub(crate) fn put(&self, digest: &str, component: &Component) {
        let path = self.path_for(digest);
        let result = component.serialize().and_then(|bytes| {
            std::fs::create_dir_all(&self.dir)?;
            // Write then rename, so a concurrent reader never sees half a file.
            let temporary = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, &path)?;
            Ok(())
        });
        if let Err(error) = result {
            tracing::warn!(path = %path.display(), %error, "cannot cache compiled component");
        }
    }
}
