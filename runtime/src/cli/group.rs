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

        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn execute(command: GroupCommand) -> anyhow::Result<ExitCode> {
    match command {
        GroupCommand::Describe { group, data } => {
            let store = LocalStore::open(&data.data)?;
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
