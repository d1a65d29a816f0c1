//! The bench's table: one row per side and run, then the medians and the ratios.

use std::time::Duration;

use crate::measure::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Weir,
    Native,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Weir => "weir",
            Side::Native => "native",
        }
    }
}

/// One side of one run.
pub struct Measurement {
    pub run: usize,
    pub side: Side,
    pub events: u64,
    pub usage: Usage,
    /// CPUs that the machine's processes used in the second before the side started.
    pub busy_before: f64,
    /// Time from subscribing to the end: for Weir, from its `subscribed` log line to its
    /// `pipeline stopped` line, and for the native loop, to the end of its final commit and
    /// flush.
    pub processing: Option<Duration>,
    /// Time from subscribing until the last input event was done: for Weir, to its log line
    /// that every assigned partition is processed to its end, and for the native loop, until
    /// every output was acknowledged. The rest of `processing` is shutting down.
    pub to_end: Option<Duration>,
    /// Records written to orders-clean, order-lines and the dead-letter topic.
    pub outputs: [u64; 3],
}

impl Measurement {
    fn events_per_second(&self) -> f64 {
        self.events as f64 / self.usage.wall.as_secs_f64()
    }

    fn processing_seconds(&self) -> f64 {
        self.processing
            .map_or(f64::NAN, |elapsed| elapsed.as_secs_f64())
    }

    fn to_end_seconds(&self) -> f64 {
        self.to_end
            .map_or(f64::NAN, |elapsed| elapsed.as_secs_f64())
    }

    fn rss_mib(&self) -> f64 {
        self.usage.max_rss_kib as f64 / 1024.0
    }
}

pub fn print_header() {
    println!(
        "{:<4} {:<7} {:>8} {:>9} {:>13} {:>9} {:>8} {:>13} {:>11} {:>12} {:>12} {:>9} {:>9} {:>8}",
        "run",
        "side",
        "wall s",
        "events/s",
        "processing s",
        "to end s",
        "CPU s",
        "peak RSS MiB",
        "busy before",
        "broker CPU s",
        "other CPU s",
        "clean",
        "lines",
        "dead"
    );
}

pub fn print_row(measurement: &Measurement) {
    println!(
        "{:<4} {:<7} {:>8.3} {:>9.0} {:>13.3} {:>9.3} {:>8.2} {:>13.1} {:>11.2} {:>12} {:>12.2} {:>9} {:>9} {:>8}",
        measurement.run,
        measurement.side.name(),
        measurement.usage.wall.as_secs_f64(),
        measurement.events_per_second(),
        measurement.processing_seconds(),
        measurement.to_end_seconds(),
        measurement.usage.cpu.as_secs_f64(),
        measurement.rss_mib(),
        measurement.busy_before,
        measurement
            .usage
            .broker_cpu
            .map_or("n/a".to_string(), |cpu| format!("{cpu:.2}")),
        measurement.usage.other_cpu,
        measurement.outputs[0],
        measurement.outputs[1],
        measurement.outputs[2],
    );
}

/// Returns the median of `values`: the middle value, or the mean of the two middle ones.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// The medians of one side's runs.
struct Medians {
    wall: f64,
    events_per_second: f64,
    processing: f64,
    to_end: f64,
    cpu: f64,
    rss_mib: f64,
}

fn medians(measurements: &[Measurement], side: Side) -> Medians {
    let of = |value: fn(&Measurement) -> f64| {
        median(
            measurements
                .iter()
                .filter(|measurement| measurement.side == side)
                .map(value)
                .collect(),
        )
    };
    Medians {
        wall: of(|m| m.usage.wall.as_secs_f64()),
        events_per_second: of(Measurement::events_per_second),
        processing: of(Measurement::processing_seconds),
        to_end: of(Measurement::to_end_seconds),
        cpu: of(|m| m.usage.cpu.as_secs_f64()),
        rss_mib: of(Measurement::rss_mib),
    }
}

pub fn print_medians(measurements: &[Measurement]) {
    let weir = medians(measurements, Side::Weir);
    let native = medians(measurements, Side::Native);
    println!();
    println!(
        "{:<7} {:>8} {:>9} {:>13} {:>9} {:>8} {:>13}",
        "median", "wall s", "events/s", "processing s", "to end s", "CPU s", "peak RSS MiB"
    );
    for (name, side) in [("weir", &weir), ("native", &native)] {
        println!(
            "{:<7} {:>8.3} {:>9.0} {:>13.3} {:>9.3} {:>8.2} {:>13.1}",
            name,
            side.wall,
            side.events_per_second,
            side.processing,
            side.to_end,
            side.cpu,
            side.rss_mib
        );
    }
    println!(
        "{:<7} {:>8.2} {:>9.2} {:>13.2} {:>9.2} {:>8.2} {:>13.2}",
        "ratio",
        weir.wall / native.wall,
        weir.events_per_second / native.events_per_second,
        weir.processing / native.processing,
        weir.to_end / native.to_end,
        weir.cpu / native.cpu,
        weir.rss_mib / native.rss_mib
    );
    println!("ratio: weir's median divided by the native baseline's median");
}
