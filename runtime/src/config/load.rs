use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

use super::error::{ConfigError, ConfigErrors};
use super::locate::{Place, key_at, key_in_block, value_at};
use super::model::{
    DirGrant, DirGrantDetails, FailurePolicy, Limits, OnExhausted, PipelineFile, SinkKind,
    SourceKind, StepConfig,
};

/// Largest batch a source hands to the plugin chain in one call.
const MAX_BATCH_SIZE: usize = 10_000;

/// Reads, parses and checks a pipeline file, resolving its relative paths against its folder.
///
/// Every problem found is returned at once, each with the file, line and key it concerns.
pub fn load_pipeline_file(path: &Path) -> Result<PipelineFile, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read the pipeline file: {error}"),
        }])
    })?;

    parse_pipeline_file(path, &text)
}

/// Parses and checks the text of a pipeline file named `path`.
pub fn parse_pipeline_file(path: &Path, text: &str) -> Result<PipelineFile, ConfigErrors> {
    let has_content = text.lines().any(|line| {
        let line = line.trim();
        !line.is_empty() && !line.starts_with('#') && line != "---"
    });
    if !has_content {
        return Err(ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: "the pipeline file is empty; it needs a `pipelines:` list, as the \
                      README's pipeline file reference shows"
                .to_string(),
        }]));
    }

    let mut file: PipelineFile = serde_saphyr::from_str(text).map_err(|error| {
        let place = error.location().map(|location| Place {
            line: location.line(),
            column: location.column(),
        });
        let message = syntax_message(&error);
        let key = place.and_then(|place| key_at(text, place));
        let message = match place.and_then(|place| value_at(text, place)) {
            Some(value) => match expected_scalar(&message) {
                Some(expected) => format!("invalid value `{value}`: expected {expected}"),
                None => message,
            },
            None => message,
        };
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: place.map(|place| place.line),
            column: place.map(|place| place.column),
            key,
            message,
        }])
    })?;

    let base = path.parent().unwrap_or(Path::new("."));
    let mut checker = Checker {
        file: path.to_path_buf(),
        text,
        errors: Vec::new(),
    };
    checker.check(&mut file, base);

    if checker.errors.is_empty() {
        Ok(file)
    } else {
        Err(ConfigErrors(checker.errors))
    }
}

/// Keeps the first line of the parser's message without its own `line N column M:` prefix,
/// because the caller already prints the place as `file:line:column`, and the lines after
/// the first repeat it as a source snippet.
fn syntax_message(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let first = first.trim_start_matches("error: ");
    let without_place = first
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .filter(|(place, _)| place.contains("column"))
        .map_or(first, |(_, message)| message);
    without_place
        .trim_end_matches(|c: char| c == ':' || c.is_whitespace())
        .to_string()
}

/// Returns what the parser expected when its message is about a scalar of the wrong type,
/// such as `invalid u64`, which does not show the value it rejected, or about a duration,
/// which does not show the accepted forms.
fn expected_scalar(message: &str) -> Option<&'static str> {
    if message.ends_with("expected a duration") {
        return Some("a duration such as `500ms`, `30s` or `2m`");
    }
    match message.strip_prefix("invalid ")? {
        "u8" | "u16" | "u32" | "u64" | "usize" => Some("a whole number, 0 or more"),
        "i8" | "i16" | "i32" | "i64" | "isize" => Some("a whole number"),
        "f32" | "f64" => Some("a number"),
        "bool" => Some("`true` or `false`"),
        _ => None,
    }
}

/// A problem with a failure policy or sandbox limits, before it is placed in the file.
#[derive(Debug, PartialEq, Eq)]
struct Finding {
    /// The keys that can cause it, the one to report first.
    keys: &'static [&'static str],
    message: String,
}

