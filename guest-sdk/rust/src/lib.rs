//! Rust SDK for writing Weir plugins.
//!
//! A Weir plugin is a WebAssembly component that implements the world `plugin` of the
//! package `weir:plugin@0.1.0` (see `guest-sdk/wit/plugin.wit`). This crate hides the
//! generated bindings behind the [`Plugin`] trait and the [`export_plugin!`] macro:
//!
//! ```
//! use weir_plugin::{Config, Event, Failure, Output, Plugin};
//!
//! struct Retag {
//!     topic: String,
//! }
//!
//! impl Plugin for Retag {
//!     fn init(config: Config) -> Result<Self, String> {
//!         let topic = config.require("topic")?.to_string();
//!         Ok(Retag { topic })
//!     }
//!
//!     fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
//!         if event.value.is_none() {
//!             return Err(Failure::Reject("tombstones are not accepted".to_string()));
//!         }
//!         Ok(vec![Output::from_event(&event).with_topic(&self.topic)])
//!     }
//! }
//!
//! weir_plugin::export_plugin!(Retag);
//! ```
//!
//! Build the plugin crate as a `cdylib` for the `wasm32-wasip2` target, and the output is a
//! component that Weir loads. The crate also compiles for the host target, so a plugin's
//! unit tests can call its [`Plugin`] methods directly.

mod config;
pub mod log;
mod output;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "weir_plugin::bindings",
        additional_derives: [PartialEq, Eq],
    });
}

pub use config::Config;

/// A record header: a name and an optional value. Kafka allows a header without a value.
pub use bindings::exports::weir::plugin::handler::Header;

/// One event read from a source partition, as the host passes it to
/// [`Plugin::process`]. A tombstone has `value: None`.
pub use bindings::exports::weir::plugin::handler::Event;

/// One event produced by a plugin. `topic: None` sends it to the step's default target:
/// the next step, or the sink's topic. See the builder methods on this type.
pub use bindings::exports::weir::plugin::handler::Output;

/// The reason an event could not be processed. The host retries an event that fails with
/// `Retry`, and sends an event that fails with `Reject` to the dead-letter topic or pauses
/// the partition, as the pipeline configures.
pub use bindings::exports::weir::plugin::handler::Failure;

/// One entry of the step's `config` map as the host sends it. Scalars arrive as their
/// text and nested values as JSON. Plugins read these through [`Config`].
pub use bindings::exports::weir::plugin::handler::ConfigEntry;

/// The behaviour of a plugin. [`export_plugin!`] connects an implementation to the
/// component's exports.
///
/// The host calls [`init`](Plugin::init) once per component instance, and then
/// [`process_batch`](Plugin::process_batch) with batches of events in offset order. A panic
/// inside any method traps the component instance, so the host's call returns an error.
pub trait Plugin: Sized + 'static {
    /// Builds the plugin from the step's configuration.
    ///
    /// An `Err` fails the load or the swap of the plugin, and the host reports the message,
    /// so the message should name the configuration key at fault.
    fn init(config: Config) -> Result<Self, String>;

    /// Processes one event.
    ///
    /// `Ok` with an empty vector filters the event out, and several outputs fan it out.
    /// `Err(Failure::Retry)` makes the host retry the event under the pipeline's retry policy,
    /// and `Err(Failure::Reject)` marks it as a poison event.
    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure>;

    /// Processes a batch of events in offset order.
    ///
    /// The result must contain exactly one entry per event, in the order of `events`. The
    /// default implementation calls [`process`](Plugin::process) on each event in turn.
    /// Override it when a plugin can share work across a batch.
    ///
    /// # Panics
    ///
    /// The export glue panics, and so traps the component, when an override returns a
    /// different number of results than it received events.
    fn process_batch(&mut self, events: Vec<Event>) -> Vec<Result<Vec<Output>, Failure>> {
        events
            .into_iter()
            .map(|event| self.process(event))
            .collect()
    }
}

/// Exports a [`Plugin`] implementation as the component's `handler` interface.
///
/// Invoke it once per plugin crate, at module level, with the plugin's type name. The
/// macro keeps the single instance of the plugin in a thread-local cell, which is enough
/// because a component instance runs on one thread:
///
/// - `init` builds a new instance from the configuration and replaces the stored one. When
///   [`Plugin::init`] fails, the previous instance, if any, stays in place.
/// - `process` passes the batch to [`Plugin::process_batch`]. Before a successful `init`,
///   every event fails with `Failure::Reject("plugin not initialised")`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            ::std::thread_local! {
                static WEIR_PLUGIN_INSTANCE: ::std::cell::RefCell<::std::option::Option<$plugin>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
            struct WeirPluginExport;

            impl $crate::bindings::exports::weir::plugin::handler::Guest for WeirPluginExport {
                fn init(
                    config: ::std::vec::Vec<$crate::ConfigEntry>,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::__private::init::<$plugin>(&WEIR_PLUGIN_INSTANCE, config)
                }

                fn process(
                    events: ::std::vec::Vec<$crate::Event>,
                ) -> ::std::vec::Vec<
                    ::std::result::Result<::std::vec::Vec<$crate::Output>, $crate::Failure>,
                > {
                    $crate::__private::process::<$plugin>(&WEIR_PLUGIN_INSTANCE, events)
                }
            }

            // Only wasm32 gets the export symbols: their names, such as
            // `weir:plugin/handler@0.1.0#init`, are not valid in a host linker's version
            // script, which would fail the host build of a `cdylib` plugin crate.
            #[cfg(target_arch = "wasm32")]
    $crate::bindings::export!(WeirPluginExport with_types_in $crate::bindings);
        };
    };
}

