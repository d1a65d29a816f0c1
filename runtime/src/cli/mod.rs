//! Command-line parsing and the commands themselves; each command is a thin layer over the
//! library.

/// Prints a line to standard output like `println!`, but without a panic when the reader has
/// closed the pipe, as `| head` does. Output after that is dropped and the command goes on.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_line(format_args!($($arg)*))
    };
}

mod admin_client;
mod group;
mod new_plugin;
mod output;
mod plugin;
mod replay;
mod run;
mod sample;
mod status;
mod test;
mod topic;
mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_appender::non_blocking::{ErrorCounter, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Runs chains of WebAssembly plugins over partitioned event streams.
#[derive(Debug, Parser)]
#[command(name = "weir", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log filter in `RUST_LOG` syntax, such as `info` or `weir=debug`.
    #[arg(long, global = true, env = "WEIR_LOG", default_value = "info")]
    log: String,

    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipelines of a pipeline file.
    Run(run::RunArgs),
    /// Check a pipeline file and its plugins without starting anything.
    Validate(validate::ValidateArgs),
    /// Create, fill and read embedded local topics.
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Inspect consumer groups of embedded topics.
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Generate sample data sets.
    #[command(subcommand)]
    Sample(sample::SampleCommand),
    /// Show the pipelines and partitions of a running `weir run`.
    Status(status::StatusArgs),
    /// Put dead letters back on the topics their events came from, without the failure
    /// headers, once the cause of the failure is fixed.
    Replay(replay::ReplayArgs),
    /// Create plugin projects, make components of core modules, and swap or roll back the
    /// plugin of a running step.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Run a plugin over fixture events and compare its results with the expected ones.
    Test(test::TestArgs),
    /// Make a running `weir run` read its pipeline file again and apply step changes.
    Reload {
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// Parses a `KEY=VALUE` command-line argument, such as a `--config` entry.
fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

/// The address of the admin API of `weir run`, shared by the commands that talk to it.
#[derive(Debug, clap::Args)]
struct AdminArgs {
    /// Address of the admin API: where `weir run` serves it (`off` serves none) and where the
    /// client commands send requests. WEIR_ADMIN_TOKEN sets the bearer token on both sides.
    #[arg(long = "admin", env = "WEIR_ADMIN", default_value = weir::admin::DEFAULT_ADDRESS)]
    address: String,
}

impl AdminArgs {
    /// Returns the admin API settings, or `None` when it is turned off.
    fn options(&self) -> anyhow::Result<Option<weir::admin::AdminOptions>> {
        if self.address == "off" {
            return Ok(None);
        }
        let address = self.address.parse().map_err(|error| {
            anyhow::anyhow!(
                "--admin `{}` is not an address such as 127.0.0.1:9710, nor `off`: {error}",
                self.address
            )
        })?;
        let token = std::env::var(weir::admin::TOKEN_VARIABLE)
            .ok()
            .filter(|token| !token.is_empty());
        Ok(Some(weir::admin::AdminOptions { address, token }))
    }
}

/// Options for the compiled-component cache, shared by the commands that load plugins.
#[derive(Debug, clap::Args)]
struct CacheArgs {
    /// Folder of compiled plugins [default: $WEIR_CACHE_DIR, else ~/.cache/weir/components].
    #[arg(long)]
    cache_dir: Option<PathBuf>,

    /// Compile every plugin from scratch and cache nothing.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
}

impl CacheArgs {
    /// Creates the plugin engine without fuel metering, for commands that set no fuel.
    fn engine_without_fuel(&self) -> anyhow::Result<weir::plugin::PluginEngine> {
        weir::plugin::PluginEngine::new(self.cache_dir(), false)
    }

    fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            None
        } else {
            self.cache_dir
                .clone()
                .or_else(weir::plugin::PluginEngine::default_cache_dir)
        }
    }

    /// Creates the plugin engine, metering fuel when a step of `file` sets a fuel limit.
    fn engine(
        &self,
        file: &weir::config::PipelineFile,
    ) -> anyhow::Result<weir::plugin::PluginEngine> {
        weir::plugin::PluginEngine::new(self.cache_dir(), file.meters_fuel())
    }
}

/// Maximum of log lines buffered while standard error is slow or unread. Beyond it, lines are
/// dropped so that the pipelines do not wait for the log (about 5 MB at 300 bytes a line).
const LOG_BUFFER_LINES: usize = 16_384;

/// How often the count of dropped log lines is checked and reported.
const DROPPED_LOG_CHECK: Duration = Duration::from_secs(10);

/// Sends logs to standard error, so that commands such as `topic consume` keep standard
/// output for their data.
///
/// A background thread writes the lines, because an unread standard error would otherwise
/// block every thread that logs, and with them the pipelines. Keep the returned guard until
/// the process ends, because dropping it writes the buffered lines.
pub fn init_tracing(cli: &Cli) -> WorkerGuard {
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|error| {
        eprintln!(
            "warning: invalid log filter `{}` ({error}); using `info`",
            cli.log
        );
        EnvFilter::new("info")
    });

    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_BUFFER_LINES)
        .lossy(true)
        .thread_name("weir-log")
        .finish(std::io::stderr());
    let dropped = writer.error_counter();

    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal());
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }

    report_dropped_lines(dropped);
    guard
}

/// Logs, at most every few seconds, how many log lines were dropped since the last report, so
/// that a reader of the log can tell where it has gaps.
fn report_dropped_lines(counter: ErrorCounter) {
    let spawned = std::thread::Builder::new()
        .name("weir-log-drops".into())
        .spawn(move || {
            let mut reported = 0;
            loop {
                std::thread::sleep(DROPPED_LOG_CHECK);

                let dropped = counter.dropped_lines();
                if dropped > reported {
                    tracing::warn!(
                        dropped = dropped - reported,
                        total_dropped = dropped,
                        "log lines dropped because standard error is not read fast enough"
                    );
                    reported = dropped;
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "failed to start the thread that reports dropped log lines");
    }
}

/// Runs the parsed command and returns the process exit code.
pub fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Validate(args) => validate::execute(args),
        Command::Topic(command) => topic::execute(command),
        Command::Group(command) => group::execute(command),
        Command::Sample(command) => sample::execute(command),
        Command::Status(args) => status::execute(args),
        Command::Replay(args) => replay::execute(args),
        Command::Plugin(command) => plugin::execute(command),
        Command::Test(args) => test::execute(args),
        Command::Reload { admin } => {
            let reports: Vec<weir::pipeline::SwapReport> =
                admin_client::AdminClient::new(&admin)?.post("/reload", &[])?;
            plugin::print_reports(&reports);
            Ok(ExitCode::SUCCESS)
        }
    }
}
