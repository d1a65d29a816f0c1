//! Plugins in every supported language, built from source in this run: each build of the
//! redact-customer reference plugin must give the shared vectors' results through the real
//! runtime at several batch sizes, and each language's `weir plugin new` template must build
//! with its one documented command and pass its own fixtures.
//!
//! The toolchains are installed by `guest-sdk/<language>/install.sh`, which
//! `scripts/test.sh` runs before the tests.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Scratch, plugin, target_dir, workspace_root};

const BATCH_SIZES: [&str; 3] = ["1", "7", "256"];

fn vectors() -> PathBuf {
    workspace_root().join("tests/vectors/redact-customer")
}

/// Runs `weir test` on `component` over the shared vectors at each batch size.
fn assert_vectors_pass(scratch: &Scratch, component: &Path) {
    for batch_size in BATCH_SIZES {
        let output = scratch.run(&[
            "test",
            component.to_str().unwrap(),
            "--input",
            vectors().join("input.jsonl").to_str().unwrap(),
            "--expect",
            vectors().join("expected.jsonl").to_str().unwrap(),
            "--config",
            "mask=[hidden]",
            "--batch-size",
            batch_size,
        ]);
        assert!(
            output.status.success(),
            "{} fails the shared vectors at batch size {batch_size}:\n{}\n{}",
            component.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs `component` over 20,000 sample orders at batch sizes 1 and 256. Checks that every
/// result matches the Rust build's and that no call trapped. The trap check is separate
/// because the runtime replays a trapped batch one event at a time, which hides the trap
/// from the comparison.
fn assert_matches_rust_under_load(scratch: &Scratch, component: &Path) {
    let input = scratch.path().join("orders.jsonl");
    let expected = scratch.path().join("orders-expected.jsonl");
    if !expected.exists() {
        scratch.run_ok(&[
            "sample",
            "orders",
            "--count",
            "20000",
            "--output",
            input.to_str().unwrap(),
        ]);
        scratch.run_ok(&[
            "test",
            plugin("redact-customer").to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--expect",
            expected.to_str().unwrap(),
            "--record",
        ]);
    }

    for batch_size in ["1", "256"] {
        let output = scratch.run(&[
            "test",
            component.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--expect",
            expected.to_str().unwrap(),
            "--batch-size",
            batch_size,
        ]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{} differs from the Rust build on sample orders at batch size {batch_size}:\n{}",
            component.display(),
            stdout.lines().take(20).collect::<Vec<_>>().join("\n")
        );
        assert!(
            !stderr.contains("plugin call failed"),
            "{} trapped on sample orders at batch size {batch_size}:\n{stderr}",
            component.display()
        );
    }
}

/// Builds `source` with the language's build script into `output`.
fn build(language: &str, source: &Path, output: &Path) {
    let script = workspace_root().join(format!("guest-sdk/{language}/build.sh"));
    let status = Command::new("bash")
        .arg(&script)
        .arg(source)
        .arg(output)
        .env("WEIR_BIN", env!("CARGO_BIN_EXE_weir"))
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "`bash {} {} {}` failed: {status}",
        script.display(),
        source.display(),
        output.display()
    );
}

/// Creates a project from the language's template and checks that it builds and passes
/// its own fixtures.
fn assert_template_works(scratch: &Scratch, language: &str, build_it: impl Fn(&Path) -> PathBuf) {
    let project = scratch.path().join("demo");
    let created = scratch.run(&[
        "plugin",
        "new",
        "--lang",
        language,
        "demo",
        "--dir",
        project.to_str().unwrap(),
    ]);
    assert!(created.status.success(), "{created:?}");

    // The templates of languages whose SDK has a `test.sh` ship unit tests that it runs.
    let unit_tests = workspace_root().join(format!("guest-sdk/{language}/test.sh"));
    if unit_tests.exists() {
        let output = Command::new("bash")
            .arg(&unit_tests)
            .arg(&project)
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "the {language} template's unit tests fail:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let component = build_it(&project);
    let output = scratch.run(&[
        "test",
        component.to_str().unwrap(),
        "--input",
        project.join("fixtures/input.jsonl").to_str().unwrap(),
        "--expect",
        project.join("fixtures/expected.jsonl").to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "the {language} template fails its fixtures:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds and checks the reference plugin and the template of a language that has a
/// `build.sh`.
fn check_language(language: &str) {
    let scratch = Scratch::new();
    let out_dir = target_dir().join(format!("lang/{language}"));
    std::fs::create_dir_all(&out_dir).unwrap();

    let component = out_dir.join("redact_customer.wasm");
    build(
        language,
        &workspace_root().join(format!("plugins/redact-customer-{language}")),
        &component,
    );
    assert_vectors_pass(&scratch, &component);
    assert_matches_rust_under_load(&scratch, &component);

    assert_template_works(&scratch, language, |project| {
        let component = out_dir.join("demo.wasm");
        build(language, project, &component);
        component
    });
}

#[test]
fn rust_plugin_passes_vectors_and_template_builds() {
    let scratch = Scratch::new();
    assert_vectors_pass(&scratch, &plugin("redact-customer"));

    assert_template_works(&scratch, "rust", |project| {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--target", "wasm32-wasip2", "--release"])
            .current_dir(project)
            .env("CARGO_TARGET_DIR", target_dir().join("lang/rust"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "the Rust template does not build");
        target_dir().join("lang/rust/wasm32-wasip2/release/demo.wasm")
    });
}

#[test]
fn rust_wasip1_build_componentized_passes_vectors() {
    // The C and Go route: a WASI preview 1 core module made into a component by weir.
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--target",
            "wasm32-wasip1",
            "--profile",
            "plugin",
            "-p",
            "redact-customer",
        ])
        .current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir().join("lang/wasip1"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the wasip1 build failed");
    let module = target_dir().join("lang/wasip1/wasm32-wasip1/plugin/redact_customer.wasm");

    let scratch = Scratch::new();
    let component = scratch.path().join("redact_customer.wasm");
    let output = scratch.run(&[
        "plugin",
        "componentize",
        module.to_str().unwrap(),
        "--output",
        component.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_vectors_pass(&scratch, &component);
}

#[test]
fn c_plugin_passes_vectors_and_template_builds() {
    check_language("c");
}

#[test]
fn python_plugin_passes_vectors_and_template_builds() {
    check_language("python");
}

#[test]
fn javascript_plugin_passes_vectors_and_template_builds() {
    check_language("javascript");
}

#[test]
fn go_plugin_passes_vectors_and_template_builds() {
    check_language("go");
}

#[test]
fn native_unit_tests_pass() {
    // Each language's own unit tests of its SDK and its redact-customer port, run on the
    // host: C under AddressSanitizer and UndefinedBehaviorSanitizer, Python, Go and
    // JavaScript (on Node.js) with their standard test runners.
    let commands: [(&str, &[&str], &str); 7] = [
        ("bash", &["guest-sdk/c/tests/run.sh"], "."),
        ("bash", &["plugins/redact-customer-c/tests/run.sh"], "."),
        (
            "bash",
            &["guest-sdk/python/test.sh", "plugins/redact-customer-python"],
            ".",
        ),
        (
            "bash",
            &["guest-sdk/go/test.sh", "plugins/redact-customer-go"],
            ".",
        ),
        ("go", &["test", "./..."], "guest-sdk/go"),
        (
            "bash",
            &["guest-sdk/javascript/test.sh", "guest-sdk/javascript/tests"],
            ".",
        ),
        (
            "bash",
            &[
                "guest-sdk/javascript/test.sh",
                "plugins/redact-customer-javascript",
            ],
            ".",
        ),
    ];
    for (program, args, folder) in commands {
        let output = Command::new(program)
            .args(args)
            .current_dir(workspace_root().join(folder))
            .output()
            .expect("the test command runs");
        assert!(
            output.status.success(),
            "`{program} {}` in {folder} failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
