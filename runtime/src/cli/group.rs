use std::collections::{BTreeMap, BTreeSet};
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
        /// offsets per topic. On embedded topics, the default is every topic the group has
        /// committed on.
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
                let mut out = super::output::stdout();
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
            let committed: BTreeMap<(String, u32), i64> = store
                .group_offsets(&group)?
                .into_iter()
                .map(|offset| ((offset.topic, offset.partition), offset.next_offset))
                .collect();
            // Every partition of the group's topics, so that one it never committed shows too.
            let topics: BTreeSet<String> = if topics.is_empty() {
                committed.keys().map(|(topic, _)| topic.clone()).collect()
            } else {
                topics.into_iter().collect()
            };
            if topics.is_empty() {
                eprintln!(
                    "group `{group}` has no committed offsets in {}",
                    data.data.display()
                );
            }

            let mut out = super::output::stdout();
            for topic in topics {
                let Some(info) = store.topic(&topic)? else {
                    anyhow::bail!("topic `{topic}` not found in {}", data.data.display());
                };
                for (partition, end_offset) in info.end_offsets.iter().enumerate() {
                    let partition = partition as u32;
                    let committed_offset = committed.get(&(topic.clone(), partition)).copied();
                    let line = serde_json::json!({
                        "group": group,
                        "topic": topic,
                        "partition": partition,
                        "committed_offset": committed_offset,
                        "end_offset": end_offset,
                        "lag": committed_offset.map(|offset| end_offset - offset),
                    });
                    writeln!(out, "{line}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
