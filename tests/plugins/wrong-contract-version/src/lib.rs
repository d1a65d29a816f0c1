//! A plugin that implements `weir:plugin@0.2.0`, a version this runtime does not support.
//! Its handler has the same shape as 0.1.0, so only the version differs.

wit_bindgen::generate!({
    inline: r#"
        package weir:plugin@0.2.0;

        interface handler {
            record header { name: string, value: option<list<u8>> }
            record event {
                topic: string,
                partition: u32,
                offset: s64,
                timestamp-ms: option<s64>,
                key: option<list<u8>>,
                value: option<list<u8>>,
                headers: list<header>,
            }
            record output {
                topic: option<string>,
                key: option<list<u8>>,
                value: option<list<u8>>,
                headers: list<header>,
            }
            variant failure { retry(string), reject(string) }
            record config-entry { key: string, value: string }
            init: func(config: list<config-entry>) -> result<_, string>;
            process: func(events: list<event>) -> list<result<list<output>, failure>>;
        }

        world plugin {
            export handler;
        }
    "#,
});

use exports::weir::plugin::handler::{ConfigEntry, Event, Failure, Guest, Output};

struct FutureVersion;

impl Guest for FutureVersion {
    fn init(_config: Vec<ConfigEntry>) -> Result<(), String> {
        Ok(())
    }

    fn process(events: Vec<Event>) -> Vec<Result<Vec<Output>, Failure>> {
        events.into_iter().map(|_| Ok(Vec::new())).collect()
    }
}

export!(FutureVersion);
