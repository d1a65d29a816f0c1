#!/usr/bin/env bash
# Times the quick-start pipeline end to end: `weir run --stop-at-end` over sample orders on
# embedded local topics, several runs with fresh data each. Prints each run's events/s, CPU
# time and, when /usr/bin/time is installed, peak RSS, and then the medians.
#
# Everything lives in a new temporary folder (under $TMPDIR, else /tmp), with its own copy
# of pipelines/quickstart.yaml, so the repository's .weir/ is never touched. The first run
# compiles the plugins into the folder's empty cache, and later runs load them from it.
#
# Usage: bench/quickstart.sh [--runs N] [--events N] [--partitions N] [--keep]
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/quickstart.sh [--runs N] [--events N] [--partitions N] [--keep]

  --runs N        timed runs, each on fresh data (default 3)
  --events N      sample order events per run (default 100000)
  --partitions N  partitions of the orders, orders-clean and order-lines topics (default 6)
  --keep          keep the temporary folder with the logs instead of deleting it

Set TMPDIR to choose the file system of the data, such as TMPDIR=/dev/shm for tmpfs,
where fsync costs almost nothing.
EOF
}

runs=3
events=100000
partitions=6
keep=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="${2:?--runs needs a value}"; shift 2 ;;
        --events) events="${2:?--events needs a value}"; shift 2 ;;
        --partitions) partitions="${2:?--partitions needs a value}"; shift 2 ;;
        --keep) keep=true; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "error: unknown argument \`$1\`" >&2; usage >&2; exit 2 ;;
    esac
done
for value in "$runs" "$events" "$partitions"; do
    if ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
        echo "error: \`$value\` is not a positive integer" >&2
        exit 2
    fi
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
weir="$target_dir/release/weir"

echo "building the release binary and the plugin components" >&2
(
    cd "$root"
    cargo build --release -p weir --bin weir
    cargo build --target wasm32-wasip2 --profile plugin \
        -p drop-test-orders -p redact-customer -p order-lines
)

work="$(mktemp -d "${TMPDIR:-/tmp}/weir-quickstart-bench.XXXXXX")"
cleanup() {
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

run_weir_quietly sample orders --count "$events" --output "$work/orders.jsonl"

time_command=()
if [[ -x /usr/bin/time ]]; then
    time_command=(/usr/bin/time -v -o "$work/time.txt")
else
    echo "note: /usr/bin/time is missing, so peak RSS is not measured; install the \`time\`" \
        "package to measure it" >&2
fi

# Prints the CPU time, in seconds, that the machine's processes have used since boot.
busy_cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { print ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}

# Prints the integer field `$2` of the JSON log line `$1`, or nothing when it has none.
json_field() {
    { grep -o "\"$2\":[0-9]*" <<<"$1" || true; } | head -n 1 | cut -d: -f2
}

echo "machine: $(nproc) CPUs, $(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "data: $events events, $partitions partitions, in $work"
# `weir CPU s` is the user and system time of the weir process. Far below the wall time
# times the CPU count, it means the run waited, for fsync or for SQLite's write lock.
# `other CPU s` is the CPU time of every other process during the run. When that is more
# than a small fraction of the wall time, the run's figures are not reliable. It is the
# difference of two differently kept counters, so a quiet run can show a small negative
# value, such as -0.14 s.
printf '%-4s %-6s %8s %9s %13s %16s %13s %11s %12s\n' run cache "wall s" "events/s" \
    "processing s" "processing ev/s" "peak RSS MiB" "weir CPU s" "other CPU s"

results="$work/results.txt"
: >"$results"
for run in $(seq 1 "$runs"); do
    rm -rf "$data"
    for topic in orders orders-clean order-lines; do
        run_weir_quietly topic create "$topic" --partitions "$partitions" --data "$data"
    done
    run_weir_quietly topic create orders-dead-letter --partitions 1 --data "$data"
    run_weir_quietly topic produce orders --input "$work/orders.jsonl" --data "$data"

    log="$work/run-$run.log"
    busy_before="$(busy_cpu_seconds)"
    started=$(date +%s%N)
    if ! "${time_command[@]}" "$weir" --log info --log-format json \
        run "$pipeline" --stop-at-end --cache-dir "$cache" 2>"$log"; then
        echo "error: run $run failed; the end of its log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    finished=$(date +%s%N)
    busy_after="$(busy_cpu_seconds)"

    stopped="$(grep '"message":"pipeline stopped"' "$log" || true)"
    processed="$(json_field "$stopped" events)"
    if [[ "$processed" != "$events" ]]; then
        echo "error: run $run processed ${processed:-no} events, expected $events; see $log" >&2
        keep=true
        exit 1
    fi
    elapsed_ms="$(json_field "$stopped" elapsed_ms)"

    cache_state=warm
    if grep -q '"message":"compiled plugin component"' "$log"; then
        cache_state=cold
    fi

    rss_kib=""
    weir_cpu=""
    if [[ -f "$work/time.txt" ]]; then
        rss_kib="$(awk '/Maximum resident set size/ { print $NF }' "$work/time.txt")"
        weir_cpu="$(awk '/(User|System) time \(seconds\)/ { sum += $NF } END { print sum }' \
            "$work/time.txt")"
    fi

    awk -v run="$run" -v cache="$cache_state" -v events="$events" \
        -v wall_ns="$((finished - started))" -v elapsed_ms="$elapsed_ms" -v rss_kib="$rss_kib" \
        -v busy="$(awk -v a="$busy_after" -v b="$busy_before" 'BEGIN { print a - b }')" \
        -v weir_cpu="$weir_cpu" \
        'BEGIN {
            wall = wall_ns / 1e9
            processing = elapsed_ms / 1000
            rss = (rss_kib == "") ? "n/a" : sprintf("%.1f", rss_kib / 1024)
            own = (weir_cpu == "") ? "n/a" : sprintf("%.2f", weir_cpu)
            other = (weir_cpu == "") ? "n/a" : sprintf("%.2f", busy - weir_cpu)
            printf "%-4s %-6s %8.3f %9.0f %13.3f %16.0f %13s %11s %12s\n", run, cache,
                wall, events / wall, processing, events / processing, rss, own, other
        }' | tee -a "$results"
done

# Prints the median of column `$1` of the results.
median() {
    awk -v column="$1" '{ print $column }' "$results" | sort -g |
        awk '{ values[NR] = $1 }
             END {
                 middle = int((NR + 1) / 2)
                 if (NR % 2 == 1) { print values[middle] }
                 else { print (values[middle] + values[middle + 1]) / 2 }
             }'
}

echo "medians of $runs runs, column by column: $(median 4) events/s over wall time" \
    "($(median 3) s), $(median 6) events/s over processing time ($(median 5) s)," \
    "peak RSS $(median 7) MiB, weir CPU $(median 8) s"
outputs="$(json_field "$stopped" outputs)"
dead_lettered="$(json_field "$stopped" dead_lettered)"
echo "each run wrote $outputs outputs and $dead_lettered dead letters"
