#!/usr/bin/env bash
# Distributed mode on this machine: each service and the gateway in its own process, against the
# PostgreSQL and Kafka started by deploy/postgres.sh and deploy/kafka.sh.
#   deploy/stack.sh start|stop|status
# Ports: gateway 8000, meetings 8001, plan 8002, indicators 8003, notifications 8004 (override
# with *_PORT); each service serves GET /metrics on its port, the gateway on GATEWAY_METRICS_PORT
# (8090).
# Every service setting can be overridden through its environment variables (see README).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
var_dir=${BP_VAR_DIR:-$repo/var}
run_dir=$var_dir/stack
uv_bin=$(command -v uv 2>/dev/null || echo "python3 -m uv")

PG=${BP_PG_URL:-postgresql+asyncpg://budapest:budapest@127.0.0.1:${PGPORT:-5432}}
export MEETINGS_DATABASE_URL=${MEETINGS_DATABASE_URL:-$PG/meetings}
export PLAN_DATABASE_URL=${PLAN_DATABASE_URL:-$PG/plan}
export INDICATORS_DATABASE_URL=${INDICATORS_DATABASE_URL:-$PG/indicators}
export NOTIFICATIONS_DATABASE_URL=${NOTIFICATIONS_DATABASE_URL:-$PG/notifications}
export GATEWAY_DATABASE_URL=${GATEWAY_DATABASE_URL:-$PG/gateway}
for prefix in MEETINGS PLAN INDICATORS NOTIFICATIONS GATEWAY; do
  export "${prefix}_BUS=${BUS:-kafka}"
  export "${prefix}_KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-9092}}"
  [ -n "${KAFKA_NAMESPACE:-}" ] && export "${prefix}_KAFKA_NAMESPACE=$KAFKA_NAMESPACE"
done
MEETINGS_PORT=${MEETINGS_PORT:-8001}
PLAN_PORT=${PLAN_PORT:-8002}
INDICATORS_PORT=${INDICATORS_PORT:-8003}
NOTIFICATIONS_PORT=${NOTIFICATIONS_PORT:-8004}
GATEWAY_PORT=${GATEWAY_PORT:-8000}
# The gateway's GET /metrics, off its public port (8090 beside 8000, 18090 beside 18000).
export GATEWAY_METRICS_PORT=${GATEWAY_METRICS_PORT:-$((GATEWAY_PORT + 90))}
export GATEWAY_MEETINGS_URL=${GATEWAY_MEETINGS_URL:-http://127.0.0.1:$MEETINGS_PORT}
export GATEWAY_PLAN_URL=${GATEWAY_PLAN_URL:-http://127.0.0.1:$PLAN_PORT}
export GATEWAY_INDICATORS_URL=${GATEWAY_INDICATORS_URL:-http://127.0.0.1:$INDICATORS_PORT}
export GATEWAY_NOTIFICATIONS_URL=${GATEWAY_NOTIFICATIONS_URL:-http://127.0.0.1:$NOTIFICATIONS_PORT}

services=(meetings-api plan-api indicators-api notifications-api gateway)
port_of() {
  case $1 in
    meetings-api) echo "$MEETINGS_PORT" ;;
    plan-api) echo "$PLAN_PORT" ;;
    indicators-api) echo "$INDICATORS_PORT" ;;
    notifications-api) echo "$NOTIFICATIONS_PORT" ;;
    gateway) echo "$GATEWAY_PORT" ;;
  esac
}

BP_SCRIPT=stack
# shellcheck source=deploy/lib.sh
source "$here/lib.sh"

read_pid() { pid_from_file "$run_dir/$1.pid"; }  # read_pid SERVICE

running() {
  local pid
  pid=$(read_pid "$1") || return 1
  pid_alive "$pid"
}

wait_healthy() {
  local name=$1 port=$2
  for _ in $(seq 1 150); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
      return 0
    fi
    running "$name" || { echo "stack: $name exited; last log lines:" >&2; tail -n 30 "$run_dir/$name.log" >&2; return 1; }
    sleep 0.2
  done
  echo "stack: $name not healthy on port $port after 30 s" >&2
  tail -n 30 "$run_dir/$name.log" >&2
  return 1
}

start() {
  mkdir -p "$run_dir"
  cd "$repo"
  for service in "${services[@]}"; do
    echo "stack: migrating $service" >&2
    $uv_bin run --frozen "$service" migrate
  done
  for service in "${services[@]}"; do
    if running "$service"; then
      echo "stack: $service already running" >&2
      continue
    fi
    local port
    port=$(port_of "$service")
    setsid nohup $uv_bin run --frozen "$service" serve --port "$port" >>"$run_dir/$service.log" 2>&1 &
    echo $! >"$run_dir/$service.pid"
  done
  for service in "${services[@]}"; do
    wait_healthy "$service" "$(port_of "$service")"
  done
  echo "stack: up; gateway on http://127.0.0.1:$GATEWAY_PORT (logs in $run_dir)" >&2
}

stop() {
  for service in "${services[@]}"; do
    if running "$service"; then
      local pid
      pid=$(read_pid "$service")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.2; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$run_dir/$service.pid"
  done
}

status() {
  local all=0
  for service in "${services[@]}"; do
    if running "$service"; then echo "$service: running"; else echo "$service: stopped"; all=1; fi
  done
  return $all
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
