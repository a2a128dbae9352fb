#!/usr/bin/env bash
# Local Keycloak (development mode, in-memory database) for the OpenID Connect tests and demos.
#
#   deploy/keycloak.sh start    start (no-op if already running and answering), wait until the
#                               realm's discovery document is served
#   deploy/keycloak.sh stop     SIGTERM, wait up to 30 s, then SIGKILL (no-op if not running)
#   deploy/keycloak.sh status   exit 0 if running and answering, 3 if not running, 1 if not ready
#   deploy/keycloak.sh restart  stop + start
#   deploy/keycloak.sh freeze   SIGSTOP the server (fault tests: a provider that does not answer)
#   deploy/keycloak.sh thaw     SIGCONT it
#   deploy/keycloak.sh zip      resolve (if needed) and print the distribution zip's path
#
# The distribution is org.keycloak:keycloak-quarkus-dist (zip) from Maven Central, resolved
# with mvn and cached in ${XDG_CACHE_HOME:-$HOME/.cache}/budapest-platform/keycloak/; it is
# unpacked under $BP_VAR_DIR/keycloak/; its first start builds it (once: the built copy is cached
# beside the zip for other clones). The realms in
# deploy/keycloak/realm-*.json are imported at every start (the database is in memory): see
# deploy/README.md for their clients and users.
#
# Env:
#   BP_VAR_DIR              runtime dir (default <repo>/var); Keycloak uses $BP_VAR_DIR/keycloak
#   KEYCLOAK_PORT           HTTP port on 127.0.0.1 (default 8180)
#   KEYCLOAK_ADMIN, KEYCLOAK_ADMIN_PASSWORD  the master realm's bootstrap admin (admin/admin)
#   KEYCLOAK_START_TIMEOUT  seconds to wait for readiness (default 300; the first start builds)
#   KEYCLOAK_HEAP_OPTS      default "-Xms64m -Xmx512m"
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
VAR_DIR="${BP_VAR_DIR:-$REPO_ROOT/var}"
KC_VAR="$VAR_DIR/keycloak"
VERSION="26.4.7"
ARTIFACT="org.keycloak:keycloak-quarkus-dist:$VERSION:zip"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/budapest-platform/keycloak"
ZIP="$CACHE_DIR/keycloak-quarkus-dist-$VERSION.zip"
# The distribution once built for start-dev's options (relocatable): fresh clones copy it and
# skip Quarkus' build step (about a minute on two cores).
BUILT_DIR="$CACHE_DIR/keycloak-$VERSION-built"
DIST_DIR="$KC_VAR/keycloak-$VERSION"
PID_FILE="$KC_VAR/keycloak.pid"
LOG_FILE="$KC_VAR/keycloak.log"
REALMS_DIR="$SCRIPT_DIR/keycloak"
READY_REALM="budapest"
HOST="127.0.0.1"
PORT="${KEYCLOAK_PORT:-8180}"
START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-300}"
STOP_TIMEOUT=30
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# What identifies this clone's server among the machine's processes.
SERVER_MARK="-Dkc.home.dir=$DIST_DIR/bin/.."

BP_SCRIPT=keycloak.sh
# shellcheck source=deploy/lib.sh
source "$SCRIPT_DIR/lib.sh"

case "$PORT" in ''|*[!0-9]*) die "KEYCLOAK_PORT must be a number, got '$PORT'";; esac
BASE_URL="http://$HOST:$PORT"
DISCOVERY_URL="$BASE_URL/realms/$READY_REALM/.well-known/openid-configuration"

# ---------------------------------------------------------------- helpers

# The launcher (kc.sh, which becomes the JVM when it relaunches after a build) from the pid file.
launcher_pid() {
  local pid
  pid="$(pid_from_file "$PID_FILE")" && pid_alive "$pid" || return 1
  cmdline_has "$pid" "$DIST_DIR/" || return 1
  echo "$pid"
}

# The JVMs running this clone's distribution (with or without a pid file).
server_pids() { pgrep -f -- "$SERVER_MARK" 2>/dev/null || true; }

all_pids() {
  { launcher_pid || true; server_pids; } | sort -u
}

ready() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 5 "$DISCOVERY_URL" 2>/dev/null
  else
    python3 - "$DISCOVERY_URL" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as answer:
    sys.exit(0 if answer.status == 200 else 1)
PY
  fi
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
  [[ "${v%%.*}" =~ ^[0-9]+$ && "${v%%.*}" -ge 17 ]] || die "Keycloak $VERSION needs Java 17+, found '$v'"
}

resolve_zip() {
  [[ -s "$ZIP" ]] && return 0
  ensure_tools
  mkdir -p "$CACHE_DIR"
  log "resolving $ARTIFACT with Maven (first run downloads ~160 MB into the Maven cache) ..."
  local tmp t0=$SECONDS
  tmp="$(mktemp -d "$CACHE_DIR/download.XXXXXX")"
  if ! mvn -B -q "$DEP_PLUGIN:copy" -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" \
        >"$CACHE_DIR/mvn.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$CACHE_DIR/mvn.log" >&2 || true
    die "Maven could not resolve $ARTIFACT (full log: $CACHE_DIR/mvn.log)"
  fi
  mv -f "$tmp/keycloak-quarkus-dist-$VERSION.zip" "$ZIP"
  rm -rf "$tmp"
  log "resolved in $((SECONDS - t0)) s -> $ZIP"
}

