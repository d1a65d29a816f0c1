#!/usr/bin/env bash
# Installs and runs a single-node Apache Kafka broker (KRaft, broker and
# controller in one process) on 127.0.0.1 for Weir's integration tests.
# The jars come from Maven Central through pom.xml beside this script.
#
# Usage: kafka.sh install | start | stop | status | topics ARGS... | groups ARGS...
# README.md beside this script lists the environment variables.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
pom_file=$script_dir/pom.xml

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Reads the default Kafka version from the kafka.version property in pom.xml,
# so that the version is written in one place.
read_pom_kafka_version() {
    sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$pom_file" | head -n 1
}

kafka_version=${WEIR_KAFKA_VERSION:-$(read_pom_kafka_version)}
[[ -n $kafka_version ]] || die "missing Kafka version: set WEIR_KAFKA_VERSION or the kafka.version property in $pom_file"
if [[ -z ${WEIR_KAFKA_HOME:-} && -z ${HOME:-} ]]; then
    die "HOME is not set: set WEIR_KAFKA_HOME to the folder for the Kafka jars"
fi
kafka_home=${WEIR_KAFKA_HOME:-$HOME/.cache/weir/kafka-$kafka_version}
libs_dir=$kafka_home/libs
install_marker=$kafka_home/install-complete

# Below Linux's default ephemeral range (32768 to 60999): a port inside it can already be
# the local end of some client connection, and then the broker cannot bind it.
port=${WEIR_KAFKA_PORT:-19092}
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1024 || port > 65534)); then
    die "invalid WEIR_KAFKA_PORT '$port': expected a port from 1024 to 65534 (the controller uses the next port)"
fi
controller_port=$((port + 1))
bootstrap_servers=127.0.0.1:$port

start_timeout_seconds=${WEIR_KAFKA_START_TIMEOUT:-120}
if ! [[ $start_timeout_seconds =~ ^[0-9]+$ ]] || ((start_timeout_seconds < 1)); then
    die "invalid WEIR_KAFKA_START_TIMEOUT '$start_timeout_seconds': expected a whole number of seconds, at least 1"
fi
stop_timeout_seconds=30
kill_timeout_seconds=10

data_dir=${WEIR_KAFKA_DATA:-$repo_dir/.kafka}
server_config=$data_dir/server.properties
admin_config=$data_dir/admin.properties
kraft_log_dir=$data_dir/kraft-logs
logs_dir=$data_dir/logs
server_log=$logs_dir/server.log
broker_stdout=$logs_dir/broker.out
pid_file=$data_dir/broker.pid

java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
broker_jvm_options=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true)
# A short-lived tool JVM starts faster with the serial collector and the C1 compiler only.
tool_jvm_options=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

usage() {
    cat <<EOF
Usage: $(basename "$0") COMMAND [ARGS...]

Commands:
  install         Copy the Kafka $kafka_version jars from Maven into $libs_dir (skipped when complete).
  start           Install if needed, format fresh KRaft storage and start the broker on $bootstrap_servers.
  resume          Start the broker again on the storage of the last start, keeping its topics and offsets.
  stop            Stop the broker that 'start' started (SIGTERM, then SIGKILL after ${stop_timeout_seconds} s).
  status          Exit 0 if the broker that 'start' started is running and responds to an admin request.
  topics ARGS...  Run the kafka-topics tool with --bootstrap-server $bootstrap_servers.
  groups ARGS...  Run the kafka-consumer-groups tool with --bootstrap-server $bootstrap_servers.
EOF
}

# ---------------------------------------------------------------------------
# install

pom_checksum() { sha256sum "$pom_file" | cut -d ' ' -f 1; }

# The marker stores the version and the pom.xml checksum, so that editing
# pom.xml makes the next install copy the jars again.
expected_marker_content() { printf 'kafka_version=%s pom_sha256=%s\n' "$kafka_version" "$(pom_checksum)"; }

is_installed() {
    [[ -f $install_marker ]] && [[ $(cat "$install_marker") == "$(expected_marker_content)" ]]
}

