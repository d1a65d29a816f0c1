use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use weir::local::{LocalError, LocalStore, jsonl};

use super::output::count;

/// Number of records read per query while consuming.
const CONSUME_CHUNK: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Folder of the embedded topics.
    #[arg(long, env = "WEIR_DATA", default_value = ".weir/data")]
    pub data: PathBuf,

    /// Use the Kafka cluster at these brokers (`host:port,...`) instead of embedded topics.
    #[arg(long, env = "WEIR_BROKERS")]
    pub brokers: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// Topic name: letters, digits, `.`, `_` and `-`.
        name: String,

        /// Partition count; it cannot change later.
        #[arg(long, default_value_t = 1)]
        partitions: u32,

        /// Succeed without a change when the topic already exists with this partition count.
        #[arg(long)]
        if_not_exists: bool,

        /// A Kafka topic config as KEY=VALUE, such as `max.message.bytes=2097152`; repeatable
        /// (Kafka only).
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = super::parse_key_value)]
        configs: Vec<(String, String)>,

        #[command(flatten)]
        data: DataArgs,
    },

    /// List the topics with their partition counts and end offsets.
    List {
        #[command(flatten)]
        data: DataArgs,
    },

    /// Append records given as JSON lines, all of them or, on any invalid line, none.
    ///
    /// Each line is an object with optional fields `key`, `value`, `headers` (an object of
    /// names to strings, null, or `{"base64": "..."}` for binary values), `partition` and
    /// `timestamp_ms`. The fields `key_base64` and
    /// `value_base64` carry binary data. A string value is stored as its UTF-8 bytes, any
    /// other JSON value as its compact JSON text, and a null or missing value is a tombstone.
    Produce {
        /// Topic to append to.
        name: String,

        /// File of JSON lines; standard input when absent or `-`.
        #[arg(long, short)]
        input: Option<PathBuf>,

        #[command(flatten)]
        data: DataArgs,
    },

    /// Print records as JSON lines, partition by partition in offset order.
    Consume {
        /// Topic to read.
        name: String,

        /// Read only this partition.
        #[arg(long)]
        partition: Option<u32>,

        /// First offset to read in each partition.
        #[arg(long, default_value_t = 0)]
        from_offset: i64,

        /// Stop after this many records in all.
        #[arg(long)]
        max: Option<usize>,

        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn execute(command: TopicCommand) -> anyhow::Result<ExitCode> {
    match command {
        TopicCommand::Create {
            name,
            partitions,
            if_not_exists,
            configs,
            data,
        } => create(&name, partitions, if_not_exists, &configs, data),
        TopicCommand::List { data } => list(data),
        TopicCommand::Produce { name, input, data } => produce(&name, input, data),
        TopicCommand::Consume {
            name,
            partition,
            from_offset,
            max,
            data,
        } => consume(&name, partition, from_offset, max, data),
    }
}

fn create(
    name: &str,
    partitions: u32,
    if_not_exists: bool,
    configs: &[(String, String)],
    data: DataArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(brokers) = &data.brokers {
        // NOTE: the replication factor is 1, which suits the single-broker test clusters
        // this command is meant for; create production topics with Kafka's own tools.
        weir::kafka::tools::create_topic(brokers, name, partitions, 1, configs)?;
        eprintln!(
            "created topic `{name}` with {} on {brokers}",
            count(partitions as usize, "partition")
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some((key, _)) = configs.first() {
        anyhow::bail!(
            "--config {key} applies to Kafka topics only; embedded topics take no topic config \
             (pass --brokers to create the topic on Kafka)"
        );
    }
    let store = LocalStore::open(&data.data)?;
    match store.create_topic(name, partitions) {
        Ok(()) => {
            eprintln!(
                "created topic `{name}` with {} in {}",
                count(partitions as usize, "partition"),
                data.data.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(LocalError::TopicExists {
            partitions: existing,
            ..
        }) if if_not_exists && existing == partitions => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error.into()),
    }
}

fn list(data: DataArgs) -> anyhow::Result<ExitCode> {
    let store = LocalStore::open_existing(&data.data)?;
    let mut out = super::output::stdout();
    for topic in store.topics()? {
        let records: i64 = topic.end_offsets.iter().sum();
        writeln!(
            out,
            "{}\tpartitions={}\trecords={}\tend_offsets={:?}",
            topic.name, topic.partitions, records, topic.end_offsets
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn produce(name: &str, input: Option<PathBuf>, data: DataArgs) -> anyhow::Result<ExitCode> {
    let reader: Box<dyn BufRead> = match &input {
        Some(path) if path.as_os_str() != "-" => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open input file `{}`", path.display()))?;
            Box::new(std::io::BufReader::new(file))
        }
        _ => Box::new(std::io::stdin().lock()),
    };
    let source = input.as_ref().map_or("standard input".to_string(), |path| {
        format!("`{}`", path.display())
    });

    // Every line is parsed before anything is written, so an invalid line leaves the topic as
    // it was.
    let mut records = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line_number = index + 1;
        let line = line.with_context(|| format!("cannot read line {line_number} of {source}"))?;
        if line.trim().is_empty() {
            continue;
        }
        match jsonl::parse_line(line_number, &line, name) {
            Ok(record) => records.push(record),
            Err(error) => bail!("{source}: {error}; nothing was written"),
        }
    }

    if let Some(brokers) = &data.brokers {
        weir::kafka::tools::produce(brokers, &records)?;
        eprintln!(
            "produced {} records to topic `{name}` on {brokers}",
            records.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = LocalStore::open_existing(&data.data)?;
    store.append(&records)?;
    eprintln!(
        "appended {} to topic `{name}`",
        count(records.len(), "record")
    );
    Ok(ExitCode::SUCCESS)
}

fn consume(
    name: &str,
    partition: Option<u32>,
    from_offset: i64,
    max: Option<usize>,
    data: DataArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(brokers) = &data.brokers {
        let mut out = BufWriter::new(super::output::stdout());
        let records = weir::kafka::tools::consume_to_end(brokers, name)?;
        let selected = records
            .iter()
            .filter(|record| partition.is_none_or(|partition| record.partition == partition))
            .filter(|record| record.offset >= from_offset)
            .take(max.unwrap_or(usize::MAX));
        for record in selected {
            writeln!(out, "{}", jsonl::format_record(record))?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = LocalStore::open_existing(&data.data)?;
    let Some(topic) = store.topic(name)? else {
        bail!(
            "topic `{name}` not found in {}; `weir topic list` shows the topics there",
            data.data.display()
        );
    };
    let partitions: Vec<u32> = match partition {
        Some(partition) => vec![partition],
        None => (0..topic.partitions).collect(),
    };

    let mut out = BufWriter::new(super::output::stdout());
    let mut remaining = max.unwrap_or(usize::MAX);
    for partition in partitions {
        let mut offset = from_offset;
        while remaining > 0 {
            // A closed pipe, as after `| head`, is a normal way to stop reading.
            if out.get_ref().is_closed() {
                return Ok(ExitCode::SUCCESS);
            }
            let records = store.read(name, partition, offset, CONSUME_CHUNK.min(remaining))?;
            let Some(last) = records.last() else {
                break;
            };
            offset = last.offset + 1;
            remaining -= records.len();
            for record in &records {
                writeln!(out, "{}", jsonl::format_record(record))?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
