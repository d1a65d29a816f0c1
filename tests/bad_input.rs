//! Bad input must fail with a clear error, a non-zero exit, and nothing committed.

mod common;

use std::path::{Path, PathBuf};

use common::{Scratch, plugin};

/// Creates the topics, one input event, and a one-step pipeline file whose step uses
/// `plugin_path` with `config`; returns the pipeline file.
fn one_step_pipeline(scratch: &Scratch, plugin_path: &Path, config: &str) -> PathBuf {
    scratch.create_topic("orders", 1);
    scratch.create_topic("orders-clean", 1);
    let input = scratch.path().join("events.jsonl");
    std::fs::write(
        &input,
        "{\"key\":\"ord-1\",\"value\":{\"type\":\"OrderCancelled\",\"order_id\":\"ord-1\"}}\n",
    )
    .unwrap();
    scratch.produce("orders", &input);

    let yaml = format!(
        "pipelines:\n  - name: bad\n    source:\n      kind: local\n      path: {data}\n      topics: [orders]\n      group: bad\n    steps:\n      - name: step\n        plugin: {plugin}\n{config}    sink:\n      kind: local\n      path: {data}\n      topic: orders-clean\n",
        data = scratch.data_dir().display(),
        plugin = plugin_path.display(),
    );
    scratch.write_pipeline("pipeline.yaml", &yaml)
}

/// Runs `validate` and `run` on `pipeline` and returns the error output of `run`, after
/// checking that both fail and that nothing was committed or written.
fn assert_rejected(scratch: &Scratch, pipeline: &Path, expected: &[&str]) -> String {
    let mut run_error = String::new();
    for command in ["validate", "run"] {
        let mut args = vec![command, pipeline.to_str().unwrap()];
        if command == "run" {
            args.push("--stop-at-end");
        }
        let output = scratch.run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(
            !output.status.success(),
            "`weir {command}` must fail; its output: {stderr}"
        );
        for text in expected {
            assert!(
                stderr.contains(text),
                "`weir {command}` error lacks `{text}`:\n{stderr}"
            );
        }
        run_error = stderr;
    }

    if scratch.data_dir().exists() {
        assert!(
            scratch.committed_offsets("bad").is_empty(),
            "nothing is committed"
        );
        let topics = String::from_utf8(scratch.run_ok(&["topic", "list"]).stdout).unwrap();
        if topics.contains("orders-clean") {
            assert!(
                scratch.consume("orders-clean").is_empty(),
                "nothing is written"
            );
        }
    }
    run_error
}

#[test]
fn yaml_syntax_error_names_line() {
    let scratch = Scratch::new();
    let pipeline = scratch.write_pipeline(
        "pipeline.yaml",
        "pipelines:\n  - name: bad\n    source: [unclosed\n    steps: []\n",
    );
    let error = assert_rejected(&scratch, &pipeline, &["pipeline.yaml:"]);
    assert!(
        error.contains("pipeline.yaml:3") || error.contains("pipeline.yaml:4"),
        "the error names the line of the unclosed list: {error}"
    );
}

#[test]
fn unknown_key_names_key_and_line() {
    let scratch = Scratch::new();
    let pipeline = one_step_pipeline(
        &scratch,
        &plugin("drop-test-orders"),
        "        retries: 3\n",
    );
    assert_rejected(&scratch, &pipeline, &["pipeline.yaml:11", "retries"]);
}

#[test]
fn missing_plugin_file() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing.wasm");
    let pipeline = one_step_pipeline(&scratch, &missing, "");
    assert_rejected(
        &scratch,
        &pipeline,
        &["pipeline.yaml:10", "missing.wasm", "not found"],
    );
}

#[test]
fn file_that_is_not_wasm() {
    let scratch = Scratch::new();
    let garbage = scratch.path().join("garbage.wasm");
    std::fs::write(&garbage, b"this is not WebAssembly").unwrap();
    let pipeline = one_step_pipeline(&scratch, &garbage, "");
    assert_rejected(&scratch, &pipeline, &["garbage.wasm", "is not WebAssembly"]);
}

#[test]
fn core_module_instead_of_component() {
    let scratch = Scratch::new();
    let core = scratch.path().join("core.wasm");
    let bytes = wat::parse_str("(module (func (export \"process\")))").unwrap();
    std::fs::write(&core, bytes).unwrap();
    let pipeline = one_step_pipeline(&scratch, &core, "");
    assert_rejected(
        &scratch,
        &pipeline,
        &["core.wasm", "core WebAssembly module, not a component"],
    );
}

#[test]
fn component_of_another_world() {
    let scratch = Scratch::new();
    let pipeline = one_step_pipeline(&scratch, &plugin("not-a-plugin"), "");
    assert_rejected(
        &scratch,
        &pipeline,
        &[
            "does not export `weir:plugin/handler@0.1.0`",
            "wasi:cli/run",
        ],
    );
}

