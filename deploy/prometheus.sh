#!/usr/bin/env bash
# Local Prometheus for dev/tests: scrapes the stack (deploy/stack.sh ports) and evaluates
# deploy/prometheus/rules.yml. Data under $BP_VAR_DIR/prometheus.
#
#   deploy/prometheus.sh start    install Debian's `prometheus` if missing (as root, apt-get),
#                                 write the config and the stack's targets, start, wait ready
#                                 (30 s); no-op if running
#   deploy/prometheus.sh stop     SIGTERM, wait up to 30 s, then SIGKILL (no-op if not running)
#   deploy/prometheus.sh status   exit 0 if running and answering, 3 if not running, 1 if up
#                                 but not answering
#   deploy/prometheus.sh url      print its base URL (http://127.0.0.1:PORT)
#   deploy/prometheus.sh targets  print the file service discovery folder: any
#                                 <name>.json there (Prometheus file_sd format) is scraped
#                                 within 5 s, so a test stack on other ports adds its own
#
# Env:
#   BP_VAR_DIR                  runtime dir (default <repo>/var)
#   PROMETHEUS_PORT             port on 127.0.0.1 (default 9090; a free one if 9090 is taken)
#   PROMETHEUS_SCRAPE_INTERVAL  default 5s (a development box; production sets its own)
#   MEETINGS_PORT PLAN_PORT INDICATORS_PORT NOTIFICATIONS_PORT GATEWAY_PORT GATEWAY_METRICS_PORT
#                               the stack's targets (defaults 8001 8002 8003 8004, gateway + 90,
#                               as deploy/stack.sh)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
VAR_DIR="${BP_VAR_DIR:-$REPO_ROOT/var}"
PROM_VAR="$VAR_DIR/prometheus"
PID_FILE="$PROM_VAR/prometheus.pid"
PORT_FILE="$PROM_VAR/port"
LOG_FILE="$PROM_VAR/prometheus.log"
CONFIG_FILE="$PROM_VAR/prometheus.yml"
TARGETS_DIR="$PROM_VAR/targets"
RULES_FILE="$SCRIPT_DIR/prometheus/rules.yml"
HOST="127.0.0.1"
SCRAPE_INTERVAL="${PROMETHEUS_SCRAPE_INTERVAL:-5s}"
START_TIMEOUT=30

BP_SCRIPT=prometheus.sh
# shellcheck source=deploy/lib.sh
source "$SCRIPT_DIR/lib.sh"

our_pid() {  # the pid in the pid file, alive, and a prometheus running our config
  local pid
  pid="$(pid_from_file "$PID_FILE")" && pid_alive "$pid" || return 1
  cmdline_has "$pid" "--config.file=$CONFIG_FILE" || return 1
  echo "$pid"
}

current_port() { tr -dc '0-9' <"$PORT_FILE" 2>/dev/null; }

answering() {
  python3 -c "import urllib.request; urllib.request.urlopen('http://$HOST:$1/-/ready', timeout=2)" 2>/dev/null
}

ensure_installed() {
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && return 0
  [[ "$(id -u)" == 0 ]] || die "prometheus not found and not root: install Debian's 'prometheus' package"
  log "installing Debian's 'prometheus' package (apt-get) ..."
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >&2; then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends prometheus; } >&2 || die "apt-get install prometheus failed"
  fi
  # The package may start its own server on 9090 (where an init system runs): not ours.
  command -v prometheus >/dev/null 2>&1 || die "installed 'prometheus' but found no prometheus binary"
}

choose_port() {
  local port="${PROMETHEUS_PORT:-9090}"
  if port_open "$port" "$HOST"; then
    [[ -n "${PROMETHEUS_PORT:-}" ]] && die "port $port is taken (PROMETHEUS_PORT)"
    port="$(free_port)"
    log "port 9090 is taken; using $port"
  fi
  echo "$port"
}

write_config() {
  mkdir -p "$PROM_VAR/data" "$TARGETS_DIR"
  cat >"$CONFIG_FILE" <<YAML
# Written by deploy/prometheus.sh at each start: edit the script, not this file.
global:
  scrape_interval: $SCRAPE_INTERVAL
  evaluation_interval: $SCRAPE_INTERVAL
rule_files:
  - $RULES_FILE
scrape_configs:
  - job_name: budapest
    metrics_path: /metrics
    file_sd_configs:
      - files: ["$TARGETS_DIR/*.json"]
        refresh_interval: 5s
YAML
  # The stack of deploy/stack.sh: each service on its own port, the gateway on its metrics port.
  cat >"$TARGETS_DIR/stack.json" <<JSON
[
  {"targets": ["$HOST:${MEETINGS_PORT:-8001}"], "labels": {"process": "meetings-api"}},
  {"targets": ["$HOST:${PLAN_PORT:-8002}"], "labels": {"process": "plan-api"}},
  {"targets": ["$HOST:${INDICATORS_PORT:-8003}"], "labels": {"process": "indicators-api"}},
  {"targets": ["$HOST:${NOTIFICATIONS_PORT:-8004}"], "labels": {"process": "notifications-api"}},
  {"targets": ["$HOST:${GATEWAY_METRICS_PORT:-$((${GATEWAY_PORT:-8000} + 90))}"], "labels": {"process": "gateway"}}
]
JSON
}

start() {
  if our_pid >/dev/null; then
    log "already running on port $(current_port)"
    return 0
  fi
  ensure_installed
  promtool check rules "$RULES_FILE" >&2 || die "$RULES_FILE does not pass promtool"
  write_config
  local port
  port="$(choose_port)"
  echo "$port" >"$PORT_FILE"
  log "starting on $HOST:$port (data in $PROM_VAR/data, log $LOG_FILE)"
  setsid nohup prometheus \
    "--config.file=$CONFIG_FILE" \
    "--storage.tsdb.path=$PROM_VAR/data" \
    "--storage.tsdb.retention.time=2d" \
    "--web.listen-address=$HOST:$port" \
    >>"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 $((START_TIMEOUT * 5))); do
    if answering "$port"; then
      log "ready: http://$HOST:$port"
      return 0
    fi
    our_pid >/dev/null || { tail -n 20 "$LOG_FILE" >&2; die "prometheus exited at start"; }
    sleep 0.2
  done
  tail -n 20 "$LOG_FILE" >&2
  die "prometheus not ready on $HOST:$port after ${START_TIMEOUT} s"
}

stop() {
  local pid
  pid="$(our_pid)" || { log "not running"; return 0; }
  stop_pids prometheus 30 "$pid"
  rm -f "$PID_FILE"
  log "stopped"
}

status() {
  our_pid >/dev/null || { echo "prometheus: not running"; exit 3; }
  if answering "$(current_port)"; then
    echo "prometheus: running on http://$HOST:$(current_port)"
    exit 0
  fi
  echo "prometheus: running but not answering on port $(current_port)"
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) our_pid >/dev/null || die "not running"; echo "http://$HOST:$(current_port)" ;;
  targets) echo "$TARGETS_DIR" ;;
  *) echo "usage: $0 start|stop|status|url|targets" >&2; exit 2 ;;
esac