install_kafka() {
    if is_installed; then
        log "Kafka $kafka_version is already installed in $libs_dir"
        return 0
    fi

    command -v mvn >/dev/null || die "mvn not found: install Maven 3 to fetch the Kafka jars"
    mkdir -p "$kafka_home"
    rm -f "$install_marker"
    rm -rf "$libs_dir"

    log "installing Kafka $kafka_version jars into $libs_dir"
    if ! mvn -B -q -f "$pom_file" -Dkafka.version="$kafka_version" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs_dir"; then
        die "mvn failed to copy the Kafka $kafka_version jars (see its output above). Check that this version is on Maven Central."
    fi
    [[ -f $libs_dir/kafka_2.13-$kafka_version.jar ]] ||
        die "install finished but $libs_dir/kafka_2.13-$kafka_version.jar is missing"

    expected_marker_content >"$install_marker"
    log "installed $(find "$libs_dir" -name '*.jar' | wc -l) jars ($(du -sh "$libs_dir" | cut -f 1)) into $libs_dir"
}

require_installed() {
    is_installed || die "Kafka $kafka_version is not installed in $kafka_home: run '$0 install' first"
}

# ---------------------------------------------------------------------------
# Java classes and tools

jar_contains() {
    local jar=$1 entry=$2
    if command -v unzip >/dev/null; then
        unzip -l "$jar" "$entry" >/dev/null 2>&1
    else
        jar tf "$jar" | grep -qxF "$entry"
    fi
}

# Prints the first of the given class names that a Kafka jar in libs contains.
# Kafka moved several tools between packages across versions, for example the
# storage tool is kafka.tools.StorageTool in Kafka 4.0.2 and 4.4.0.
find_main_class() {
    local class jar
    for class in "$@"; do
        for jar in "$libs_dir"/kafka_2.13-*.jar "$libs_dir"/kafka-tools-*.jar "$libs_dir"/kafka-storage-*.jar; do
            [[ -f $jar ]] || continue
            if jar_contains "$jar" "${class//.//}.class"; then
                printf '%s\n' "$class"
                return 0
            fi
        done
    done
    die "main class not found: none of $* is in the Kafka $kafka_version jars in $libs_dir"
}

storage_tool_class() { find_main_class org.apache.kafka.tools.StorageTool kafka.tools.StorageTool; }
topic_command_class() { find_main_class org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand; }
group_command_class() {
    find_main_class org.apache.kafka.tools.consumer.group.ConsumerGroupCommand kafka.admin.ConsumerGroupCommand
}

run_tool() {
    local main_class=$1
    shift
    "$java_bin" "${tool_jvm_options[@]}" \
        -Dlog4j2.configurationFile="$script_dir/log4j2-tools.properties" \
        -cp "$libs_dir/*" "$main_class" "$@"
}

# ---------------------------------------------------------------------------
# Broker process