#[test]
fn component_of_another_contract_version() {
    let scratch = Scratch::new();
    let pipeline = one_step_pipeline(&scratch, &plugin("wrong-contract-version"), "");
    assert_rejected(
        &scratch,
        &pipeline,
        &[
            "built for weir:plugin@0.2.0",
            "supports weir:plugin@0.1.0",
            "rebuild",
        ],
    );
}

#[test]
fn plugin_init_failure() {
    let scratch = Scratch::new();
    // order-lines requires `lines_topic`.
    let pipeline = one_step_pipeline(
        &scratch,
        &plugin("order-lines"),
        "        config: { other: 1 }\n",
    );
    assert_rejected(
        &scratch,
        &pipeline,
        &["rejected its config in init", "lines_topic"],
    );
}

#[test]
fn missing_source_topic() {
    let scratch = Scratch::new();
    let pipeline = one_step_pipeline(&scratch, &plugin("drop-test-orders"), "");
    let yaml = std::fs::read_to_string(&pipeline)
        .unwrap()
        .replace("topics: [orders]", "topics: [nope]");
    std::fs::write(&pipeline, yaml).unwrap();
    assert_rejected(
        &scratch,
        &pipeline,
        &["`nope` not found", "weir topic create nope"],
    );
}

#[test]
fn malformed_json_line_writes_nothing() {
    let scratch = Scratch::new();
    scratch.create_topic("orders", 2);
    let input = scratch.path().join("events.jsonl");
    std::fs::write(
        &input,
        "{\"key\":\"a\",\"value\":{\"n\":1}}\n{\"key\":\"b\",\"value\":{\"n\":2}}\n{\"key\":\"c\",\"value\":{\"n\":3\n",
    )
    .unwrap();

    let output = scratch.run(&[
        "topic",
        "produce",
        "orders",
        "--input",
        input.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "produce must fail: {stderr}");
    assert!(
        stderr.contains("line 3"),
        "the error names line 3: {stderr}"
    );
    assert!(
        stderr.contains("nothing was written"),
        "the error says nothing was written: {stderr}"
    );
    assert!(
        scratch.consume("orders").is_empty(),
        "no record of the file was appended"
    );
}

#[test]
fn second_run_on_an_embedded_group_is_rejected() {
    let scratch = Scratch::new();
    let pipeline = scratch.quickstart_pipeline(1, 256);
    let log_path = scratch.path().join("first.log");
    let mut first = scratch
        .command()
        .args(["run", pipeline.to_str().unwrap()])
        .env("WEIR_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !std::fs::read_to_string(&log_path)
        .unwrap()
        .contains("partition worker started")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never started"
        );
        assert!(first.try_wait().unwrap().is_none(), "the first run exited");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let output = scratch.run(&["run", pipeline.to_str().unwrap(), "--stop-at-end"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the second run started");
    assert!(
        stderr.contains("already consumed by another `weir run`"),
        "{stderr}"
    );

    std::process::Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(first.wait().unwrap().success());
}

#[test]
fn plugin_inspect_reports_each_kind() {
    let scratch = Scratch::new();
    let inspect = |path: &std::path::Path| {
        let output = scratch.run(&["plugin", "inspect", path.to_str().unwrap(), "--json"]);
        let report: Option<serde_json::Value> = serde_json::from_slice(&output.stdout).ok();
        (output.status.code(), report, output.stderr)
    };

    let (code, report, _) = inspect(&plugin("redact-customer"));
    let report = report.unwrap();
    assert_eq!(code, Some(0));
    assert!(report["problem"].is_null());
    assert_eq!(report["digest"].as_str().unwrap().len(), 64);
    assert_eq!(report["exports"][0], "weir:plugin/handler@0.1.0");

    let (code, report, _) = inspect(&plugin("wrong-contract-version"));
    assert_eq!(code, Some(1));
    let problem = report.unwrap()["problem"].as_str().unwrap().to_string();
    assert!(problem.contains("built for weir:plugin@0.2.0"), "{problem}");

    let (code, report, _) = inspect(&plugin("not-a-plugin"));
    assert_eq!(code, Some(1));
    let report = report.unwrap();
    assert_eq!(report["exports"][0], "wasi:cli/run@0.2.0");
    assert!(
        report["problem"]
            .as_str()
            .unwrap()
            .contains("another world")
    );

    let core = scratch.path().join("core.wasm");
    std::fs::write(&core, wat::parse_str("(module)").unwrap()).unwrap();
    let (code, report, stderr) = inspect(&core);
    assert_eq!(code, Some(1));
    assert!(report.is_none());
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(stderr.contains("weir plugin componentize"), "{stderr}");
}

#[test]
fn closed_stdout_ends_command_cleanly() {
    let scratch = Scratch::new();
    scratch.create_topic("orders", 1);
    let plugin_path = plugin("redact-customer");
    let commands: [&[&str]; 2] = [
        &["plugin", "inspect", plugin_path.to_str().unwrap(), "--json"],
        &["topic", "list"],
    ];

    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = scratch.command();
        command.args(args).stdout(writer);
        let output = command.output().unwrap();

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "weir {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "weir {args:?}: {stderr}");
    }
}
