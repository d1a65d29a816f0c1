//! The version and shape of the contract a component must implement.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::PluginError;

/// Version of the `weir:plugin` package this runtime implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Interface every plugin exports, without its version.
pub const HANDLER_INTERFACE: &str = "weir:plugin/handler";

const LOG_INTERFACE: &str = "weir:plugin/log";

/// Checks that `component` exports the handler of a compatible contract version and imports
/// nothing beyond the log interface and WASI.
///
/// Runs before instantiation, so that a mismatch gets a message naming the versions instead of
/// the linker's report of a missing import or export.
pub fn check_contract(
    engine: &Engine,
    component: &Component,
    path: &Path,
) -> Result<(), PluginError> {
    let component_type = component.component_type();
    let exports: Vec<String> = component_type
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let imports: Vec<String> = component_type
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    check_names(path, &exports, &imports)
}

/// Checks a component's export and import names against the contract, as [`check_contract`]
/// describes.
pub(crate) fn check_names(
    path: &Path,
    exports: &[String],
    imports: &[String],
) -> Result<(), PluginError> {
    let handler = exports
        .iter()
        .find_map(|name| interface_version(name, HANDLER_INTERFACE));
    match handler {
        None => {
            let listed = if exports.is_empty() {
                "none".to_string()
            } else {
                exports.join(", ")
            };
            return Err(PluginError::WrongWorld {
                path: path.to_path_buf(),
                expected: format!("{HANDLER_INTERFACE}@{CONTRACT_VERSION}"),
                exports: listed,
            });
        }
        Some(version) => check_version(path, version)?,
    }

    for name in imports {
        if let Some(version) = interface_version(name, LOG_INTERFACE) {
            check_version(path, version)?;
        } else if !name.starts_with("wasi:") {
            return Err(PluginError::UnsupportedImport {
                path: path.to_path_buf(),
                import: name.to_string(),
            });
        }
    }

    Ok(())
}

/// Returns the version part of `name` when it names `interface`: `Some("")` when unversioned.
fn interface_version<'a>(name: &'a str, interface: &str) -> Option<&'a str> {
    let rest = name.strip_prefix(interface)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix('@')
}

/// Accepts versions that semver calls compatible with [`CONTRACT_VERSION`]: for a 0.x
/// package, the same major and minor number.
fn check_version(path: &Path, found: &str) -> Result<(), PluginError> {
    let supported = CONTRACT_VERSION;
    let compatible = match (major_minor(found), major_minor(supported)) {
        (Some(found), Some(supported)) => {
            found.0 == supported.0 && (found.0 != 0 || found.1 == supported.1)
        }
        _ => false,
    };

    if compatible {
        Ok(())
    } else {
        Err(PluginError::ContractVersion {
            path: path.to_path_buf(),
            found: if found.is_empty() {
                "an unversioned package".into()
            } else {
                found.into()
            },
            supported: supported.into(),
        })
    }
}

fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_version_splits_name() {
        assert_eq!(
            interface_version("weir:plugin/handler@0.1.0", HANDLER_INTERFACE),
            Some("0.1.0")
        );
        assert_eq!(
            interface_version("weir:plugin/handler", HANDLER_INTERFACE),
            Some("")
        );
        assert_eq!(
            interface_version("weir:plugin/handlers@0.1.0", HANDLER_INTERFACE),
            None
        );
        assert_eq!(
            interface_version("other:plugin/handler@0.1.0", HANDLER_INTERFACE),
            None
        );
    }

    #[test]
    fn version_check_follows_semver() {
        let path = Path::new("p.wasm");
        assert!(check_version(path, "0.1.0").is_ok());
        assert!(check_version(path, "0.1.7").is_ok());
        assert!(check_version(path, "0.2.0").is_err());
        assert!(check_version(path, "1.0.0").is_err());
        assert!(check_version(path, "").is_err());
    }
}
