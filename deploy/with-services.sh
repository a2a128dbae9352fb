#!/usr/bin/env bash
# Run a command with PostgreSQL, Kafka, Prometheus and Keycloak up, then stop whichever of them
# this script started. Used by `make test-integration`; a newcomer can use it too:
# deploy/with-services.sh <command>. Keycloak (the slowest to start) starts in the background
# while the others start; BP_WITHOUT_KEYCLOAK=1 leaves it out (benchmarks, soak and chaos runs do not need it).
# If a server cannot be started the command does not run and this exits non-zero, saying
# why: integration tests never silently skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

started=()
keycloak_starter=""
cleanup() {
  local status=$?
  if [[ -n "$keycloak_starter" ]] && kill -0 "$keycloak_starter" 2>/dev/null; then
    kill "$keycloak_starter" 2>/dev/null || true  # still waiting for readiness: stop waiting
    wait "$keycloak_starter" 2>/dev/null || true
  fi
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    bash "$here/${started[i]}.sh" stop || true
  done
  exit "$status"
}
trap cleanup EXIT

if [[ "${BP_WITHOUT_KEYCLOAK:-0}" == 1 ]]; then
  :
elif bash "$here/keycloak.sh" status >/dev/null 2>&1; then
  echo "with-services: keycloak already running; leaving it running afterwards" >&2
else
  started+=(keycloak)  # before it is up: cleanup then stops whatever it got to start
  bash "$here/keycloak.sh" start &
  keycloak_starter=$!
fi

for server in postgres kafka prometheus; do
  if bash "$here/$server.sh" status >/dev/null 2>&1; then
    echo "with-services: $server already running; leaving it running afterwards" >&2
    # A running PostgreSQL may predate a service's database: start creates what is missing.
    [[ "$server" == postgres ]] && bash "$here/postgres.sh" start >/dev/null
  else
    if ! bash "$here/$server.sh" start; then
      echo "with-services: could not start $server; the integration tests need it" >&2
      exit 1
    fi
    started+=("$server")
  fi
done

if [[ -n "$keycloak_starter" ]]; then
  if ! wait "$keycloak_starter"; then
    keycloak_starter=""
    echo "with-services: could not start keycloak; the integration tests need it" >&2
    exit 1
  fi
  keycloak_starter=""
fi

export BP_TEST_KEYCLOAK_URL="${BP_TEST_KEYCLOAK_URL:-http://127.0.0.1:${KEYCLOAK_PORT:-8180}}"
"$@"
