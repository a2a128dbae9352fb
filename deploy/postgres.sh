#!/usr/bin/env bash
# Local PostgreSQL for dev/tests, data under the repo (var/postgres).
#
#   deploy/postgres.sh start    install (if missing), initdb (if needed), start, wait for
#                               pg_isready (30 s), ensure role/databases; no-op if running
#   deploy/postgres.sh stop     pg_ctl stop -m fast (no-op if not running)
#   deploy/postgres.sh status   exit 0 if running and answering, 3 if not running
#   deploy/postgres.sh restart  stop + start
#
# Role budapest / password budapest (LOGIN CREATEDB) owning databases
# meetings, plan, indicators, notifications, gateway. Connect with
#   postgresql://budapest:budapest@127.0.0.1:5432/meetings
#
# Env:
#   BP_VAR_DIR   runtime dir (default <repo>/var); PostgreSQL uses $BP_VAR_DIR/postgres, or,
#                when the postgres OS user cannot reach it (a clone under /root or in a mktemp -d
#                folder), /var/lib/postgresql/budapest/<hash of that path> (said in one line)
#   PGPORT       TCP port on 127.0.0.1 (default 5432)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
VAR_DIR="${BP_VAR_DIR:-$REPO_ROOT/var}"
PORT="${PGPORT:-5432}"
HOST="127.0.0.1"
START_TIMEOUT=30
APP_ROLE="budapest"
APP_PASSWORD="budapest"
APP_DATABASES=(meetings plan indicators notifications gateway)
PG_OS_USER="postgres"

BP_SCRIPT=postgres.sh
# shellcheck source=deploy/lib.sh
source "$SCRIPT_DIR/lib.sh"

case "$PORT" in ''|*[!0-9]*) die "PGPORT must be a number, got '$PORT'";; esac

IS_ROOT=0
[[ "$(id -u)" == 0 ]] && IS_ROOT=1

# ---------------------------------------------------------------- binaries

find_pg_bin() {
  local p f
  p=""
  for f in /usr/lib/postgresql/*/bin/postgres; do
    [[ -x "$f" ]] && p="$(printf '%s\n%s\n' "$p" "$f" | sort -V | tail -n 1)"
  done
  [[ -n "$p" ]] && dirname "$p"
}

install_postgres() {
  ((IS_ROOT)) || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin and not root: install the 'postgresql' package"
  log "PostgreSQL not found; installing Debian package 'postgresql' (apt-get) ..."
  {
    apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  } >&2 || die "apt-get install postgresql failed"
  # The Debian package may create and start its own cluster ('main'); make sure it
  # does not hold our port.
  if command -v pg_lsclusters >/dev/null 2>&1; then
    local ver name port status
    while read -r ver name port status _; do
      [[ "$port" == "$PORT" ]] || continue
      if [[ "$status" == online* ]]; then
        log "stopping Debian's cluster $ver/$name, it holds port $port"
        pg_ctlcluster "$ver" "$name" stop >&2 || true
      fi
      if [[ -f "/etc/postgresql/$ver/$name/start.conf" ]]; then
        echo manual >"/etc/postgresql/$ver/$name/start.conf"
      fi
    done < <(pg_lsclusters -h 2>/dev/null || true)
  fi
}

# ---------------------------------------------------------------- data location

# The server runs as the postgres OS user, which must traverse every parent of its data directory.
# A clone where it cannot (a home under /root, a mktemp -d folder) keeps the data in a directory
# that user owns, named after the clone's runtime path, so two clones never share a cluster.
postgres_can_reach() {
  local dir="$1"
  while [[ ! -e "$dir" ]]; do dir="$(dirname "$dir")"; done
  runuser -u "$PG_OS_USER" -- test -x "$dir" 2>/dev/null
}

locate_data() {
  PG_VAR="$VAR_DIR/postgres"
  if ((IS_ROOT)) && id "$PG_OS_USER" >/dev/null 2>&1 && ! postgres_can_reach "$VAR_DIR"; then
    PG_VAR="/var/lib/postgresql/budapest/$(printf '%s' "$VAR_DIR" | sha256sum | cut -c1-12)"
    RELOCATED=1
  fi
  PGDATA_DIR="$PG_VAR/data"
  RUN_DIR="$PG_VAR/run"              # unix socket directory
  LOG_DIR="$PG_VAR/log"
  LOG_FILE="$LOG_DIR/postgres.log"
}
RELOCATED=0
locate_data

PG_BIN="$(find_pg_bin || true)"
ensure_installed() {
  if [[ -z "$PG_BIN" ]]; then
    install_postgres
    locate_data  # the postgres user exists only now
    PG_BIN="$(find_pg_bin || true)"
    [[ -n "$PG_BIN" ]] || die "installed 'postgresql' but found no /usr/lib/postgresql/*/bin/postgres"
  fi
}

