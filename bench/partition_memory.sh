#!/usr/bin/env bash
# Measures the resident memory of `weir run` (release build) on the quick-start pipeline over
# embedded local topics with different partition counts, and estimates the cost of one
# partition from the slope of memory against partitions.
#
# For each partition count and run, on fresh topics in a new temporary folder:
# - idle: `weir run` on empty topics, without --stop-at-end. Once every partition worker has
#   started and a settling time has passed, the script reads VmRSS from /proc, then stops the
#   process with SIGTERM.
# - peak: the same pipeline with --stop-at-end over a fixed number of sample orders, under
#   /usr/bin/time -v, whose maximum resident set size covers the whole run, start-up included.
#
# Usage: bench/partition_memory.sh [--runs N] [--events N] [--partitions "1 6 24 96"]
#        [--settle SECONDS] [--keep]
# Set WEIR_BIN to measure that weir binary instead of building target/release/weir.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bench/partition_memory.sh [--runs N] [--events N] [--partitions LIST] [--settle S] [--keep]

  --runs N          runs per partition count, each on fresh topics (default 3)
  --events N        sample order events of each peak run (default 24000)
  --partitions LIST partition counts of the orders, orders-clean and order-lines topics,
                    separated by spaces (default "1 6 24 96")
  --settle S        seconds between the start of the last partition worker and the idle
                    reading (default 5)
  --keep            keep the temporary folder with the logs instead of deleting it

Set WEIR_BIN to measure that weir binary instead of building target/release/weir.
USAGE
}

runs=3
events=24000
partition_counts="1 6 24 96"
settle=5
keep=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
        --events) events="${2:?--events needs a value}"; shift 2 ;;
        --partitions) partition_counts="${2:?--partitions needs a value}"; shift 2 ;;
        --settle) settle="${2:?--settle needs a value}"; shift 2 ;;
        --keep) keep=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "error: unknown argument \`$1\`" >&2; usage >&2; exit 2 ;;
    esac
done
for value in "$runs" "$events" "$settle" $partition_counts; do
    if ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
        echo "error: \`$value\` is not a positive integer" >&2
        exit 2
    fi