struct Checker<'a> {
    file: PathBuf,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn error_at(&mut self, location: Location, key: String, message: String) {
        let known = location != Location::UNKNOWN;
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line: known.then(|| location.line()),
            column: known.then(|| location.column()),
            key: Some(key),
            message,
        });
    }

    fn error<T>(&mut self, spanned: &Spanned<T>, key: String, message: String) {
        self.error_at(spanned.referenced, key, message);
    }

    fn check(&mut self, file: &mut PipelineFile, base: &Path) {
        if file.pipelines.is_empty() {
            self.errors.push(ConfigError {
                file: self.file.clone(),
                line: None,
                column: None,
                key: Some("pipelines".into()),
                message: "the file defines no pipeline; add at least one under `pipelines`".into(),
            });
        }

        let mut names = HashSet::new();
        for (index, pipeline) in file.pipelines.iter_mut().enumerate() {
            let prefix = format!("pipelines[{index}]");

            if pipeline.name.value.trim().is_empty() {
                self.error(
                    &pipeline.name,
                    format!("{prefix}.name"),
                    "must not be empty".into(),
                );
            } else if !names.insert(pipeline.name.value.clone()) {
                let message = format!("duplicate pipeline name `{}`", pipeline.name.value);
                self.error(&pipeline.name, format!("{prefix}.name"), message);
            }

            let source = &mut pipeline.source;
            let source_kind = source.kind.value;
            self.check_kind_fields(
                matches!(source_kind, SourceKind::Local),
                &source.kind,
                &mut source.path,
                &source.bootstrap_servers,
                &source.properties,
                base,
                &format!("{prefix}.source"),
            );
            if source.topics.value.is_empty() {
                let message = "lists no topic; name at least one topic to consume".into();
                self.error(&source.topics, format!("{prefix}.source.topics"), message);
            }
            for topic in source.topics.value.clone() {
                // A Kafka subscription may be a regular expression, which librdkafka checks.
                if source_kind == SourceKind::Kafka && topic.starts_with('^') {
                    continue;
                }
                self.check_topic(&source.topics, format!("{prefix}.source.topics"), &topic);
            }
            if source.group.value.trim().is_empty() {
                let message = "must not be empty; the group stores the committed offsets".into();
                self.error(&source.group, format!("{prefix}.source.group"), message);
            }
            let batch_size = source.batch_size.value;
            if batch_size == 0 || batch_size > MAX_BATCH_SIZE {
                let message = format!("is {batch_size}; use a value from 1 to {MAX_BATCH_SIZE}");
                self.error(
                    &source.batch_size,
                    format!("{prefix}.source.batch_size"),
                    message,
                );
            }

            if source.max_in_flight_batches == 0 || source.max_in_flight_batches > 64 {
                let message = format!(
                    "is {}; use a value from 1 to 64",
                    source.max_in_flight_batches
                );
                self.error(
                    &source.kind,
                    format!("{prefix}.source.max_in_flight_batches"),
                    message,
                );
            }

            let sink = &mut pipeline.sink;
            self.check_kind_fields(
                matches!(sink.kind.value, SinkKind::Local),
                &sink.kind,
                &mut sink.path,
                &sink.bootstrap_servers,
                &sink.properties,
                base,
                &format!("{prefix}.sink"),
            );
            let pairing = (source_kind, sink.kind.value);
            if matches!(
                pairing,
                (SourceKind::Local, SinkKind::Kafka) | (SourceKind::Kafka, SinkKind::Local)
            ) {
                let message = "a pipeline's source and sink must be of the same kind, both \
                               `local` or both `kafka`; mixing them is not supported yet"
                    .into();
                self.error(&sink.kind, format!("{prefix}.sink.kind"), message);
            }
            let topic = sink.topic.value.clone();
            self.check_topic(&sink.topic, format!("{prefix}.sink.topic"), &topic);

            if pipeline.steps.is_empty() {
                let location = pipeline.name.referenced;
                let message = "the pipeline has no step; add at least one plugin".into();
                self.error_at(location, format!("{prefix}.steps"), message);
            }
            let failure_at = located(&pipeline.failure, &pipeline.name);
            let findings = failure_findings(&pipeline.failure.value);
            self.report(failure_at, &format!("{prefix}.failure"), findings);
            let limits_at = located(&pipeline.limits, &pipeline.name);
            let findings = limits_findings(&pipeline.limits.value);
            self.report(limits_at, &format!("{prefix}.limits"), findings);

            let mut step_names = HashSet::new();
            for (step_index, step) in pipeline.steps.iter_mut().enumerate() {
                let step_prefix = format!("{prefix}.steps[{step_index}]");

                if step.name.value.trim().is_empty() {
                    let message = "must not be empty".into();
                    self.error(&step.name, format!("{step_prefix}.name"), message);
                } else if !step_names.insert(step.name.value.clone()) {
                    let message = format!("duplicate step name `{}`", step.name.value);
                    self.error(&step.name, format!("{step_prefix}.name"), message);
                }

                resolve(&mut step.plugin, base);
                if !step.plugin.value.is_file() {
                    let message = format!(
                        "plugin file `{}` not found; build the plugin or fix the path (relative \
                         paths start at the pipeline file's folder)",
                        step.plugin.value.display()
                    );
                    self.error(&step.plugin, format!("{step_prefix}.plugin"), message);
                }

                // The pipeline's own problems are reported once, at the pipeline.
                if let Some(failure) = &step.failure {
                    let inherited = failure_findings(&pipeline.failure.value);
                    let findings = failure_findings(&step.failure_policy(&pipeline.failure.value))
                        .into_iter()
                        .filter(|finding| !inherited.contains(finding))
                        .collect();
                    let at = located(failure, &step.name);
                    self.report(at, &format!("{step_prefix}.failure"), findings);
                }
                if let Some(limits) = &step.limits {
                    let inherited = limits_findings(&pipeline.limits.value);
                    let findings = limits_findings(&step.sandbox_limits(&pipeline.limits.value))
                        .into_iter()
                        .filter(|finding| !inherited.contains(finding))
                        .collect();
                    let at = located(limits, &step.name);
                    self.report(at, &format!("{step_prefix}.limits"), findings);
                }
                self.check_grants(step, base, &step_prefix);
            }
        }
    }

    /// Checks that a `local` source or sink has a `path` and no Kafka settings, and that a
    /// `kafka` one has `bootstrap_servers` and no `path`. Also resolves the path.
    #[allow(clippy::too_many_arguments)]
    fn check_kind_fields<K>(
        &mut self,
        local: bool,
        kind: &Spanned<K>,
        path: &mut Option<Spanned<PathBuf>>,
        bootstrap_servers: &Option<Spanned<String>>,
        properties: &BTreeMap<String, serde_json::Value>,
        base: &Path,
        key: &str,
    ) {
        if local {
            match path {
                Some(path) => resolve(path, base),
                None => {
                    let message =
                        "is required for kind `local`: the folder of the embedded topics".into();
                    self.error(kind, format!("{key}.path"), message);
                }
            }
            if let Some(servers) = bootstrap_servers {
                let message = "applies only to kind `kafka`; remove it".into();
                self.error(servers, format!("{key}.bootstrap_servers"), message);
            }
            if !properties.is_empty() {
                let message = "applies only to kind `kafka`; remove it".into();
                self.error(kind, format!("{key}.properties"), message);
            }
            return;
        }

        if let Some(path) = path {
            let message = "applies only to kind `local`; remove it".into();
            self.error(path, format!("{key}.path"), message);
        }
        match bootstrap_servers {
            Some(servers) if servers.value.trim().is_empty() => {
                let message = "must not be empty; list brokers as `host:port,host:port`".into();
                self.error(servers, format!("{key}.bootstrap_servers"), message);
            }
            Some(_) => {}
            None => {
                let message = "is required for kind `kafka`, such as `127.0.0.1:9092`".into();
                self.error(kind, format!("{key}.bootstrap_servers"), message);
            }
        }
        for (name, value) in properties {
            if value.is_object() || value.is_array() || value.is_null() {
                let message = "must be a string, number or boolean".to_string();
                self.error(kind, format!("{key}.properties.{name}"), message);
            }
        }
    }

    fn check_topic<T>(&mut self, spanned: &Spanned<T>, key: String, topic: &str) {
        if let Err(message) = check_topic_name(topic) {
            self.error(spanned, key, message);
        }
    }

    /// Reports each finding at the first of its keys that the block starting at `block`
    /// sets, or at the block when it sets none of them.
    fn report(&mut self, block: Location, prefix: &str, findings: Vec<Finding>) {
        let block_place = Place {
            line: block.line(),
            column: block.column(),
        };
        for finding in findings {
            let found = finding.keys.iter().find_map(|key| {
                key_in_block(self.text, block_place, key).map(|place| (*key, place))
            });
            match found {
                Some((key, place)) => {
                    self.errors.push(ConfigError {
                        file: self.file.clone(),
                        line: Some(place.line),
                        column: Some(place.column),
                        key: Some(format!("{prefix}.{key}")),
                        message: finding.message,
                    });
                }
                None => {
                    let key = format!("{prefix}.{}", finding.keys[0]);
                    self.error_at(block, key, finding.message);
                }
            }
        }
    }

    /// Checks the step's granted folders and variables, and stores each folder with its host
    /// path resolved and its guest path made explicit.
    fn check_grants(&mut self, step: &mut StepConfig, base: &Path, prefix: &str) {
        for (index, grant) in step.grants.dirs.iter_mut().enumerate() {
            let resolved = grant.resolve(base);
            if !resolved.host.is_dir() {
                let message = format!(
                    "folder `{}` not found; create it or fix the path (relative paths start at \
                     the pipeline file's folder)",
                    resolved.host.display()
                );
                self.error(
                    &step.name,
                    format!("{prefix}.grants.dirs[{index}]"),
                    message,
                );
            }
            if !resolved.guest.starts_with('/') && resolved.guest.contains("..") {
                let message = format!(
                    "guest path `{}` must not contain `..`; give an absolute guest path",
                    resolved.guest
                );
                self.error(
                    &step.name,
                    format!("{prefix}.grants.dirs[{index}]"),
                    message,
                );
            }
            *grant = DirGrant::Detailed(DirGrantDetails {
                path: resolved.host,
                guest: Some(resolved.guest),
                writable: resolved.writable,
            });
        }

        for (index, name) in step.grants.env.iter().enumerate() {
            if name.is_empty() || name.contains('=') {
                let message = format!(
                    "`{name}` is not a variable name; list names only, the values come from \
                     Weir's environment"
                );
                self.error(&step.name, format!("{prefix}.grants.env[{index}]"), message);
            }
        }
    }
}

