#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for dev/tests.
#
#   deploy/kafka.sh start    start (no-op if already running and answering), wait until ready
#   deploy/kafka.sh stop     SIGTERM, wait up to 30 s, then SIGKILL (no-op if not running)
#   deploy/kafka.sh kill     SIGKILL at once (fault tests)
#   deploy/kafka.sh status   exit 0 if running and answering, 3 otherwise
#   deploy/kafka.sh restart  stop + start
#   deploy/kafka.sh classpath  resolve (if needed) and print the broker classpath file
#
# The broker jars come from Maven Central via deploy/kafka/pom.xml; the jars live
# in the Maven cache (~/.m2) and the computed classpath is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/budapest-platform/kafka/, keyed by the pom's checksum.
#
# Env:
#   BP_VAR_DIR       runtime dir (default <repo>/var); Kafka uses $BP_VAR_DIR/kafka
#   KAFKA_DATA_DIR   log dirs (default $BP_VAR_DIR/kafka/data)
#   KAFKA_PORT       PLAINTEXT port (default 9092); controller port = KAFKA_PORT+1
#   KAFKA_HEAP_OPTS  default "-Xmx512m -Xms256m"
#   KAFKA_JVM_OPTS   extra JVM options
#   KAFKA_START_TIMEOUT  seconds to wait for readiness (default 90)
#   PYTHON           python used for the readiness probe (default python3)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
VAR_DIR="${BP_VAR_DIR:-$REPO_ROOT/var}"
KAFKA_VAR="$VAR_DIR/kafka"
DATA_DIR="${KAFKA_DATA_DIR:-$KAFKA_VAR/data}"
PID_FILE="$KAFKA_VAR/broker.pid"
LOG_FILE="$KAFKA_VAR/broker.log"
OUT_FILE="$KAFKA_VAR/broker.out"          # JVM stdout/stderr (crashes, GC errors)
PROPS_FILE="$KAFKA_VAR/server.properties"
KAFKA_PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="$((KAFKA_PORT + 1))"
HOST="127.0.0.1"
POM="$SCRIPT_DIR/kafka/pom.xml"
LOG4J_CONF="$SCRIPT_DIR/kafka/log4j2.xml"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/budapest-platform/kafka"
CP_FILE="$CACHE_DIR/classpath.txt"
CP_SUM_FILE="$CACHE_DIR/pom.sha256"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT=30
PYTHON="${PYTHON:-python3}"
LOG_OFFSET=0   # byte offset of broker.log at our launch (for the log-based readiness check)
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

BP_SCRIPT=kafka.sh
# shellcheck source=deploy/lib.sh
source "$SCRIPT_DIR/lib.sh"

case "$KAFKA_PORT" in ''|*[!0-9]*) die "KAFKA_PORT must be a number, got '$KAFKA_PORT'";; esac

# ---------------------------------------------------------------- helpers

# Our broker: the pid from the pid file, alive, and a java running kafka.Kafka with our props.
broker_pid() {
  local pid
  pid="$(pid_from_file "$PID_FILE")" || return 1
  pid_alive "$pid" || return 1
  cmdline_has "$pid" "kafka.Kafka $PROPS_FILE" || return 1
  echo "$pid"
}

# Fallback when the pid file is gone: a broker started with our properties file.
orphan_pids() {
  pgrep -f -- "kafka.Kafka $PROPS_FILE" 2>/dev/null || true
}

