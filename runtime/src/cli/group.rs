use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use weir::local::LocalStore;

use super::topic::DataArgs;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Print a consumer group's committed offsets on embedded topics as JSON lines, with the
    /// end offset and lag of each partition.
    Describe {
        /// Consumer group id, as in the pipeline's `source.group`.
        group: String,

        /// Topics to describe; required with `--brokers`, since Kafka lists a group's
        /// offsets per topic.
        #[arg(long = "topic")]
        topics: Vec<String>,

        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn execute(command: GroupCommand) -> anyhow::Result<ExitCode> {
    match command {
        GroupCommand::Describe {
            group,
            topics,
            data,
        } => {
            if let Some(brokers) = &data.brokers {
                if topics.is_empty() {
                    anyhow::bail!(
                        "name the group's topics with `--topic NAME` when using --brokers"
                    );
                }
                let mut out = std::io::stdout().lock();
                for lag in weir::kafka::tools::describe_group(brokers, &group, &topics)? {
                    let line = serde_json::json!({
                        "group": group,
                        "topic": lag.topic,
                        "partition": lag.partition,
                        "committed_offset": lag.committed_offset,
                        "end_offset": lag.end_offset,
                        "lag": lag.committed_offset.map(|offset| lag.end_offset - offset),
                    });
                    writeln!(out, "{line}")?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let store = LocalStore::open_existing(&data.data)?;
            let mut out = std::io::stdout().lock();
            for offset in store.group_offsets(&group)? {
                let end_offset = store.end_offset(&offset.topic, offset.partition)?;
                let line = serde_json::json!({
                    "group": offset.group,
                    "topic": offset.topic,
                    "partition": offset.partition,
                    "committed_offset": offset.next_offset,
                    "end_offset": end_offset,
                    "lag": end_offset - offset.next_offset,
                });
                writeln!(out, "{line}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