done
if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time is missing; install the \`time\` package to measure peak RSS" >&2
    exit 1
fi

# Maximum wait for the partition workers of the idle run to start, and for a peak run.
start_timeout_s=120
run_timeout_s=600

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
weir="${WEIR_BIN:-$target_dir/release/weir}"

(
    cd "$root"
    if [[ -z "${WEIR_BIN:-}" ]]; then
        echo "building the release binary" >&2
        cargo build --release -p weir --bin weir
    fi
    echo "building the plugin components" >&2
    cargo build --target wasm32-wasip2 --profile plugin \
        -p drop-test-orders -p redact-customer -p order-lines
)

work="$(mktemp -d "${TMPDIR:-/tmp}/bench-partition-memory.XXXXXX")"
weir_pid=""
cleanup() {
    if [[ -n "$weir_pid" ]] && kill -0 "$weir_pid" 2>/dev/null; then
        kill "$weir_pid" 2>/dev/null || true
        wait "$weir_pid" 2>/dev/null || true
    fi
    if [[ "$keep" == true ]]; then
        echo "kept the logs and data in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

data="$work/data"
cache="$work/cache"
pipeline="$work/quickstart.yaml"

# shellcheck source=bench/common.sh
source "$root/bench/common.sh"
write_quickstart_pipeline "$data" "$target_dir" "$pipeline" "$root"

# Deletes the data and creates the quick-start topics with `$1` partitions.
create_topics() {
    rm -rf "$data"
    for topic in orders orders-clean order-lines; do
        run_weir_quietly topic create "$topic" --partitions "$1" --data "$data"
    done
    run_weir_quietly topic create orders-dead-letter --partitions 1 --data "$data"
}

# Prints the resident set size of process `$1` in KiB, from the field `$2` of its status.
status_kib() {
    awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# Starts weir on empty topics with `$1` partitions and sets idle_kib and idle_hwm_kib to its
# VmRSS and VmHWM once every partition worker has run for the settling time. It runs in the
# script's own shell, so that the exit trap can stop the process.
measure_idle() {
    local partitions="$1" log="$2"
    create_topics "$partitions"
    "$weir" --log info --log-format json run "$pipeline" --admin off --no-watch \
        --cache-dir "$cache" 2>"$log" &
    weir_pid=$!

    local waited=0
    while [[ "$(grep -c '"partition worker started"' "$log" || true)" -lt "$partitions" ]]; do
        if ! kill -0 "$weir_pid" 2>/dev/null; then
            echo "error: weir exited before its partition workers started; the end of $log:" >&2
            tail -n 20 "$log" >&2
            exit 1
        fi
        if [[ "$waited" -ge $((start_timeout_s * 10)) ]]; then
            echo "error: the partition workers did not start within ${start_timeout_s} s" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    sleep "$settle"

    idle_kib="$(status_kib "$weir_pid" VmRSS)"
    idle_hwm_kib="$(status_kib "$weir_pid" VmHWM)"
    kill -TERM "$weir_pid"
    wait "$weir_pid" || true
    weir_pid=""
}

# Runs weir with --stop-at-end over the sample orders on `$1` partitions and sets peak_kib
# to its maximum resident set size in KiB and wall to its wall time in seconds.
measure_peak() {
    local partitions="$1" log="$2"
    create_topics "$partitions"
    run_weir_quietly topic produce orders --input "$work/orders.jsonl" --data "$data"

    local started finished
    started=$(date +%s%N)
    if ! timeout "$run_timeout_s" /usr/bin/time -v -o "$work/time.txt" \
        "$weir" --log info --log-format json run "$pipeline" --stop-at-end --admin off \
        --no-watch --cache-dir "$cache" 2>"$log"; then
        echo "error: the peak run failed or ran longer than ${run_timeout_s} s; the end of" \
            "$log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    finished=$(date +%s%N)
    if ! grep -q "\"events\":$events" "$log"; then
        echo "error: the peak run did not process $events events; see $log" >&2
        keep=true
        exit 1
    fi

    peak_kib="$(awk '/Maximum resident set size/ { print $NF }' "$work/time.txt")"
    wall="$(awk -v ns="$((finished - started))" 'BEGIN { printf "%.3f", ns / 1e9 }')"
}

run_weir_quietly sample orders --count "$events" --output "$work/orders.jsonl"
# Compiles the plugins into the cache, so that no run measures the compilation.
create_topics 1
run_weir_quietly validate "$pipeline" --cache-dir "$cache" >/dev/null

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "weir binary: $weir"
echo "peak runs: $events events each, in $work"
printf '%-10s %-4s %14s %14s %14s %8s\n' partitions run "idle RSS MiB" "idle HWM MiB" \
    "peak RSS MiB" "wall s"
results="$work/results.txt"
: >"$results"
for partitions in $partition_counts; do
    for run in $(seq 1 "$runs"); do
        measure_idle "$partitions" "$work/idle-$partitions-$run.log"
        measure_peak "$partitions" "$work/peak-$partitions-$run.log"
        awk -v p="$partitions" -v run="$run" -v idle="$idle_kib" -v hwm="$idle_hwm_kib" \
            -v peak="$peak_kib" -v wall="$wall" \
            'BEGIN { printf "%-10s %-4s %14.1f %14.1f %14.1f %8.3f\n", p, run, idle / 1024,
                     hwm / 1024, peak / 1024, wall }' | tee -a "$results"
    done
done

# Prints, per partition count, the medians of the idle and peak columns, and then the
# least-squares slope of each against the partition count: the estimated cost of one more
# partition.
echo
awk '
    function median(list, count,    sorted, i, j, swap) {
        for (i = 1; i <= count; i++) { sorted[i] = list[i] }
        for (i = 2; i <= count; i++) {
            for (j = i; j > 1 && sorted[j - 1] > sorted[j]; j--) {
                swap = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = swap
            }
        }
        if (count % 2 == 1) { return sorted[(count + 1) / 2] }
        return (sorted[count / 2] + sorted[count / 2 + 1]) / 2
    }
    {
        if (!($1 in seen)) { seen[$1] = 1; order[++groups] = $1 }
        n[$1]++
        idle[$1, n[$1]] = $3
        peak[$1, n[$1]] = $5
    }
    END {
        printf "%-10s %16s %16s\n", "partitions", "median idle MiB", "median peak MiB"
        for (g = 1; g <= groups; g++) {
            p = order[g]
            for (i = 1; i <= n[p]; i++) { a[i] = idle[p, i]; b[i] = peak[p, i] }
            x[g] = p; yi[g] = median(a, n[p]); yp[g] = median(b, n[p])
            printf "%-10s %16.1f %16.1f\n", p, yi[g], yp[g]
        }
        if (groups < 2) { exit }
        for (g = 1; g <= groups; g++) { sx += x[g]; si += yi[g]; sp += yp[g] }
        mx = sx / groups; mi = si / groups; mp = sp / groups
        for (g = 1; g <= groups; g++) {
            sxx += (x[g] - mx) ^ 2
            sxi += (x[g] - mx) * (yi[g] - mi)
            sxp += (x[g] - mx) * (yp[g] - mp)
        }
        printf "estimated cost of one partition (least-squares slope): idle %.2f MiB, peak %.2f MiB\n",
            sxi / sxx, sxp / sxx
    }' "$results"
