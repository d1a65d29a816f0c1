//! Swapping a step's plugin in a running `weir run` on embedded topics: through the CLI, by
//! replacing the file, and by reloading the pipeline file. A version that cannot start is
//! rejected and the old one keeps running.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Scratch, free_address, header, plugin};
use serde_json::{Value, json};

/// A `weir run` of one `tag` step over `in` (two partitions) into `out`, with its admin API.
struct Running {
    scratch: Scratch,
    pipeline: PathBuf,
    address: String,
    child: Option<Child>,
    produced: usize,
}

impl Running {
    /// Writes the pipeline with `plugin_path` as its step's plugin, and starts it.
    fn start(plugin_path: &Path, extra_run_args: &[&str]) -> Self {
        let scratch = Scratch::new();
        scratch.create_topic("in", 2);
        scratch.create_topic("out", 1);
        let pipeline =
            scratch.write_pipeline("pipeline.yaml", &pipeline_yaml(&scratch, plugin_path, 50));
        let address = free_address();
        let mut running = Self {
            scratch,
            pipeline,
            address,
            child: None,
            produced: 0,
        };

        let mut command = running.scratch.command();
        command
            .args([
                "run",
                running.pipeline.to_str().unwrap(),
                "--admin",
                &running.address,
            ])
            .args(extra_run_args)
            .env("WEIR_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(running.scratch.path().join("run.log")).unwrap());
        running.child = Some(command.spawn().unwrap());
        running.wait_for_status();
        running
    }

    fn wait_for_status(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.weir(&["status"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "the admin API never responded: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn weir(&self, args: &[&str]) -> std::process::Output {
        let mut command = self.scratch.command();
        command.args(args).env("WEIR_ADMIN", &self.address);
        command.output().unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("run.log")).unwrap_or_default()
    }

    /// Appends `count` events and waits until the group has committed all of them.
    fn produce_and_wait(&mut self, count: usize) {
        let lines: String = (self.produced..self.produced + count)
            .map(|n| format!("{}\n", json!({"key": format!("k{n}"), "value": {"n": n}})))
            .collect();
        let input = self.scratch.path().join("batch.jsonl");
        std::fs::write(&input, lines).unwrap();
        self.scratch.produce("in", &input);
        self.produced += count;

        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let committed: i64 = self
                .scratch
                .committed_offsets("swap")
                .values()
                .copied()
                .sum();
            if committed == self.produced as i64 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "events were not committed: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Returns the tag of each event's outputs, by event number; panics when the two outputs
    /// of one event differ.
    fn tags(&self) -> Vec<(i64, String)> {
        let mut by_event: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
        for record in self.scratch.consume("out") {
            let n = record["value"]["n"].as_i64().unwrap();
            let tag = header(&record, "tag").unwrap().to_string();
            let versions = header(&record, "weir.plugins").unwrap();
            assert!(versions.starts_with("tag@"), "{versions}");
            by_event.entry(n).or_default().push(tag);
        }
        by_event
            .into_iter()
            .map(|(n, tags)| {
                assert_eq!(tags.len(), 2, "event {n} has two outputs");
                assert_eq!(
                    tags[0], tags[1],
                    "both outputs of event {n} come from one version"
                );
                (n, tags[0].clone())
            })
            .collect()
    }

    /// Waits until the step's live version has the given generation (0 is the one at start).
    fn wait_for_generation(&self, generation: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while running_generation(&self.status()) != Some(generation) {
            assert!(
                Instant::now() < deadline,
                "the step never reached generation {generation}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn status(&self) -> Value {
        let output = self.weir(&["status", "--json"]);
        serde_json::from_slice(&output.stdout).unwrap()
    }

    fn stop(mut self) -> String {
        let mut child = self.child.take().unwrap();
        assert!(
            child.try_wait().unwrap().is_none(),
            "weir run still runs: {}",
            self.log()
        );
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(
            child.wait().unwrap().success(),
            "weir run exits 0: {}",
            self.log()
        );
        self.log()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn running_generation(status: &Value) -> Option<u64> {
    status["pipelines"][0]["steps"][0]["generation"].as_u64()
}

fn pipeline_yaml(scratch: &Scratch, plugin_path: &Path, batch_size: usize) -> String {
    format!(
        r#"
pipelines:
  - name: swap
    source: {{ kind: local, path: {data}, topics: [in], group: swap, poll_interval: 20ms, batch_size: {batch_size} }}
    steps:
      - name: tag
        plugin: {plugin}
        limits: {{ call_timeout: 1s }}
    sink: {{ kind: local, path: {data}, topic: out }}
"#,
        data = scratch.data_dir().display(),
        plugin = plugin_path.display(),
    )
}

fn tags_from(tags: &[(i64, String)], first: i64) -> Vec<&str> {
    let mut distinct: Vec<&str> = tags
        .iter()
        .filter(|(n, _)| *n >= first)
        .map(|(_, tag)| tag.as_str())
        .collect();
    distinct.dedup();
    distinct
}

#[test]
fn swap_and_rollback_through_the_cli() {
    let mut running = Running::start(&plugin("tag-v1"), &["--no-watch"]);
    running.produce_and_wait(500);

    let swapped = running.weir(&[
        "plugin",
        "swap",
        "swap",
        "tag",
        plugin("tag-v2").to_str().unwrap(),
    ]);
    assert!(swapped.status.success(), "{swapped:?}");
    assert!(String::from_utf8_lossy(&swapped.stdout).contains("generation 1"));
    running.produce_and_wait(500);

    let rolled_back = running.weir(&["plugin", "rollback", "swap", "tag"]);
    assert!(rolled_back.status.success(), "{rolled_back:?}");
    running.produce_and_wait(500);

    let no_more = running.weir(&["plugin", "rollback", "swap", "tag"]);
    assert!(!no_more.status.success());
    assert!(String::from_utf8_lossy(&no_more.stderr).contains("no previous version"));

    let tags = running.tags();
    assert_eq!(tags.len(), 1500, "every event has its outputs");
    assert_eq!(tags_from(&tags[..500], 0), ["v1"]);
    assert_eq!(tags_from(&tags[500..1000], 500), ["v2"]);
    assert_eq!(tags_from(&tags[1000..], 1000), ["v1"]);

    let status = running.status();
    let step = &status["pipelines"][0]["steps"][0];
    assert_eq!(step["generation"], 2);
    assert!(step["last_swap"]["error"].is_null());
    for partition in status["pipelines"][0]["partitions"].as_array().unwrap() {
        let digest = step["digest"].as_str().unwrap();
        assert_eq!(partition["versions"], format!("tag@{}", &digest[..12]));
    }
    let log = running.stop();
    assert!(
        log.contains("partition switched to a new step version"),
        "{log}"
    );
}

#[test]
fn bad_versions_leave_the_old_one_running() {
    let mut running = Running::start(&plugin("tag-v1"), &["--no-watch"]);
    running.produce_and_wait(100);

    let garbage = running.scratch.path().join("garbage.wasm");
    std::fs::write(&garbage, b"this is not WebAssembly").unwrap();
    let cases: [(PathBuf, &str); 5] = [
        (garbage, "is not WebAssembly"),
        (plugin("not-a-plugin"), "does not export"),
        (plugin("wrong-contract-version"), "weir:plugin@"),
        (plugin("tag-init-fails"), "always fails init"),
        (plugin("tag-init-hangs"), "deadline"),
    ];
    for (file, expected) in &cases {
        let output = running.weir(&["plugin", "swap", "swap", "tag", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{} was taken", file.display());
        assert!(stderr.contains("the old one keeps running"), "{stderr}");
        assert!(
            stderr.contains(expected),
            "{} gives: {stderr}",
            file.display()
        );

        let status = running.status();
        let step = &status["pipelines"][0]["steps"][0];
        assert_eq!(step["generation"], 0, "nothing was published");
        let error = step["last_swap"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(expected),
            "status shows the rejection: {error}"
        );
    }

    running.produce_and_wait(100);
    let tags = running.tags();
    assert_eq!(tags_from(&tags, 0), ["v1"]);
    let log = running.stop();
    assert!(
        log.contains("new step version rejected"),
        "the rejections are logged"
    );
}

#[test]
fn replaced_plugin_file_is_swapped_in() {
    let folder = tempfile::tempdir().unwrap();
    let deployed = folder.path().join("tag.wasm");
    std::fs::copy(plugin("tag-v1"), &deployed).unwrap();
    let mut running = Running::start(&deployed, &[]);
    running.produce_and_wait(200);

    // Deploy the way tools do: write a new file, then rename it over the old one.
    let staged = folder.path().join("tag.wasm.new");
    std::fs::copy(plugin("tag-v2"), &staged).unwrap();
    std::fs::rename(&staged, &deployed).unwrap();
    running.wait_for_generation(1);
    running.produce_and_wait(200);

    let tags = running.tags();
    assert_eq!(tags_from(&tags, 0), ["v1", "v2"]);
    assert_eq!(tags_from(&tags, 200), ["v2"]);
    running.stop();
}

#[test]
fn reading_watched_files_swaps_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let deployed = folder.path().join("tag.wasm");
    std::fs::copy(plugin("tag-v1"), &deployed).unwrap();
    let running = Running::start(&deployed, &[]);

    // Reading a file raises watch events too. They must not count as changes, or the swap,
    // which reads the file, would raise the next one.
    for _ in 0..3 {
        std::fs::read(&deployed).unwrap();
        std::fs::read(&running.pipeline).unwrap();
    }
    let staged = folder.path().join("tag.wasm.new");
    std::fs::copy(plugin("tag-v2"), &staged).unwrap();
    std::fs::rename(&staged, &deployed).unwrap();
    running.wait_for_generation(1);

    // Several settle periods of the watcher: a swap loop would have moved on by now.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(running_generation(&running.status()), Some(1));
    let log = running.stop();
    assert_eq!(log.matches("plugin file changed").count(), 1, "{log}");
    assert!(!log.contains("pipeline file changed"), "{log}");
}

#[test]
fn reloaded_plugin_folder_is_watched() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let deployed = first.path().join("tag.wasm");
    std::fs::copy(plugin("tag-v1"), &deployed).unwrap();
    let mut running = Running::start(&deployed, &[]);
    running.produce_and_wait(100);

    // Saving the pipeline file reloads it, which moves the step to a folder not watched yet.
    let moved = second.path().join("tag.wasm");
    std::fs::copy(plugin("tag-v2"), &moved).unwrap();
    let yaml = pipeline_yaml(&running.scratch, &moved, 50);
    std::fs::write(&running.pipeline, &yaml).unwrap();
    running.wait_for_generation(1);
    running.produce_and_wait(100);

    // A new version deployed into that folder is swapped in.
    let staged = second.path().join("tag.wasm.new");
    std::fs::copy(plugin("tag-v1"), &staged).unwrap();
    std::fs::rename(&staged, &moved).unwrap();
    running.wait_for_generation(2);
    running.produce_and_wait(100);

    let tags = running.tags();
    assert_eq!(tags_from(&tags, 0), ["v1", "v2", "v1"]);
    assert_eq!(tags_from(&tags, 100), ["v2", "v1"]);
    assert_eq!(tags_from(&tags, 200), ["v1"]);
    running.stop();
}

#[test]
fn settings_reload_keeps_swapped_plugin() {
    let mut running = Running::start(&plugin("tag-v1"), &["--no-watch"]);
    let tag_v2 = plugin("tag-v2");
    let swapped = running.weir(&["plugin", "swap", "swap", "tag", tag_v2.to_str().unwrap()]);
    assert!(swapped.status.success(), "{swapped:?}");
    running.produce_and_wait(100);

    // The file still names tag-v1. Changing only a setting keeps the swapped-in plugin.
    let yaml = pipeline_yaml(&running.scratch, &plugin("tag-v1"), 50)
        .replace("call_timeout: 1s", "call_timeout: 2s");
    std::fs::write(&running.pipeline, &yaml).unwrap();
    let reloaded = running.weir(&["reload"]);
    let stdout = String::from_utf8_lossy(&reloaded.stdout);
    assert!(reloaded.status.success(), "{reloaded:?}");
    assert!(stdout.contains("swap/tag: new settings"), "{stdout}");
    running.produce_and_wait(100);

    let tags = running.tags();
    assert_eq!(tags_from(&tags, 0), ["v2"]);
    running.stop();
}

#[test]
fn reload_applies_step_changes_and_rejects_the_rest() {
    let mut running = Running::start(&plugin("tag-v1"), &["--no-watch"]);
    running.produce_and_wait(100);

    // A step change is applied live.
    let yaml = pipeline_yaml(&running.scratch, &plugin("tag-v2"), 50);
    std::fs::write(&running.pipeline, &yaml).unwrap();
    let reloaded = running.weir(&["reload"]);
    assert!(reloaded.status.success(), "{reloaded:?}");
    assert!(String::from_utf8_lossy(&reloaded.stdout).contains("swap/tag"));
    running.produce_and_wait(100);

    // A change of settings alone publishes the same plugin with them.
    let yaml = yaml.replace("call_timeout: 1s", "call_timeout: 2s");
    std::fs::write(&running.pipeline, &yaml).unwrap();
    let reloaded = running.weir(&["reload"]);
    let stdout = String::from_utf8_lossy(&reloaded.stdout);
    assert!(reloaded.status.success(), "{reloaded:?}");
    assert!(stdout.contains("swap/tag: new settings"), "{stdout}");
    assert!(stdout.contains("generation 2"), "{stdout}");

    // A source change needs a restart, and changes nothing.
    let yaml = pipeline_yaml(&running.scratch, &plugin("tag-v1"), 70);
    std::fs::write(&running.pipeline, &yaml).unwrap();
    let rejected = running.weir(&["reload"]);
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert!(!rejected.status.success());
    assert!(stderr.contains("source.batch_size"), "{stderr}");
    assert!(stderr.contains("restart"), "{stderr}");
    running.produce_and_wait(100);

    let tags = running.tags();
    assert_eq!(tags_from(&tags, 0), ["v1", "v2"]);
    assert_eq!(tags_from(&tags, 100), ["v2"]);
    running.stop();
}
