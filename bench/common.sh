# Functions shared by the benchmark scripts. A script sources this file after it sets
# `weir` (the binary) and `work` (its scratch folder).

# Writes to $3 a copy of pipelines/quickstart.yaml with absolute paths: data in the folder $1
# and plugins under the Cargo target folder $2. $4 is the repository root.
write_quickstart_pipeline() {
    local data=$1 target_dir=$2 output=$3 root=$4
    sed -e "s|path: \.\./\.weir/data|path: $data|" \
        -e "s|plugin: \.\./target/|plugin: $target_dir/|" \
        "$root/pipelines/quickstart.yaml" >"$output"
    if grep -q '\.\./' "$output"; then
        echo "error: $output still has relative paths; update the sed patterns in" \
            "${BASH_SOURCE[0]} to match pipelines/quickstart.yaml" >&2
        exit 1
    fi
}

# Runs weir, printing its messages only when it fails.
run_weir_quietly() {
    if ! "$weir" "$@" 2>"$work/weir-messages.txt"; then
        echo "error: \`weir $*\` failed:" >&2
        cat "$work/weir-messages.txt" >&2
        exit 1
    fi
}
