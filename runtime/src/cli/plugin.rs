use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use weir::pipeline::SwapReport;

use super::AdminArgs;
use super::admin_client::AdminClient;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Replace a step's plugin in a running `weir run`. The new version is checked and
    /// initialised first; if that fails, the old one keeps running.
    Swap {
        pipeline: String,
        step: String,
        /// The new component (`.wasm`), sent to the running process.
        file: PathBuf,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Create a plugin project from the template of a language.
    New {
        /// The language of the plugin.
        #[arg(long)]
        lang: super::new_plugin::Language,
        /// Name of the plugin: lowercase letters, digits and hyphens.
        name: String,
        /// Folder to create [default: ./NAME].
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The guest-sdk folder of a Weir checkout [default: the one this binary was built
        /// from].
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Make a plugin component of a core WebAssembly module built for WASI preview 1, such
    /// as the output of clang with wasi-libc or of Go's wasip1 target.
    Componentize {
        /// The core module (`.wasm`).
        module: PathBuf,
        /// Output path of the component.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Show a plugin component's digest, exports and imports, and whether this weir can run
    /// it. Exits 1 when it cannot.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Go back to a step's previous plugin version in a running `weir run`.
    Rollback {
        pipeline: String,
        step: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

pub fn execute(command: PluginCommand) -> anyhow::Result<ExitCode> {
    let reports: Vec<SwapReport> = match command {
        PluginCommand::New {
            lang,
            name,
            dir,
            sdk,
        } => return super::new_plugin::execute(lang, &name, dir, sdk),
        PluginCommand::Componentize { module, output } => {
            let bytes = std::fs::read(&module)
                .with_context(|| format!("cannot read module {}", module.display()))?;
            let component = weir::plugin::componentize(&bytes)
                .with_context(|| format!("cannot componentize {}", module.display()))?;
            std::fs::write(&output, &component)
                .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!(
                "wrote plugin component {} ({} bytes)",
                output.display(),
                component.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        PluginCommand::Inspect { file, json } => return inspect(&file, json),
        PluginCommand::Swap {
            pipeline,
            step,
            file,
            admin,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read plugin file {}", file.display()))?;
            let name = file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            let path = format!(
                "/pipelines/{}/steps/{}/plugin?name={}",
                encode(&pipeline),
                encode(&step),
                encode(&name)
            );
            AdminClient::new(&admin)?.post(&path, &bytes)?
        }
        PluginCommand::Rollback {
            pipeline,
            step,
            admin,
        } => {
            let path = format!(
                "/pipelines/{}/steps/{}/rollback",
                encode(&pipeline),
                encode(&step)
            );
            AdminClient::new(&admin)?.post(&path, &[])?
        }
    };
    print_reports(&reports);
    Ok(ExitCode::SUCCESS)
}

/// Prints one line per step that changed.
pub fn print_reports(reports: &[SwapReport]) {
    if reports.is_empty() {
        outln!("no step changed");
    }
    for report in reports {
        if !report.published {
            outln!(
                "{}/{}: already runs {}",
                report.pipeline,
                report.step,
                &report.to[..12]
            );
        } else if report.from == report.to {
            outln!(
                "{}/{}: new settings for {} (generation {}); partitions switch at their next batch",
                report.pipeline,
                report.step,
                &report.to[..12],
                report.generation
            );
        } else {
            outln!(
                "{}/{}: {} -> {} (generation {}); partitions switch at their next batch",
                report.pipeline,
                report.step,
                &report.from[..12],
                &report.to[..12],
                report.generation
            );
        }
    }
}

/// Percent-encodes a path segment or query value.
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn inspect(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let report = weir::plugin::inspect_plugin(file)?;

    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!("plugin   {}", report.path.display());
        outln!("size     {} bytes", report.bytes);
        outln!("digest   {}", report.digest);
        outln!("exports  {}", listed(&report.exports));
        outln!("imports  {}", listed(&report.imports));
        match &report.problem {
            None => outln!(
                "contract ok: weir:plugin@{}",
                weir::plugin::CONTRACT_VERSION
            ),
            Some(problem) => outln!("contract NOT MET: {problem}"),
        }
    }

    Ok(if report.problem.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