ensure_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  if ((${#missing[@]})); then
    [[ "$(id -u)" == 0 ]] || die "missing ${missing[*]} (need Java 17+ and Maven); install them or run as root"
    log "installing ${missing[*]} from Debian packages"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; } >&2 \
      || die "apt-get install ${missing[*]} failed"
  fi
  local v
  v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  [[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge 17 ]] || die "Kafka 4 needs Java 17+, found java.specification.version='$v'"
}

pom_sum() { sha256sum "$POM" | cut -d' ' -f1; }

classpath_valid() {
  [[ -s "$CP_FILE" && -f "$CP_SUM_FILE" ]] || return 1
  [[ "$(cat "$CP_SUM_FILE")" == "$(pom_sum)" ]] || return 1
  local jar
  # every jar must still be in the Maven cache
  while IFS= read -r jar; do
    [[ -f "$jar" ]] || return 1
  done < <(tr ':' '\n' <"$CP_FILE")
}

resolve_classpath() {
  if classpath_valid; then return 0; fi
  ensure_tools
  mkdir -p "$CACHE_DIR"
  log "resolving Kafka broker classpath with Maven (first run downloads ~40 MB of jars into the Maven cache) ..."
  local tmp mvn_log t0
  tmp="$(mktemp "$CACHE_DIR/classpath.XXXXXX")"
  mvn_log="$CACHE_DIR/mvn.log"
  t0=$SECONDS
  if ! mvn -B -q -f "$POM" "$DEP_PLUGIN:build-classpath" \
        -Dmdep.outputFile="$tmp" -Dmdep.includeScope=runtime >"$mvn_log" 2>&1; then
    rm -f "$tmp"
    tail -n 40 "$mvn_log" >&2 || true
    die "Maven could not resolve the Kafka broker from $POM (full log: $mvn_log)"
  fi
  [[ -s "$tmp" ]] || { rm -f "$tmp"; die "Maven produced an empty classpath (log: $mvn_log)"; }
  chmod 644 "$tmp"
  mv -f "$tmp" "$CP_FILE"
  pom_sum >"$CP_SUM_FILE"
  log "classpath resolved in $((SECONDS - t0)) s -> $CP_FILE"
}

write_properties() {
  mkdir -p "$KAFKA_VAR" "$DATA_DIR"
  cat >"$PROPS_FILE.tmp" <<EOF
# Generated by deploy/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
log.dirs=$DATA_DIR

# small machine
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4

# test friendly
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
offsets.topic.num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
log.retention.hours=168
# after a SIGKILL the restarted broker must wait for its old registration to
# expire (DUPLICATE_BROKER_REGISTRATION); default 9 s, keep restarts quick
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=500
log.segment.bytes=67108864

# latency: the group coordinator writes each offset commit at once instead of lingering 5 ms
# (Kafka 4's default) for others to batch with; commits here come one consumer at a time
group.coordinator.append.linger.ms=0
EOF
  mv -f "$PROPS_FILE.tmp" "$PROPS_FILE"
}

jvm_args() {  # fills JVM_ARGS
  # shellcheck disable=SC2206
  JVM_ARGS=(java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$LOG4J_CONF" "-Dkafka.log.file=$LOG_FILE"
    ${KAFKA_JVM_OPTS:-} -cp "$(cat "$CP_FILE")")
}

java_cmd() {  # java_cmd MAINCLASS ARGS... (foreground)
  jvm_args
  "${JVM_ARGS[@]}" "$@"
}

format_storage() {
  # already formatted (changing KAFKA_PORT later is fine for this single-node quorum)
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  local cid fmt_out
  log "formatting KRaft storage in $DATA_DIR"
  cid="$(java_cmd kafka.tools.StorageTool random-uuid 2>>"$OUT_FILE" | tail -n 1 | tr -d '[:space:]')"
  [[ -n "$cid" ]] || die "kafka.tools.StorageTool random-uuid printed nothing (see $OUT_FILE, $LOG_FILE)"
  if ! fmt_out="$(java_cmd kafka.tools.StorageTool format -t "$cid" -c "$PROPS_FILE" --standalone 2>&1)"; then
    echo "$fmt_out" >&2
    die "storage format failed"
  fi
  log "formatted (cluster id $cid)"
}

# Readiness: the port answers AND a metadata request is served.
probe_aiokafka() {
  "$PYTHON" - "$HOST:$KAFKA_PORT" <<'PY'
import asyncio, sys
from aiokafka.client import AIOKafkaClient

async def main():
    c = AIOKafkaClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000,
                       connections_max_idle_ms=10000)
    try:
        await c.bootstrap()
        md = await c.fetch_all_metadata()
        if not md.brokers():
            sys.exit(1)
    finally:
        await c.close()

try:
    asyncio.run(asyncio.wait_for(main(), 10))
except SystemExit:
    raise
except BaseException:
    sys.exit(1)
PY
}

