//! `weir plugin new`: a plugin project from the template of a language, compiled into the
//! binary from `guest-sdk/<language>/template`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use include_dir::{Dir, DirEntry, include_dir};

/// Languages that have a plugin template.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Language {
    Rust,
    Python,
    Javascript,
    C,
    Go,
}

static RUST: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk/rust/template");
static PYTHON: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk/python/template");
static JAVASCRIPT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk/javascript/template");
static C: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk/c/template");
static GO: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../guest-sdk/go/template");

impl Language {
    fn template(self) -> &'static Dir<'static> {
        match self {
            Language::Rust => &RUST,
            Language::Python => &PYTHON,
            Language::Javascript => &JAVASCRIPT,
            Language::C => &C,
            Language::Go => &GO,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::Javascript => "javascript",
            Language::C => "c",
            Language::Go => "go",
        }
    }
}

/// Creates the project `name` in `dir` (default `./name`) from the template of `language`.
pub fn execute(
    language: Language,
    name: &str,
    dir: Option<PathBuf>,
    sdk: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "plugin name `{name}` is invalid; use lowercase letters, digits and hyphens, \
             starting with a letter, such as `enrich-orders`"
        );
    }

    let sdk = match sdk {
        Some(sdk) => sdk,
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk"),
    };
    let sdk = std::fs::canonicalize(&sdk).with_context(|| {
        format!(
            "guest SDK folder {} not found; pass --sdk with the guest-sdk folder of a Weir \
             checkout",
            sdk.display()
        )
    })?;

    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            dir.display()
        );
    }

    let replacements = [
        ("{{name}}", name.to_string()),
        ("{{name_snake}}", name.replace('-', "_")),
        ("{{sdk}}", sdk.display().to_string()),
    ];
    write_tree(language.template(), &dir, &replacements)?;
    eprintln!(
        "created the {} plugin `{name}` in {}; its README.md says how to build and test it",
        language.name(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_tree(
    template: &Dir<'_>,
    dir: &Path,
    replacements: &[(&str, String)],
) -> anyhow::Result<()> {
    for entry in template.entries() {
        match entry {
            DirEntry::Dir(sub) => write_tree(sub, dir, replacements)?,
            DirEntry::File(file) => {
                let path = dir.join(file.path());
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                let contents = match file.contents_utf8() {
                    Some(text) => {
                        let mut text = text.to_string();
                        for (placeholder, value) in replacements {
                            text = text.replace(placeholder, value);
                        }
                        text.into_bytes()
                    }
                    None => file.contents().to_vec(),
                };
                std::fs::write(&path, contents)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    Ok(())
}
