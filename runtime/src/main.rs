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
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// Joins the error and its causes with `: `, leaving out a cause whose text the message
/// before it already contains, as it does when an error's message embeds its source.
fn describe(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn describe_skips_repeated_cause() {
        let not_found = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(not_found).context("cannot read a.yaml: no such file");

        assert_eq!(describe(&error), "cannot read a.yaml: no such file");
    }

    #[test]
    fn describe_joins_new_causes() {
        let error = anyhow::anyhow!("connection refused")
            .context("cannot reach the broker")
            .context("weir run failed");

        assert_eq!(
            describe(&error),
            "weir run failed: cannot reach the broker: connection refused"
        );
    }
}