/// Functions that [`export_plugin!`] expands to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    use crate::{Config, ConfigEntry, Event, Failure, Output, Plugin};

    /// The reason given for every event processed before a successful `init`.
    pub const NOT_INITIALISED: &str = "plugin not initialised";

    pub fn init<P: Plugin>(
        instance: &'static LocalKey<RefCell<Option<P>>>,
        entries: Vec<ConfigEntry>,
    ) -> Result<(), String> {
        let plugin = P::init(Config::from(entries))?;
        instance.with_borrow_mut(|slot| *slot = Some(plugin));
        Ok(())
    }

    pub fn process<P: Plugin>(
        instance: &'static LocalKey<RefCell<Option<P>>>,
        events: Vec<Event>,
    ) -> Vec<Result<Vec<Output>, Failure>> {
        instance.with_borrow_mut(|slot| {
            let Some(plugin) = slot.as_mut() else {
                return events
                    .iter()
                    .map(|_| Err(Failure::Reject(NOT_INITIALISED.to_string())))
                    .collect();
            };

            let event_count = events.len();
            let results = plugin.process_batch(events);
            assert_eq!(
                results.len(),
                event_count,
                "Plugin::process_batch returned {} results for {} events; it must return one per event",
                results.len(),
                event_count,
            );
            results
        })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::__private::{NOT_INITIALISED, init, process};
    use super::*;

    /// Emits one output per event whose value is the configured `label`.
    struct Label {
        label: String,
    }

    impl Plugin for Label {
        fn init(config: Config) -> Result<Self, String> {
            let label = config.require("label")?.to_string();
            Ok(Label { label })
        }

        fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
            Ok(vec![Output::from(event).with_value(self.label.as_str())])
        }
    }

    /// Returns no results at all, which breaks the one-result-per-event contract.
    struct Silent;

    impl Plugin for Silent {
        fn init(_config: Config) -> Result<Self, String> {
            Ok(Silent)
        }

        fn process(&mut self, _event: Event) -> Result<Vec<Output>, Failure> {
            Ok(Vec::new())
        }

        fn process_batch(&mut self, _events: Vec<Event>) -> Vec<Result<Vec<Output>, Failure>> {
            Vec::new()
        }
    }

    thread_local! {
        static LABEL: RefCell<Option<Label>> = const { RefCell::new(None) };
        static SILENT: RefCell<Option<Silent>> = const { RefCell::new(None) };
    }

    fn event(offset: i64) -> Event {
        Event {
            topic: "orders".to_string(),
            partition: 0,
            offset,
            timestamp_ms: None,
            key: None,
            value: Some(b"{}".to_vec()),
            headers: Vec::new(),
        }
    }

    fn label_config(label: &str) -> Vec<ConfigEntry> {
        vec![ConfigEntry {
            key: "label".to_string(),
            value: label.to_string(),
        }]
    }

    fn output_values(results: Vec<Result<Vec<Output>, Failure>>) -> Vec<Vec<u8>> {
        results
            .into_iter()
            .map(|result| result.unwrap().remove(0).value.unwrap())
            .collect()
    }

    #[test]
    fn process_before_init_rejects_each_event() {
        let results = process(&LABEL, vec![event(0), event(1)]);

        let expected = Err(Failure::Reject(NOT_INITIALISED.to_string()));
        assert_eq!(results, vec![expected.clone(), expected]);
    }

    #[test]
    fn init_replaces_instance() {
        init(&LABEL, label_config("first")).unwrap();
        init(&LABEL, label_config("second")).unwrap();

        let values = output_values(process(&LABEL, vec![event(0), event(1)]));

        assert_eq!(values, vec![b"second".to_vec(), b"second".to_vec()]);
    }

    #[test]
    fn failed_init_keeps_previous_instance() {
        init(&LABEL, label_config("first")).unwrap();

        let error = init(&LABEL, Vec::new()).unwrap_err();

        assert!(error.contains("`label`"), "{error}");
        let values = output_values(process(&LABEL, vec![event(0)]));
        assert_eq!(values, vec![b"first".to_vec()]);
    }

    #[test]
    #[should_panic(expected = "returned 0 results for 1 events")]
    fn batch_result_count_is_checked() {
        init(&SILENT, Vec::new()).unwrap();

        process(&SILENT, vec![event(0)]);
    }
}
