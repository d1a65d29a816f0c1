//! Inspection of a plugin file: its interfaces and whether this runtime can load it, read
//! from the file without compiling or running it.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wit_component::DecodedWasm;

use super::contract::check_names;
use super::error::PluginError;
use super::loaded::check_header;

/// A plugin file's identity, interface and fitness for this runtime.
#[derive(Debug, Serialize)]
pub struct PluginReport {
    pub path: PathBuf,
    pub bytes: usize,
    /// Hex SHA-256 of the file, as in the `weir.plugin.digest` header and `weir status`.
    pub digest: String,
    /// Interfaces the component exports, with their versions.
    pub exports: Vec<String>,
    /// Interfaces the component imports, with their versions.
    pub imports: Vec<String>,
    /// The reason this runtime cannot load the component, or `None` when it can.
    pub problem: Option<String>,
}

/// A plugin file that could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("plugin file `{path}` is not a valid component: {message}")]
    Decode { path: PathBuf, message: String },
}

/// Reads the plugin file at `path` and reports its interfaces and whether they meet the
/// contract. A file that is not a component at all is an error.
pub fn inspect_plugin(path: &Path) -> Result<PluginReport, InspectError> {
    let bytes = std::fs::read(path).map_err(|source| PluginError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    check_header(path, &bytes)?;

    let decoded = wit_component::decode(&bytes).map_err(|error| InspectError::Decode {
        path: path.to_path_buf(),
        message: format!("{error:#}"),
    })?;
    let (exports, imports) = interface_names(&decoded);
    let problem = check_names(path, &exports, &imports)
        .err()
        .map(|error| error.to_string());

    Ok(PluginReport {
        path: path.to_path_buf(),
        bytes: bytes.len(),
        digest: hex::encode(Sha256::digest(&bytes)),
        exports,
        imports,
        problem,
    })
}

/// Returns the names of the exported and imported items of a decoded component: an
/// interface as `namespace:package/interface@version`, a bare function by its name.
fn interface_names(decoded: &DecodedWasm) -> (Vec<String>, Vec<String>) {
    let DecodedWasm::Component(resolve, world) = decoded else {
        return (Vec::new(), Vec::new());
    };
    let world = &resolve.worlds[*world];
    let name = |key: &wit_parser::WorldKey| resolve.name_world_key(key);
    let exports = world.exports.keys().map(name).collect();
    let imports = world
        .imports
        .iter()
        .filter(|(_, item)| !matches!(item, wit_parser::WorldItem::Type { .. }))
        .map(|(key, _)| name(key))
        .collect();
    (exports, imports)
}
