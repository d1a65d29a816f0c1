//! `weir replay`: puts dead letters back on the topics their events came from.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::bail;
use weir::local::{LocalStore, NewRecord, Record, jsonl};

use super::topic::DataArgs;

/// Number of records read per query from an embedded topic.
const READ_CHUNK: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The dead-letter topic to read.
    dead_letter_topic: String,

    /// Write every record to this topic instead of the one named in its `weir.source.topic`
    /// header.
    #[arg(long)]
    to: Option<String>,

    /// Replay only this partition of the dead-letter topic.
    #[arg(long)]
    partition: Option<u32>,

    /// First offset to replay in each partition; the summary prints where to go on from.
    #[arg(long, default_value_t = 0)]
    from_offset: i64,

    /// Stop after this many records in all.
    #[arg(long)]
    max: Option<usize>,

    /// Print the records that would be written, as JSON lines, and write nothing.
    #[arg(long)]
    dry_run: bool,

    #[command(flatten)]
    data: DataArgs,
}

pub fn execute(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let dead_letters = read(&args)?;
    if dead_letters.is_empty() {
        eprintln!(
            "no dead letters to replay in `{}` from offset {}",
            args.dead_letter_topic, args.from_offset
        );
        return Ok(ExitCode::SUCCESS);
    }

    // Every record is converted before anything is written, so a record without a source
    // leaves every topic as it was.
    let mut records = Vec::with_capacity(dead_letters.len());
    for dead in &dead_letters {
        records.push(weir::pipeline::replay_record(dead, args.to.as_deref())?);
    }

    if args.dry_run {
        print_records(&records)?;
    } else if let Some(brokers) = &args.data.brokers {
        weir::kafka::tools::produce(brokers, &records)?;
    } else {
        LocalStore::open_existing(&args.data.data)?.append(&records)?;
    }

    report(&args, &dead_letters, &records);
    Ok(ExitCode::SUCCESS)
}

/// Reads the selected dead letters, partition by partition in offset order.
fn read(args: &ReplayArgs) -> anyhow::Result<Vec<Record>> {
    let name = &args.dead_letter_topic;
    let limit = args.max.unwrap_or(usize::MAX);
    let in_range = |record: &Record| {
        args.partition
            .is_none_or(|partition| record.partition == partition)
            && record.offset >= args.from_offset
    };

    if let Some(brokers) = &args.data.brokers {
        let records = weir::kafka::tools::consume_to_end(brokers, name)?;
        return Ok(records.into_iter().filter(in_range).take(limit).collect());
    }

    let store = LocalStore::open_existing(&args.data.data)?;
    let Some(topic) = store.topic(name)? else {
        bail!(
            "topic `{name}` not found in {}; `weir topic list` shows the topics there",
            args.data.data.display()
        );
    };
    let partitions: Vec<u32> = match args.partition {
        Some(partition) => vec![partition],
        None => (0..topic.partitions).collect(),
    };
    let mut selected = Vec::new();
    for partition in partitions {
        let mut offset = args.from_offset;
        while selected.len() < limit {
            let chunk = READ_CHUNK.min(limit - selected.len());
            let records = store.read(name, partition, offset, chunk)?;
            let Some(last) = records.last() else {
                break;
            };
            offset = last.offset + 1;
            selected.extend(records);
        }
    }
    Ok(selected)
}

fn print_records(records: &[NewRecord]) -> anyhow::Result<()> {
    let mut out = BufWriter::new(super::output::stdout());
    for record in records {
        writeln!(out, "{}", jsonl::format_new_record(record))?;
    }
    out.flush()?;
    Ok(())
}

/// Prints how many records went to each topic, and the next offset of each dead-letter
/// partition, from which a later replay can go on.
fn report(args: &ReplayArgs, dead_letters: &[Record], records: &[NewRecord]) {
    let mut per_topic: BTreeMap<&str, usize> = BTreeMap::new();
    for record in records {
        *per_topic.entry(&record.topic).or_default() += 1;
    }
    let mut next_offsets: BTreeMap<u32, i64> = BTreeMap::new();
    for dead in dead_letters {
        next_offsets.insert(dead.partition, dead.offset + 1);
    }

    let verb = if args.dry_run {
        "would replay"
    } else {
        "replayed"
    };
    let targets: Vec<String> = per_topic
        .iter()
        .map(|(topic, count)| format!("{count} to `{topic}`"))
        .collect();
    eprintln!(
        "{verb} {} from `{}`: {}",
        super::output::count(records.len(), "dead letter"),
        args.dead_letter_topic,
        targets.join(", ")
    );
    for (partition, offset) in next_offsets {
        eprintln!("  partition {partition}: next offset {offset}");
    }
}