/// Returns the problems of a failure policy.
fn failure_findings(policy: &FailurePolicy) -> Vec<Finding> {
    let mut findings = Vec::new();
    if policy.max_attempts == 0 {
        findings.push(Finding {
            keys: &["max_attempts"],
            message: "max_attempts is 0; use 1 or more (1 means no retry)".into(),
        });
    }
    if policy.initial_backoff > policy.max_backoff {
        findings.push(Finding {
            keys: &["initial_backoff", "max_backoff"],
            message: format!(
                "initial_backoff ({}) is longer than max_backoff ({}); shorten it or raise \
                 max_backoff",
                humantime::format_duration(policy.initial_backoff),
                humantime::format_duration(policy.max_backoff)
            ),
        });
    }
    if policy.on_exhausted == Some(OnExhausted::DeadLetter) && policy.dead_letter_topic.is_none() {
        findings.push(Finding {
            keys: &["on_exhausted"],
            message: "is `dead-letter` but no dead_letter_topic is set; set one or choose \
                      `pause` or `skip`"
                .into(),
        });
    }
    if let Some(topic) = &policy.dead_letter_topic
        && let Err(message) = check_topic_name(topic)
    {
        findings.push(Finding {
            keys: &["dead_letter_topic"],
            message,
        });
    }
    findings
}