# Run a PostgreSQL binary as the postgres OS user (root may not run the server).
as_pg() {
  local bin="$1"; shift
  if ((IS_ROOT)); then
    (cd / && runuser -u "$PG_OS_USER" -- "$PG_BIN/$bin" "$@")
  else
    (cd / && "$PG_BIN/$bin" "$@")
  fi
}

# ---------------------------------------------------------------- state

lockfile_pid() { { head -n 1 "$1" 2>/dev/null || true; } | tr -dc '0-9'; }
pm_pid() { lockfile_pid "$PGDATA_DIR/postmaster.pid"; }

is_running() {  # postmaster alive for our data dir
  local p
  p="$(pm_pid)"
  [[ -n "$p" ]] && pid_is_postgres "$p"
}

pid_is_postgres() { pid_alive "$1" && grep -qa postgres "/proc/$1/cmdline" 2>/dev/null; }

# After a SIGKILL, postmaster.pid and the socket lock file remain; PostgreSQL clears
# them itself unless the dead postmaster is still a zombie, so clear them here.
clear_stale_lockfiles() {
  local f p
  for f in "$PGDATA_DIR/postmaster.pid" "$RUN_DIR"/.s.PGSQL.*.lock; do
    [[ -f "$f" ]] || continue
    p="$(lockfile_pid "$f")"
    if [[ -z "$p" ]] || ! pid_is_postgres "$p"; then
      log "removing stale $(basename "$f") (pid ${p:-?} is gone or a zombie)"
      rm -f "$f"
      [[ "$f" == *.lock ]] && rm -f "${f%.lock}"
    fi
  done
  return 0
}

running_port() {  # port recorded by the running postmaster (line 4 of postmaster.pid)
  sed -n '4p' "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true
}

answering() {  # answering PORT
  "$PG_BIN/pg_isready" -q -h "$HOST" -p "$1" -t 2 >/dev/null 2>&1
}

# ---------------------------------------------------------------- setup

prepare_dirs() {
  mkdir -p "$PG_VAR" "$RUN_DIR" "$LOG_DIR"
  if ((IS_ROOT)); then
    id "$PG_OS_USER" >/dev/null 2>&1 || die "OS user '$PG_OS_USER' missing (it comes with the postgresql package)"
    chown "$PG_OS_USER:" "$PG_VAR" "$RUN_DIR" "$LOG_DIR"
    if [[ -d "$PGDATA_DIR" && "$(stat -c %U "$PGDATA_DIR")" != "$PG_OS_USER" ]]; then
      chown -R "$PG_OS_USER:" "$PGDATA_DIR"
    fi
    [[ -e "$LOG_FILE" ]] && chown "$PG_OS_USER:" "$LOG_FILE"
    runuser -u "$PG_OS_USER" -- test -w "$PG_VAR" ||
      die "user '$PG_OS_USER' cannot write $PG_VAR; set BP_VAR_DIR elsewhere"
  fi
  if ((RELOCATED)); then
    log "$VAR_DIR is not reachable by the '$PG_OS_USER' user: data kept in $PG_VAR"
  fi
  chmod 0700 "$RUN_DIR"
}

init_cluster() {
  if [[ -f "$PGDATA_DIR/PG_VERSION" ]]; then
    local have want
    have="$(cat "$PGDATA_DIR/PG_VERSION")"
    want="$(basename "$(dirname "$PG_BIN")")"
    [[ "$have" == "$want" ]] ||
      die "$PGDATA_DIR holds a PostgreSQL $have cluster but the server binaries are $want ($PG_BIN); remove $PGDATA_DIR to start fresh"
    return 0
  fi
  if [[ -d "$PGDATA_DIR" ]] && [[ -n "$(ls -A "$PGDATA_DIR" 2>/dev/null)" ]]; then
    die "$PGDATA_DIR exists, is not empty and is not a PostgreSQL data dir; remove it"
  fi
  log "initdb in $PGDATA_DIR"
  mkdir -p "$PGDATA_DIR"
  ((IS_ROOT)) && chown "$PG_OS_USER:" "$PGDATA_DIR"
  chmod 0700 "$PGDATA_DIR"
  local out
  if ! out="$(as_pg initdb -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=md5 2>&1)"; then
    echo "$out" >&2
    die "initdb failed"
  fi
  # our settings live in budapest.conf, rewritten on every start
  echo "include_if_exists = 'budapest.conf'" >>"$PGDATA_DIR/postgresql.conf"
}

