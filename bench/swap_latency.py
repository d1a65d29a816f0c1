#!/usr/bin/env python3
"""Measures hot-swap latency under load.

Runs the quick-start pipeline on embedded topics with a fourth step, `tag`, over enough sample
orders to keep every partition busy, and swaps the `tag` step between the tag-v1 and tag-v2
test plugins through the admin API. For each swap it records two times, both from the moment
the request is sent:

- published: the API responded, so the version is compiled, checked and initialised;
- switched: every partition reports the new version in `GET /status`, polled every 5 ms.

Usage: bench/swap_latency.py [--swaps N] [--events N] [--partitions N] [--keep]

Only the Python standard library is used. Everything lives in a new temporary folder, and the
`weir run` it starts is stopped with SIGTERM at the end.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
WEIR = TARGET / "release" / "weir"
PLUGINS = TARGET / "wasm32-wasip2" / "plugin"


def build():
    print("building the release binary and the plugin components", file=sys.stderr)
    subprocess.run(
        ["cargo", "build", "--release", "-p", "weir", "--bin", "weir"], cwd=ROOT, check=True
    )
    packages = ["drop-test-orders", "redact-customer", "order-lines", "tag-v1", "tag-v2"]
    command = ["cargo", "build", "--target", "wasm32-wasip2", "--profile", "plugin"]
    for package in packages:
        command += ["-p", package]
    subprocess.run(command, cwd=ROOT, check=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def weir(work, *args, **kwargs):
    env = dict(os.environ, WEIR_DATA=str(work / "data"), WEIR_CACHE_DIR=str(work / "cache"))
    return subprocess.run([str(WEIR), *args], env=env, check=True, **kwargs)


def get_status(address):
    with urllib.request.urlopen(f"http://{address}/status", timeout=10) as response:
        return json.load(response)


def swap(address, pipeline, plugin_file):
    request = urllib.request.Request(
        f"http://{address}/pipelines/{pipeline}/steps/tag/plugin?name={plugin_file.name}",
        data=plugin_file.read_bytes(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.load(response)[0]


def pipeline_yaml(work, partitions):
    text = (ROOT / "pipelines" / "quickstart.yaml").read_text()
    text = text.replace("path: ../.weir/data", f"path: {work / 'data'}")
    text = text.replace("plugin: ../target/", f"plugin: {TARGET}/")
    if "../" in text:
        sys.exit("error: pipelines/quickstart.yaml changed; update the replacements in this script")
    tag_step = (
        f"      - name: tag\n"
        f"        plugin: {PLUGINS / 'tag_v1.wasm'}\n"
    )
    return text.replace("    sink:", tag_step + "    sink:", 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swaps", type=int, default=10, help="swaps to time (default 10)")
    parser.add_argument("--events", type=int, default=1_000_000, help="sample orders (default 1000000)")
    parser.add_argument("--partitions", type=int, default=6, help="partitions (default 6)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()

    build()
    work = Path(tempfile.mkdtemp(prefix="weir-swap-bench."))
    run = None
    try:
        for topic in ["orders", "orders-clean", "order-lines", "orders-dead-letter"]:
            weir(work, "topic", "create", topic, "--partitions", str(options.partitions),
                 stderr=subprocess.DEVNULL)
        orders = work / "orders.jsonl"
        weir(work, "sample", "orders", "--count", str(options.events), "--output", str(orders))
        weir(work, "topic", "produce", "orders", "--input", str(orders), stderr=subprocess.DEVNULL)
        pipeline = work / "pipeline.yaml"
        pipeline.write_text(pipeline_yaml(work, options.partitions))

        address = f"127.0.0.1:{free_port()}"
        log = open(work / "run.log", "w")
        env = dict(os.environ, WEIR_CACHE_DIR=str(work / "cache"))
        run = subprocess.Popen(
            [str(WEIR), "run", str(pipeline), "--admin", address, "--no-watch"],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )

        # Wait until every partition has processed a batch, so the swaps happen under load.
        deadline = time.monotonic() + 120
        while True:
            try:
                report = get_status(address)["pipelines"][0]
                if report["stats"]["events"] > 0 and len(report["partitions"]) == options.partitions:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"error: the pipeline did not start; see {work / 'run.log'}")
            time.sleep(0.05)

        versions = [PLUGINS / "tag_v2.wasm", PLUGINS / "tag_v1.wasm"]
        published, switched = [], []
        for index in range(options.swaps):
            events_before = get_status(address)["pipelines"][0]["stats"]["events"]
            started = time.perf_counter()
            answer = swap(address, report["name"], versions[index % 2])
            published.append(time.perf_counter() - started)
            expected = "tag@" + answer["to"][:12]
            while True:
                partitions = get_status(address)["pipelines"][0]["partitions"]
                if all(p["versions"].endswith(expected) for p in partitions):
                    break
                time.sleep(0.005)
            switched.append(time.perf_counter() - started)
            events_after = get_status(address)["pipelines"][0]["stats"]["events"]
            print(f"swap {index + 1}: published {published[-1] * 1000:.1f} ms, "
                  f"all partitions switched {switched[-1] * 1000:.1f} ms, "
                  f"{events_after - events_before} events committed meanwhile")
            time.sleep(0.2)

        final = get_status(address)["pipelines"][0]["stats"]["events"]
        if final >= options.events:
            print("warning: the input ran out during the swaps; use more --events", file=sys.stderr)
        print(f"published: median {statistics.median(published) * 1000:.1f} ms, "
              f"max {max(published) * 1000:.1f} ms")
        print(f"switched:  median {statistics.median(switched) * 1000:.1f} ms, "
              f"max {max(switched) * 1000:.1f} ms")
    finally:
        if run is not None:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=120)
        if options.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
