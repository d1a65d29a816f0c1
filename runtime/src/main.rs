//! The `weir` command line.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let log_guard = cli::init_tracing(&args);

    let result = cli::execute(args);

    // Writes the buffered log lines first, so that the error below comes last.
    drop(log_guard);

    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