# Prints the PID from the PID file if that process is a broker that this
# script started with this data folder. A PID that the system reused for
# another process does not match, because its command line differs.
read_broker_pid() {
    [[ -f $pid_file ]] || return 1
    local pid
    pid=$(<"$pid_file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    local command_line
    command_line=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    [[ $command_line == *" kafka.Kafka $server_config"* ]] || return 1
    printf '%s\n' "$pid"
}

is_port_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Lists topics as the readiness check: it succeeds only once the broker has
# joined the KRaft quorum and serves metadata. The admin client timeouts in
# admin.properties and `timeout` bound each check.
is_broker_ready() {
    [[ -f $admin_config ]] || return 1
    timeout 40 "$java_bin" "${tool_jvm_options[@]}" \
        -Dlog4j2.configurationFile="$script_dir/log4j2-tools.properties" \
        -cp "$libs_dir/*" "$(topic_command_class)" \
        --bootstrap-server "$bootstrap_servers" --command-config "$admin_config" --list \
        >/dev/null 2>&1
}

# True if a connected socket uses the port as its local end. Java binds over TIME_WAIT
# sockets but not over these. Without `ss` the check is skipped.
is_port_held() {
    command -v ss >/dev/null || return 1
    [[ -n $(ss -Htn "( sport = :$1 )" 2>/dev/null) ]]
}

# Warns when a port lies in the range the kernel hands out to outgoing connections: any
# client on the machine may hold it at the moment the broker binds.
warn_if_ephemeral() {
    local range_file=/proc/sys/net/ipv4/ip_local_port_range low high busy_port
    [[ -r $range_file ]] || return 0
    read -r low high <"$range_file"
    for busy_port in "$port" "$controller_port"; do
        if ((busy_port >= low && busy_port <= high)); then
            log "warning: port $busy_port lies in the ephemeral port range $low-$high, so an outgoing connection may hold it and the broker may fail to bind it. Set WEIR_KAFKA_PORT below $low."
        fi
    done
}

# Names the ports when the broker stopped because it could not bind a listener, a
# known cause of a broker exiting during start-up.
explain_bind_failure() {
    [[ -s $server_log ]] || return 0
    if grep -q 'Address already in use' "$server_log" "$broker_stdout" 2>/dev/null; then
        log "error: the broker could not bind 127.0.0.1:$port or 127.0.0.1:$controller_port: another socket holds it. Set WEIR_KAFKA_PORT to a free port below the ephemeral range."
    fi
}

print_log_tail() {
    local file
    if [[ -s $server_log ]] && grep -qE ' (ERROR|FATAL) ' "$server_log"; then
        log "first errors in $server_log:"
        grep -m 20 -E ' (ERROR|FATAL) |^Caused by:' "$server_log" >&2
    fi
    for file in "$broker_stdout" "$server_log"; do
        [[ -s $file ]] || continue
        log "last 40 lines of $file:"
        tail -n 40 "$file" >&2
    done
}

write_configs() {
    mkdir -p "$data_dir" "$logs_dir"
    cat >"$server_config" <<EOF
# Written by .ci/kafka/kafka.sh start. The next start overwrites it.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$kraft_log_dir
num.partitions=1
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
    cat >"$admin_config" <<EOF
# Admin client settings for the readiness check of .ci/kafka/kafka.sh.
request.timeout.ms=5000
default.api.timeout.ms=10000
EOF
}

# Formats the KRaft log folder with a new cluster id. The previous broker's
# topics and offsets are deleted, so every start begins with an empty cluster.
format_storage() {
    local storage_class format_log=$logs_dir/format.log cluster_id
    storage_class=$(storage_tool_class)
    rm -rf "$kraft_log_dir"
    cluster_id=$(run_tool "$storage_class" random-uuid 2>"$format_log") ||
        { cat "$format_log" >&2; die "$storage_class random-uuid failed"; }
    if ! run_tool "$storage_class" format --standalone --cluster-id "$cluster_id" \
        --config "$server_config" >>"$format_log" 2>&1; then
        cat "$format_log" >&2
        die "$storage_class format failed for $kraft_log_dir"
    fi
    log "formatted $kraft_log_dir with cluster id $cluster_id"
}

# Starts the broker in the background and writes its PID to the PID file.
# The previous server.log is deleted, so that a failed start shows only its own lines.
launch_broker() {
    rm -f "$server_log"
    nohup "$java_bin" "${broker_jvm_options[@]}" \
        -Dlog4j2.configurationFile="$script_dir/log4j2-broker.properties" \
        -Dkafka.logs.dir="$logs_dir" \
        -cp "$libs_dir/*" kafka.Kafka "$server_config" \
        >"$broker_stdout" 2>&1 </dev/null &
    printf '%s\n' "$!" >"$pid_file"
}

# Waits until the broker responds to an admin request. The wait ends early with
# an error if the broker process exits.
wait_until_ready() {
    local pid=$1 deadline=$((SECONDS + start_timeout_seconds)) attempt=0
    while ((SECONDS < deadline && attempt < start_timeout_seconds)); do
        attempt=$((attempt + 1))
        if ! kill -0 "$pid" 2>/dev/null; then
            log "error: the broker (PID $pid) exited during start-up"
            print_log_tail
            explain_bind_failure
            rm -f "$pid_file"
            return 1
        fi
        if is_port_open "$port" && is_broker_ready; then
            return 0
        fi
        sleep 1
    done
    log "error: the broker (PID $pid) did not respond to an admin request on $bootstrap_servers within ${start_timeout_seconds} s"
    print_log_tail
    return 1
}

start_broker() {
    install_kafka

    local pid
    if pid=$(read_broker_pid); then
        if is_broker_ready; then
            log "the broker is already running (PID $pid)"
            printf 'bootstrap servers: %s\n' "$bootstrap_servers"
            return 0
        fi
        log "the broker (PID $pid) is running but does not respond yet. Waiting up to ${start_timeout_seconds} s."
        wait_until_ready "$pid" || die "the broker (PID $pid) is not ready. Run '$0 stop', then start again."
        printf 'bootstrap servers: %s\n' "$bootstrap_servers"
        return 0
    fi
    rm -f "$pid_file"

    local busy_port
    for busy_port in "$port" "$controller_port"; do
        if is_port_open "$busy_port"; then
            die "port $busy_port on 127.0.0.1 is in use by a process that this script did not start. Stop it or set WEIR_KAFKA_PORT to another port."
        fi
        if is_port_held "$busy_port"; then
            die "port $busy_port on 127.0.0.1 is the local end of an open connection, so the broker cannot bind it. Wait for that connection to close or set WEIR_KAFKA_PORT to a port below the ephemeral range."
        fi
    done

    warn_if_ephemeral
    write_configs
    if [[ ${1:-} == resume ]]; then
        [[ -f $kraft_log_dir/meta.properties ]] ||
            die "no formatted storage in $kraft_log_dir to resume; use 'start'"
        log "resuming on the storage in $kraft_log_dir"
    else
        format_storage
    fi

    local started_at=$SECONDS
    launch_broker
    pid=$(<"$pid_file")
    log "started the broker (PID $pid) with its log in $server_log. Waiting up to ${start_timeout_seconds} s for it to respond."
    if ! wait_until_ready "$pid"; then
        stop_broker
        die "the broker failed to start"
    fi
    log "the broker is ready after $((SECONDS - started_at)) s"
    printf 'bootstrap servers: %s\n' "$bootstrap_servers"
}

# Waits up to $2 seconds for process $1 to exit. Returns 1 if it still runs.
wait_for_exit() {
    local pid=$1 timeout_seconds=$2 attempt=0
    local max_attempts=$((timeout_seconds * 5))
    while ((attempt < max_attempts)); do
        kill -0 "$pid" 2>/dev/null || return 0
        attempt=$((attempt + 1))
        sleep 0.2
    done
    ! kill -0 "$pid" 2>/dev/null
}

stop_broker() {
    local pid
    if ! pid=$(read_broker_pid); then
        if [[ -f $pid_file ]]; then
            log "PID $(<"$pid_file") is not a broker started by this script. Removing the stale $pid_file."
            rm -f "$pid_file"
        else
            log "no broker is running: $pid_file not found"
        fi
        return 0
    fi

    log "stopping the broker (PID $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$stop_timeout_seconds"; then
        log "the broker (PID $pid) did not exit within ${stop_timeout_seconds} s of SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for_exit "$pid" "$kill_timeout_seconds" ||
            die "the broker (PID $pid) is still running ${kill_timeout_seconds} s after SIGKILL"
    fi
    rm -f "$pid_file"
    log "stopped the broker (PID $pid)"
}

broker_status() {
    local pid
    if ! pid=$(read_broker_pid); then
        log "the broker is not running"
        return 1
    fi
    if ! is_broker_ready; then
        log "the broker (PID $pid) is running but does not respond to an admin request on $bootstrap_servers"
        return 1
    fi
    log "the broker (PID $pid) is running"
    printf 'bootstrap servers: %s\n' "$bootstrap_servers"
}

# ---------------------------------------------------------------------------

main() {
    local command=${1:-} main_class
    if [[ $# -gt 0 ]]; then
        shift
    fi
    case $command in
        install) install_kafka ;;
        start) start_broker ;;
        resume) start_broker resume ;;
        stop) stop_broker ;;
        status)
            require_installed
            broker_status
            ;;
        topics)
            require_installed
            main_class=$(topic_command_class)
            run_tool "$main_class" --bootstrap-server "$bootstrap_servers" "$@"
            ;;
        groups)
            require_installed
            main_class=$(group_command_class)
            run_tool "$main_class" --bootstrap-server "$bootstrap_servers" "$@"
            ;;
        -h | --help | help) usage ;;
        '')
            usage >&2
            exit 2
            ;;
        *)
            log "error: unknown command '$command'"
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