write_config() {
  cat >"$PGDATA_DIR/budapest.conf.tmp" <<EOF
# Generated by deploy/postgres.sh on every start; edit the script, not this file.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$RUN_DIR'
unix_socket_permissions = 0770
max_connections = 200
shared_buffers = 128MB
timezone = 'UTC'
# Flash storage: a random read costs little more than a sequential one. With the default 4.0
# the result import's classification seq-scanned the result table at 1M rows (86-164 ms)
# instead of using its unique index (32 ms); docker-compose.yml passes the same setting.
random_page_cost = 1.1
# durability stays on (fault tests kill processes): fsync, full_page_writes and
# synchronous_commit keep their defaults
logging_collector = off
log_min_messages = warning
log_connections = off
EOF
  mv -f "$PGDATA_DIR/budapest.conf.tmp" "$PGDATA_DIR/budapest.conf"
  cat >"$PGDATA_DIR/pg_hba.conf" <<EOF
# Generated by deploy/postgres.sh.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   md5
EOF
  ((IS_ROOT)) && chown "$PG_OS_USER:" "$PGDATA_DIR/budapest.conf" "$PGDATA_DIR/pg_hba.conf"
  return 0
}

psql_admin() {  # SQL on stdin, superuser over the unix socket
  as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$1" -U postgres -d postgres
}

ensure_role_and_dbs() {
  local port="$1" sql db
  sql="DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
    CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASSWORD';
  ELSE
    ALTER ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASSWORD';
  END IF;
END \$\$;
"
  for db in "${APP_DATABASES[@]}"; do
    sql+="SELECT 'CREATE DATABASE $db OWNER $APP_ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db') \\gexec
ALTER DATABASE $db OWNER TO $APP_ROLE;
"
  done
  psql_admin "$port" <<<"$sql" >/dev/null || die "could not create role '$APP_ROLE' / databases ${APP_DATABASES[*]}"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  ensure_installed
  if is_running; then
    local rport
    rport="$(running_port)"
    [[ -n "$rport" ]] || rport="$PORT"
    if answering "$rport"; then
      [[ "$rport" == "$PORT" ]] || log "WARNING: running on port $rport, not PGPORT=$PORT (stop and start to change it)"
      ensure_role_and_dbs "$rport"
      log "already running on $HOST:$rport (data $PGDATA_DIR)"
      return 0
    fi
    log "postmaster is up but not answering yet; waiting"
    PORT="$rport"
  else
    if answering "$PORT" || port_open "$PORT" "$HOST"; then
      die "port $HOST:$PORT is taken by another server (not $PGDATA_DIR; another clone's? run make services-down there) and the tests expect it: stop that server first"
    fi
    prepare_dirs
    init_cluster
    clear_stale_lockfiles
    write_config
    log "starting PostgreSQL $(basename "$(dirname "$PG_BIN")") on $HOST:$PORT (data $PGDATA_DIR, log $LOG_FILE)"
    local out try
    for try in 1 2 3; do
      if out="$(as_pg pg_ctl start -D "$PGDATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT" 2>&1)"; then
        break
      fi
      # right after a SIGKILL, backends of the dead postmaster may still hold the
      # shared memory block for a moment ("pre-existing shared memory block ... in use")
      if ((try < 3)) && ! is_running; then
        log "pg_ctl start failed (attempt $try); retrying in 1 s"
        sleep 1
        clear_stale_lockfiles
        continue
      fi
      echo "$out" >&2
      log "last 40 lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
      die "PostgreSQL did not start"
    done
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until answering "$PORT"; do
    if ((SECONDS >= deadline)); then
      log "last 40 lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 2>/dev/null || true
      die "pg_isready did not answer on $HOST:$PORT within ${START_TIMEOUT}s"
    fi
    sleep 0.3
  done
  ensure_role_and_dbs "$PORT"
  log "ready: postgresql://$APP_ROLE:$APP_PASSWORD@$HOST:$PORT/{$(IFS=,; echo "${APP_DATABASES[*]}")}"
}

cmd_stop() {
  if ! is_running; then
    log "not running"
    return 0
  fi
  log "stopping (fast)"
  local out
  if ! out="$(as_pg pg_ctl stop -D "$PGDATA_DIR" -m fast -w -t 60 2>&1)"; then
    echo "$out" >&2
    die "pg_ctl stop failed"
  fi
  log "stopped"
}

cmd_status() {
  if ! is_running; then
    log "not running"
    return 3
  fi
  local rport
  rport="$(running_port)"
  if answering "${rport:-$PORT}"; then
    log "running on $HOST:${rport:-$PORT} (data $PGDATA_DIR)"
    return 0
  fi
  log "postmaster running but not answering on $HOST:${rport:-$PORT}"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart) cmd_stop; cmd_start ;;
  *) echo "usage: $0 {start|stop|status|restart}" >&2; exit 2 ;;
esac
