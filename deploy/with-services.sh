#!/usr/bin/env bash
# Run a command with PostgreSQL and Kafka up, then stop whichever of them this script started.
# Used by `make test-integration`; a newcomer can use it too: deploy/with-services.sh <command>.
# If a server cannot be started the command does not run and this exits non-zero, saying why:
# integration tests never silently skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

started=()
cleanup() {
  local status=$?
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    bash "$here/${started[i]}.sh" stop || true
  done
  exit "$status"
}
trap cleanup EXIT

for server in postgres kafka; do
  if bash "$here/$server.sh" status >/dev/null 2>&1; then
    echo "with-services: $server already running; leaving it running afterwards" >&2
  else
    if ! bash "$here/$server.sh" start; then
      echo "with-services: could not start $server; the integration tests need it" >&2
      exit 1
    fi
    started+=("$server")
  fi
done

"$@"
