use std::io::Write;
use std::process::ExitCode;

use weir::pipeline::{PartitionState, StatusReport};

use super::AdminArgs;
use super::admin_client::AdminClient;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    admin: AdminArgs,

    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Asks a running `weir run` for its state. Exits 0 when every partition runs and 2 when
/// one is paused, so that scripts can alert on it.
pub fn execute(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let report: StatusReport = AdminClient::new(&args.admin)?.get("/status")?;

    let mut out = super::output::stdout();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_table(&mut out, &report)?;
    }

    let any_paused = report.pipelines.iter().any(|pipeline| {
        pipeline
            .partitions
            .iter()
            .any(|partition| partition.state == PartitionState::Paused)
    });
    Ok(if any_paused {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_table(out: &mut impl Write, report: &StatusReport) -> std::io::Result<()> {
    for pipeline in &report.pipelines {
        let stats = &pipeline.stats;
        writeln!(
            out,
            "pipeline {} ({}): {} events, {} outputs, {} dead-lettered, {} skipped, {} retries",
            pipeline.name,
            pipeline.source,
            stats.events,
            stats.outputs,
            stats.dead_lettered,
            stats.skipped,
            stats.retries
        )?;
        for step in &pipeline.steps {
            writeln!(
                out,
                "  step {}: {} ({}, generation {})",
                step.name,
                &step.digest[..12.min(step.digest.len())],
                step.plugin,
                step.generation
            )?;
            if let Some(swap) = &step.last_swap {
                match &swap.error {
                    None => writeln!(out, "    last change at {}: taken", swap.at)?,
                    Some(error) => {
                        writeln!(out, "    last change at {}: REJECTED: {error}", swap.at)?
                    }
                }
            }
        }
        if pipeline.partitions.is_empty() {
            writeln!(out, "  no partition assigned")?;
        }
        for partition in &pipeline.partitions {
            let next = partition
                .next_offset
                .map_or_else(|| "-".to_string(), |offset| offset.to_string());
            match &partition.paused {
                None => writeln!(
                    out,
                    "  {}/{}  running  next offset {next}  {}",
                    partition.topic, partition.partition, partition.versions
                )?,
                Some(paused) => writeln!(
                    out,
                    "  {}/{}  PAUSED at offset {} since {} ({} cycles): step {} failed ({}): {}",
                    partition.topic,
                    partition.partition,
                    paused.offset,
                    paused.since,
                    paused.cycles,
                    paused.step,
                    paused.kind,
                    paused.error
                )?,
            }
        }
    }
    Ok(())
}
