use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// Write the quick-start order events as JSON lines for `weir topic produce`.
    Orders {
        /// Number of events.
        #[arg(long, default_value_t = 100_000)]
        count: usize,

        /// Seed of the generator; the same seed gives the same file.
        #[arg(long, default_value_t = 42)]
        seed: u64,

        /// Output file; standard output when absent.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub fn execute(command: SampleCommand) -> anyhow::Result<ExitCode> {
    match command {
        SampleCommand::Orders {
            count,
            seed,
            output,
        } => {
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create `{}`", path.display()))?,
                )),
                None => Box::new(BufWriter::new(super::output::stdout())),
            };
            let summary = weir::sample_orders::generate(count, seed, &mut out)?;
            out.flush()?;
            eprintln!("{}", serde_json::to_string(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
