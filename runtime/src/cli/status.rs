use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use weir::pipeline::{PartitionState, StatusReport};

use super::AdminArgs;

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
    let Some(admin) = args.admin.options()? else {
        anyhow::bail!("`weir status` needs the admin API; pass --admin with its address");
    };
    let url = format!("http://{}/status", admin.address);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(&url);
    if let Some(token) = &admin.token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().with_context(|| {
        format!(
            "cannot reach the admin API at {}; is `weir run` running with --admin {}?",
            admin.address, admin.address
        )
    })?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        anyhow::bail!(
            "the admin API at {} answered {status}: {body}",
            admin.address
        );
    }
    let report: StatusReport = response
        .body_mut()
        .read_json()
        .context("the admin API answered with a report this `weir` cannot read")?;

    let mut out = std::io::stdout().lock();
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
                    "  {}/{}  running  next offset {next}",
                    partition.topic, partition.partition
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