/// Returns the problems of sandbox limits.
fn limits_findings(limits: &Limits) -> Vec<Finding> {
    let mut findings = Vec::new();
    if limits.call_timeout.as_millis() < 10 {
        findings.push(Finding {
            keys: &["call_timeout"],
            message:
                "call_timeout is below 10ms, the deadline clock's resolution; use 10ms or more"
                    .into(),
        });
    }
    if limits.fuel == Some(0) {
        findings.push(Finding {
            keys: &["fuel"],
            message: "fuel is 0, which stops every call at once; remove it to turn fuel \
                      metering off"
                .into(),
        });
    }
    if limits.max_memory.as_u64() < 1 << 20 {
        findings.push(Finding {
            keys: &["max_memory"],
            message: format!(
                "max_memory is {}; a plugin needs at least 1 MiB",
                limits.max_memory
            ),
        });
    }
    findings
}

/// Returns where `setting` is in the file, or where its owner is when the file leaves the
/// setting out.
fn located<T, O>(setting: &Spanned<T>, owner: &Spanned<O>) -> Location {
    if setting.referenced == Location::UNKNOWN {
        owner.referenced
    } else {
        setting.referenced
    }
}

fn resolve(path: &mut Spanned<PathBuf>, base: &Path) {
    if path.value.is_relative() {
        path.value = base.join(&path.value);
    }
}

/// Checks a topic name against Kafka's rules, the same ones the embedded topics enforce, so
/// that a pipeline moves between embedded topics and Kafka unchanged.
pub fn check_topic_name(topic: &str) -> Result<(), String> {
    crate::local::validate_topic_name(topic).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dir: &Path, text: &str) -> Result<PipelineFile, ConfigErrors> {
        std::fs::write(dir.join("plugin.wasm"), b"\0asm").unwrap();
        parse_pipeline_file(&dir.join("pipeline.yaml"), text)
    }

    const PIPELINE: &str = r#"
pipelines:
  - name: orders
    source: { kind: local, path: data, topics: [in], group: g }
    sink: { kind: local, path: data, topic: out }
    failure: { dead_letter_topic: dead, max_attempts: 5 }
    limits: { max_memory: 64 MiB, call_timeout: 2s }
    steps:
      - name: step
        plugin: plugin.wasm
        failure: { max_attempts: 2 }
        limits: { fuel: 1000 }
