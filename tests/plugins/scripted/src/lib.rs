//! Passes every event on unchanged, and misbehaves as its config sets:
//!
//! - `fail_offset` and `fail_times`: the event at that offset (in any partition) fails with
//!   `retry` that many times in a row, then succeeds.
//! - `sleep_ms`: each batch call sleeps that long first, to stand for a slow plugin; with
//!   `sleep_offset`, only a batch that holds the event at that offset sleeps.
//!
//! It also misbehaves as an event's value says, so that one test stream can hold good events
//! and poison ones side by side. A value that is none of these passes on unchanged:
//!
//! - `loop`: never returns.
//! - `bomb`: allocates memory until the instance runs out.
//! - `panic`: panics, which traps the instance.
//! - `reject`: fails with `reject`.
//! - `retry`: fails with `retry`, every time.
//! - `fanout N`: returns N copies of the event.
//! - `route TOPIC`: returns the event routed to TOPIC.
//! - `pad N`: returns the event with a value of N bytes.
//! - `read PATH`: returns the contents of the file at PATH, or rejects with the error.
//! - `write PATH`: writes the event's key to the file at PATH, or rejects with the error.
//! - `env NAME`: returns the value of the environment variable NAME, or rejects.
//! - `print TEXT`: writes TEXT to stdout and to stderr, then passes the event on.

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
        if let Some(outputs) = command(&event) {
            return outputs;
        }
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

/// Carries out the command in the event's value, or returns `None` when it holds none.
fn command(event: &Event) -> Option<Result<Vec<Output>, Failure>> {
    let text = std::str::from_utf8(event.value.as_deref()?).ok()?;
    let (name, argument) = text.split_once(' ').unwrap_or((text, ""));
    let result = match name {
        "loop" => {
            let mut counter = 0u64;
            loop {
                counter = std::hint::black_box(counter.wrapping_add(1));
            }
        }
        "bomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "panic" => panic!("scripted panic at offset {}", event.offset),
        "retry" => Err(Failure::Retry(format!(
            "scripted retry at offset {}",
            event.offset
        ))),
        "reject" => Err(Failure::Reject(format!(
            "scripted reject at offset {}",
            event.offset
        ))),
        "fanout" => {
            let count: usize = argument.parse().ok()?;
            Ok(vec![Output::from_event(event); count])
        }
        "route" => Ok(vec![Output::from_event(event).with_topic(argument)]),
        "pad" => {
            let size: usize = argument.parse().ok()?;
            Ok(vec![Output::from_event(event).with_value(vec![b'x'; size])])
        }
        "read" => match std::fs::read(argument) {
            Ok(contents) => Ok(vec![Output::from_event(event).with_value(contents)]),
            Err(error) => Err(Failure::Reject(format!("cannot read {argument}: {error}"))),
        },
        "write" => {
            let key = event.key.clone().unwrap_or_default();
            match std::fs::write(argument, key) {
                Ok(()) => Ok(vec![Output::from_event(event)]),
                Err(error) => Err(Failure::Reject(format!("cannot write {argument}: {error}"))),
            }
        }
        "env" => match std::env::var(argument) {
            Ok(value) => Ok(vec![Output::from_event(event).with_value(value)]),
            Err(error) => Err(Failure::Reject(format!("cannot read ${argument}: {error}"))),
        },
        "print" => {
            println!("{argument}");
            eprintln!("{argument}");
            Ok(vec![Output::from_event(event)])
        }
        _ => return None,
    };
    Some(result)
}

weir_plugin::export_plugin!(Scripted);