unpack() {
  [[ -f "$DIST_DIR/version.txt" ]] && return 0
  mkdir -p "$KC_VAR"
  local tmp
  tmp="$(mktemp -d "$KC_VAR/unpack.XXXXXX")"
  if [[ -f "$BUILT_DIR/version.txt" ]]; then
    log "copying the built Keycloak $VERSION from $BUILT_DIR"
    cp -a "$BUILT_DIR" "$tmp/keycloak-$VERSION"
    mv "$tmp/keycloak-$VERSION" "$DIST_DIR"
    rm -rf "$tmp"
    return 0
  fi
  resolve_zip
  log "unpacking Keycloak $VERSION into $DIST_DIR"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$ZIP" -d "$tmp"
  else
    python3 -m zipfile -e "$ZIP" "$tmp"
  fi
  [[ -f "$tmp/keycloak-$VERSION/version.txt" ]] || { rm -rf "$tmp"; die "unexpected zip layout in $ZIP"; }
  mv "$tmp/keycloak-$VERSION" "$DIST_DIR"
  rm -rf "$tmp"
}

# After a start that built the distribution: keep a copy (without its data) for other clones.
cache_built() {
  [[ -f "$BUILT_DIR/version.txt" ]] && return 0
  local tmp
  tmp="$(mktemp -d "$CACHE_DIR/built.XXXXXX")" || return 0
  if cp -a "$DIST_DIR" "$tmp/dist" 2>/dev/null; then
    rm -rf "$tmp/dist/data"
    mv -T "$tmp/dist" "$BUILT_DIR" 2>/dev/null || true  # another clone may have been first
  fi
  rm -rf "$tmp"
}

fail_start() {
  log "last 40 lines of $LOG_FILE:"
  grep -v '^\s*at ' "$LOG_FILE" 2>/dev/null | tail -n 40 >&2 || true
  die "$*"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local pid
  if pid="$( (launcher_pid || server_pids) | head -n 1)" && [[ -n "$pid" ]]; then
    if ready; then
      log "already running (pid $pid) on $BASE_URL"
      return 0
    fi
    log "Keycloak (pid $pid) is up but not answering yet; waiting"
  else
    rm -f "$PID_FILE"
    port_open "$PORT" "$HOST" && die "port $HOST:$PORT is taken by another process (another clone's Keycloak? run its deploy/keycloak.sh stop, or set KEYCLOAK_PORT)"
    unpack
    rm -rf "$DIST_DIR/data/import"
    mkdir -p "$DIST_DIR/data/import"
    cp "$REALMS_DIR"/realm-*.json "$DIST_DIR/data/import/"
    log "starting Keycloak $VERSION on $BASE_URL (development mode, in-memory), log $LOG_FILE"
    echo "=== start $(date -Is) ===" >>"$LOG_FILE"
    # setsid: its own session, so it survives the calling shell.
    KC_BOOTSTRAP_ADMIN_USERNAME="${KEYCLOAK_ADMIN:-admin}" \
    KC_BOOTSTRAP_ADMIN_PASSWORD="${KEYCLOAK_ADMIN_PASSWORD:-admin}" \
    JAVA_OPTS_KC_HEAP="${KEYCLOAK_HEAP_OPTS:--Xms64m -Xmx512m}" \
      setsid nohup bash "$DIST_DIR/bin/kc.sh" start-dev \
        --http-host="$HOST" --http-port="$PORT" --hostname="$BASE_URL" \
        --db=dev-mem --import-realm >>"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
  fi

  local deadline=$((SECONDS + START_TIMEOUT)) t0=$SECONDS
  while ((SECONDS < deadline)); do
    if [[ -z "$(all_pids)" ]]; then
      rm -f "$PID_FILE"
      fail_start "Keycloak exited during start-up"
    fi
    if ready; then
      log "ready on $BASE_URL after $((SECONDS - t0)) s (realm $READY_REALM imported)"
      cache_built
      return 0
    fi
    sleep 1
  done
  fail_start "not ready after ${START_TIMEOUT}s (still running; stop it with: $0 stop)"
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
  stop_pids Keycloak "$STOP_TIMEOUT" $pids  # also thaws a frozen server, to handle the TERM
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_signal() {  # cmd_signal SIGNAL VERB
  local pids
  pids="$(server_pids)"
  [[ -n "$pids" ]] || die "not running"
  # shellcheck disable=SC2086
  kill "-$1" $pids
  log "$2 (pid $(echo $pids))"
}

cmd_status() {
  local pid
  pid="$( (launcher_pid || server_pids) | head -n 1)"
  if [[ -z "$pid" ]]; then
    log "not running"
    return 3
  fi
  if ready; then
    log "running (pid $pid) on $BASE_URL, ready"
    return 0
  fi
  log "process running (pid $pid) but not answering on $BASE_URL"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart) cmd_stop; cmd_start ;;
  freeze) cmd_signal STOP frozen ;;
  thaw) cmd_signal CONT thawed ;;
  zip) resolve_zip; echo "$ZIP" ;;
  *) echo "usage: $0 {start|stop|status|restart|freeze|thaw|zip}" >&2; exit 2 ;;
esac