"#;

    #[test]
    fn step_overrides_inherit_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = parse(dir.path(), PIPELINE).unwrap();
        let pipeline = &file.pipelines[0];
        let step = &pipeline.steps[0];

        let policy = step.failure_policy(&pipeline.failure.value);
        assert_eq!(policy.max_attempts, 2);
        assert_eq!(policy.dead_letter_topic.as_deref(), Some("dead"));
        assert_eq!(policy.on_exhausted(), OnExhausted::DeadLetter);

        let limits = step.sandbox_limits(&pipeline.limits.value);
        assert_eq!(limits.fuel, Some(1000));
        assert_eq!(limits.max_memory, bytesize::ByteSize::mib(64));
        assert_eq!(limits.call_timeout, std::time::Duration::from_secs(2));
        assert!(file.meters_fuel());
    }

    #[test]
    fn grants_resolve_against_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("reference")).unwrap();
        let text = PIPELINE.replace(
            "        limits: { fuel: 1000 }",
            "        grants: { dirs: [./reference, { path: reference, guest: /ref, writable: true }], env: [REGION] }",
        );
        let file = parse(dir.path(), &text).unwrap();
        let grants = &file.pipelines[0].steps[0].grants;

        let first = grants.dirs[0].resolve(Path::new(""));
        assert_eq!(first.host, dir.path().join("./reference"));
        assert_eq!(first.guest, "reference");
        assert!(!first.writable);
        let second = grants.dirs[1].resolve(Path::new(""));
        assert_eq!(second.guest, "/ref");
        assert!(second.writable);
        assert_eq!(grants.env, ["REGION"]);
    }

    #[test]
    fn grants_with_missing_folder_or_bad_name_fail() {
        let dir = tempfile::tempdir().unwrap();
        let text = PIPELINE.replace(
            "        limits: { fuel: 1000 }",
            "        grants: { dirs: [missing], env: [\"A=B\"] }",
        );
        let errors = parse(dir.path(), &text).unwrap_err().0;
        let keys: Vec<&str> = errors
            .iter()
            .filter_map(|error| error.key.as_deref())
            .collect();
        assert!(
            keys.contains(&"pipelines[0].steps[0].grants.dirs[0]"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"pipelines[0].steps[0].grants.env[0]"),
            "{keys:?}"
        );
    }

    #[test]
    fn policy_errors_point_at_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let text = PIPELINE
            .replace("max_attempts: 5", "max_attempts: 0")
            .replace(
                "        limits: { fuel: 1000 }",
                "        limits:\n          call_timeout: 1s\n          fuel: 0",
            );
        let errors = parse(dir.path(), &text).unwrap_err().0;
        let placed: Vec<(Option<u64>, Option<u64>, Option<&str>)> = errors
            .iter()
            .map(|error| (error.line, error.column, error.key.as_deref()))
            .collect();

        assert_eq!(
            placed,
            [
                (Some(6), Some(41), Some("pipelines[0].failure.max_attempts")),
                (
                    Some(14),
                    Some(11),
                    Some("pipelines[0].steps[0].limits.fuel")
                ),
            ],
            "the step overrides max_attempts, so only the pipeline reports it: {errors:?}"
        );
    }

    #[test]
    fn type_error_names_key_and_value() {
        let dir = tempfile::tempdir().unwrap();
        let text = PIPELINE.replace("fuel: 1000", "fuel: lots");
        let error = &parse(dir.path(), &text).unwrap_err().0[0];

        assert_eq!(error.line, Some(12));
        assert_eq!(error.key.as_deref(), Some("fuel"));
        assert_eq!(
            error.message,
            "invalid value `lots`: expected a whole number, 0 or more"
        );
    }

    #[test]
    fn empty_file_says_what_it_needs() {
        let dir = tempfile::tempdir().unwrap();

        for text in ["", "\n# only a comment\n", "---\n"] {
            let error = &parse(dir.path(), text).unwrap_err().0[0];
            assert!(error.message.contains("is empty"), "{text:?}: {error:?}");
            assert!(
                error.message.contains("`pipelines:`"),
                "{text:?}: {error:?}"
            );
        }
    }

    #[test]
    fn duration_error_shows_accepted_forms() {
        let dir = tempfile::tempdir().unwrap();
        let text = PIPELINE.replace("call_timeout: 2s", "call_timeout: fast");
        let error = &parse(dir.path(), &text).unwrap_err().0[0];

        assert_eq!(error.key.as_deref(), Some("call_timeout"));
        assert_eq!(
            error.message,
            "invalid value `fast`: expected a duration such as `500ms`, `30s` or `2m`"
        );
    }
}
