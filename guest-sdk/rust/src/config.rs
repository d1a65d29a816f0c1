use std::collections::BTreeMap;

use crate::ConfigEntry;

/// The step's `config` map, as passed to [`Plugin::init`](crate::Plugin::init).
///
/// Scalar values arrive as their text (`true`, `42`, `orders`) and nested values as JSON
/// text. When the host sends a key more than once, the last value wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    entries: BTreeMap<String, String>,
}

impl Config {
    /// Returns the value of `key`, or `None` when the key is absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Returns the value of `key`, or an error message naming the missing key that
    /// [`Plugin::init`](crate::Plugin::init) can return as it is.
    pub fn require(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("missing required config key `{key}`"))
    }

    /// Iterates over the keys in lexicographic order, for example to reject unknown keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Returns the number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns `true` when the step has no configuration.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl From<Vec<ConfigEntry>> for Config {
    fn from(entries: Vec<ConfigEntry>) -> Self {
        entries
            .into_iter()
            .map(|entry| (entry.key, entry.value))
            .collect()
    }
}

/// Builds a configuration from key-value pairs, as plugin unit tests do:
/// `Config::from_iter([("mask", "***")])`.
impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Config {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let entries = pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        Config { entries }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str) -> ConfigEntry {
        ConfigEntry {
            key: key.to_string(),
            value: value.to_string(),
        }
    }

    #[test]
    fn get_returns_value_or_none() {
        let config = Config::from(vec![entry("mask", "***")]);

        assert_eq!(config.get("mask"), Some("***"));
        assert_eq!(config.get("other"), None);
    }

    #[test]
    fn require_names_missing_key() {
        let config = Config::default();

        let error = config.require("lines_topic").unwrap_err();

        assert!(error.contains("`lines_topic`"), "{error}");
    }

    #[test]
    fn keys_are_sorted() {
        let config = Config::from(vec![entry("b", "2"), entry("a", "1")]);

        assert_eq!(config.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(config.len(), 2);
    }

    #[test]
    fn duplicate_key_keeps_last_value() {
        let config = Config::from(vec![entry("mask", "first"), entry("mask", "second")]);

        assert_eq!(config.get("mask"), Some("second"));
        assert_eq!(config.len(), 1);
    }
}
