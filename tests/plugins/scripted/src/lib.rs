//! Passes every event on unchanged, and misbehaves as its config sets:
//!
//! - `fail_offset` and `fail_times`: the event at that offset (in any partition) fails with
//!   `retry` that many times in a row, then succeeds.
//! - `sleep_ms`: each batch call sleeps that long first, to stand for a slow plugin; with
//!   `sleep_offset`, only a batch that holds the event at that offset sleeps.

// The export macro exists only on wasm32, so a host build (clippy) never uses the plugin.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use std::collections::HashMap;
use std::time::Duration;

use weir_plugin::{Config, Event, Failure, Output, Plugin};

struct Scripted {
    fail_offset: Option<i64>,
    fail_times: u32,
    sleep: Duration,
    sleep_offset: Option<i64>,
    failures: HashMap<(u32, i64), u32>,
}

fn parse<T: std::str::FromStr>(config: &Config, key: &str) -> Result<Option<T>, String> {
    config
        .get(key)
        .map(|text| {
            text.parse()
                .map_err(|_| format!("config `{key}` is not a number: {text}"))
        })
        .transpose()
}

impl Plugin for Scripted {
    fn init(config: Config) -> Result<Self, String> {
        for key in config.keys() {
            if !["fail_offset", "fail_times", "sleep_ms", "sleep_offset"].contains(&key) {
                return Err(format!("unknown config key `{key}`"));
            }
        }
        Ok(Self {
            fail_offset: parse(&config, "fail_offset")?,
            fail_times: parse(&config, "fail_times")?.unwrap_or(0),
            sleep: Duration::from_millis(parse(&config, "sleep_ms")?.unwrap_or(0)),
            sleep_offset: parse(&config, "sleep_offset")?,
            failures: HashMap::new(),
        })
    }

    fn process(&mut self, event: Event) -> Result<Vec<Output>, Failure> {
        if self.fail_offset == Some(event.offset) {
            let failures = self
                .failures
                .entry((event.partition, event.offset))
                .or_insert(0);
            if *failures < self.fail_times {
                *failures += 1;
                return Err(Failure::Retry(format!("scripted failure {failures}")));
            }
        }
        Ok(vec![Output::from(event)])
    }

    fn process_batch(&mut self, events: Vec<Event>) -> Vec<Result<Vec<Output>, Failure>> {
        let selected = match self.sleep_offset {
            Some(offset) => events.iter().any(|event| event.offset == offset),
            None => true,
        };
        if selected && !self.sleep.is_zero() {
            std::thread::sleep(self.sleep);
        }
        events
            .into_iter()
            .map(|event| self.process(event))
            .collect()
    }
}

weir_plugin::export_plugin!(Scripted);