# Same check with only the standard library: raw Metadata v4 request, expect >= 1 broker.
probe_stdlib() {
  "$PYTHON" - "$HOST" "$KAFKA_PORT" <<'PY'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
cid = b"bp-ready"
# header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id
# body v4: topics=null (-1 => all topics), allow_auto_topic_creation=false
hdr = struct.pack(">hhih", 3, 4, 42, len(cid)) + cid
body = struct.pack(">ib", -1, 0)
msg = hdr + body
try:
    s = socket.create_connection((host, port), timeout=5)
    s.settimeout(5)
    s.sendall(struct.pack(">i", len(msg)) + msg)
    def rd(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b
    size = struct.unpack(">i", rd(4))[0]
    resp = rd(size)
    corr, throttle, nbrokers = struct.unpack(">iii", resp[:12])
    sys.exit(0 if corr == 42 and nbrokers >= 1 else 1)
except Exception:
    sys.exit(1)
PY
}

have_python() { command -v "$PYTHON" >/dev/null 2>&1; }
have_aiokafka() { have_python && "$PYTHON" -c 'import aiokafka' >/dev/null 2>&1; }

broker_ready() {
  port_open "$KAFKA_PORT" || return 1
  if have_aiokafka; then
    probe_aiokafka
  elif have_python; then
    probe_stdlib
  else
    # only log lines written since this start (the log file is appended to)
    grep -qE 'Kafka Server started' < <(tail -c "+$((LOG_OFFSET + 1))" "$LOG_FILE" 2>/dev/null)
  fi
}

fail_start() {
  log "last 40 lines of $LOG_FILE:"
  tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
  if [[ -s "$OUT_FILE" ]]; then
    log "last 20 lines of $OUT_FILE:"
    tail -n 20 "$OUT_FILE" >&2 || true
  fi
  die "$*"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local pid
  if pid="$(broker_pid)"; then
    if broker_ready; then
      log "already running (pid $pid) on $HOST:$KAFKA_PORT"
      return 0
    fi
    log "broker process $pid is up but not answering yet; waiting"
  else
    rm -f "$PID_FILE"
    local o
    o="$(orphan_pids | head -n 1)"
    if [[ -n "$o" ]]; then
      log "found a broker with our config but no pid file (pid $o); adopting it"
      echo "$o" >"$PID_FILE"
      pid="$o"
    else
      if port_open "$KAFKA_PORT"; then
        die "port $HOST:$KAFKA_PORT is taken by another process (not this clone's broker; another clone's? run make services-down there) and the tests expect it: stop that process first"
      fi
      if port_open "$CONTROLLER_PORT"; then
        die "controller port $HOST:$CONTROLLER_PORT is taken by another process (another clone's broker? run make services-down there): stop that process first"
      fi
      LOG_OFFSET="$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)"
      resolve_classpath
      write_properties
      format_storage
      log "starting broker on $HOST:$KAFKA_PORT (controller $CONTROLLER_PORT), data $DATA_DIR, log $LOG_FILE"
      : >>"$LOG_FILE"
      echo "=== start $(date -Is) ===" >>"$OUT_FILE"
      # setsid: own session, so the broker survives the calling shell; exec keeps $! == java pid
      jvm_args
      setsid nohup "${JVM_ARGS[@]}" kafka.Kafka "$PROPS_FILE" >>"$OUT_FILE" 2>&1 </dev/null &
      pid=$!
      echo "$pid" >"$PID_FILE"
    fi
  fi

  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      rm -f "$PID_FILE"
      fail_start "broker process $pid exited during startup"
    fi
    if broker_ready; then
      log "ready on $HOST:$KAFKA_PORT (pid $pid)"
      return 0
    fi
    sleep 0.5
  done
  fail_start "broker not ready after ${START_TIMEOUT}s (pid $pid still running; stop it with: $0 stop)"
}

all_pids() {
  local p
  p="$(broker_pid || true)"
  { [[ -n "$p" ]] && echo "$p"; orphan_pids; } | sort -u
}

cmd_stop() {
  local pids
  pids="$(all_pids)"
  if [[ -z "$pids" ]]; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  # shellcheck disable=SC2086
  stop_pids broker "$STOP_TIMEOUT" $pids
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_kill() {
  local pids pid
  pids="$(all_pids)"
  if [[ -z "$pids" ]]; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  for pid in $pids; do
    log "killing broker (pid $pid, SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in $pids; do
    wait_gone "$pid" 10 || die "pid $pid survived SIGKILL"
  done
  rm -f "$PID_FILE"
  log "killed"
}

cmd_status() {
  local pid
  if ! pid="$(broker_pid)"; then
    pid="$(orphan_pids | head -n 1)"
    [[ -n "$pid" ]] && echo "$pid" >"$PID_FILE"
  fi
  if [[ -n "$pid" ]]; then
    if broker_ready; then
      log "running (pid $pid) on $HOST:$KAFKA_PORT, ready"
      return 0
    fi
    log "process running (pid $pid) but not answering on $HOST:$KAFKA_PORT"
    return 1
  fi
  log "not running"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  restart) cmd_stop; cmd_start ;;
  classpath) resolve_classpath; echo "$CP_FILE" ;;
  *) echo "usage: $0 {start|stop|status|kill|restart|classpath}" >&2; exit 2 ;;
esac
