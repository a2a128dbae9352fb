#!/usr/bin/env bash
# docker-compose.yml for real, on a machine with Docker and on one without an engine or a registry.
#
#   deploy/compose.sh tools          podman & co. from Debian packages, Docker Compose v2 built from its
#                                    Go module (cached); nothing is done where Docker already answers
#   deploy/compose.sh engine         podman's Docker API service, configured by deploy/containers.conf
#   deploy/compose.sh images         without a registry: local bases (debootstrap, cached), wheelhouse,
#                                    Kafka jars, then every image; with Docker: `compose build`
#   deploy/compose.sh test           images, up --wait (with Prometheus and Keycloak), the story,
#                                    Prometheus's targets, a Keycloak token at the gateway, the
#                                    Kafka fault, down -v
#   deploy/compose.sh compose ARGS   docker compose with this project's settings (e.g. `ps`, `logs`)
#   deploy/compose.sh engine-stop    stop the podman service started by `engine`
#
# Env:
#   BP_GATEWAY_PORT    host port of the gateway (default 18080 here; 8000-8004 are `make stack`'s)
#   BP_KEYCLOAK_PORT   host port of Keycloak, its issuer's address (default 18180 here; 8180 is
#                      deploy/keycloak.sh's)
#   COMPOSE_PROFILES   default observability,oidc: Prometheus and Keycloak run too
#   BP_COMPOSE_ENGINE  podman | docker (default: docker if a Docker engine answers, else podman)
#   BP_COMPOSE_DIR     runtime files: podman socket and logs (default <repo>/var/compose)
#   BP_COMPOSE_CACHE   compose binary, base root filesystems, .deb cache
#                      (default ${XDG_CACHE_HOME:-~/.cache}/budapest-platform/compose)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
run_dir=${BP_COMPOSE_DIR:-$repo/var/compose}
cache=${BP_COMPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/budapest-platform/compose}
compose_version=v2.40.3
compose_bin=$cache/docker-compose-$compose_version
podman_sock=$run_dir/podman.sock
suite=bookworm
mirror=${BP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
prefix=localhost/bp/
wheelhouse=$repo/deploy/docker/wheelhouse
kafka_libs=$repo/deploy/docker/kafka/libs
keycloak_dist=$repo/deploy/docker/keycloak/dist
keycloak_version=$(sed -n 's/^VERSION="\(.*\)"$/\1/p' "$here/keycloak.sh")

export COMPOSE_PROJECT_NAME=budapest-platform
export BP_GATEWAY_PORT=${BP_GATEWAY_PORT:-18080}
export BP_KEYCLOAK_PORT=${BP_KEYCLOAK_PORT:-18180}
export COMPOSE_PROFILES=${COMPOSE_PROFILES-observability,oidc}
export ADMIN_API_KEY=${ADMIN_API_KEY:-bp_admin_compose-test-key}
export CONTAINERS_CONF=$repo/deploy/containers.conf

log() { echo "compose.sh: $*" >&2; }
die() { echo "compose.sh: ERROR: $*" >&2; exit 1; }

# timed NAME CMD...: runs CMD and prints its wall time (the figures the CI note quotes).
timed() {
  local name=$1 t0=$SECONDS status=0
  shift
  log "── $name"
  "$@" || status=$?
  log "── $name: $((SECONDS - t0)) s$([ "$status" = 0 ] || echo " (FAILED, exit $status)")"
  return "$status"
}

docker_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# Decided once; the test's own calls to this script inherit it.
export BP_COMPOSE_ENGINE=${BP_COMPOSE_ENGINE:-$(docker_answers && echo docker || echo podman)}
engine_kind() { echo "$BP_COMPOSE_ENGINE"; }

# ---------------------------------------------------------------- tools

apt_install() {
  [ "$(id -u)" = 0 ] || die "missing Debian packages $*; run as root or install them"
  log "installing $* from Debian packages"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; } >&2 \
    || die "apt-get install $* failed"
}

ensure_packages() {  # ensure_packages PKG...: installs those not installed
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
}

go_bin() {
  local go
  for go in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -x "$go" ] || continue
    # Compose v2.40 needs Go 1.24+ (Debian bookworm's golang-go is 1.19).
    if "$go" version | grep -Eq 'go1\.(2[4-9]|[3-9][0-9])'; then echo "$go"; return 0; fi
  done
  return 1
}

build_compose() {
  [ -x "$compose_bin" ] && return 0
  local go scratch
  go=$(go_bin) || die "Docker Compose $compose_version is built from source and needs Go 1.24+ (https://go.dev/dl/)"
  scratch=$(mktemp -d)
  log "building Docker Compose $compose_version from its Go module (about 2 minutes, once)"
  (
    cd "$scratch"
    export GOPATH=$cache/../go GOFLAGS=-modcacherw
    "$go" mod init bp-compose-build >/dev/null 2>&1
    "$go" get "github.com/docker/compose/v2/cmd@$compose_version" >&2
    "$go" build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$compose_version" \
      -o "$compose_bin.tmp" github.com/docker/compose/v2/cmd >&2
  ) || { rm -rf "$scratch"; die "building Docker Compose failed"; }
  rm -rf "$scratch"
  mv -f "$compose_bin.tmp" "$compose_bin"
}

cmd_tools() {
  mkdir -p "$cache" "$run_dir"
  if [ "$(engine_kind)" = podman ]; then
    # runc: crun refuses this kernel's hybrid cgroups. aardvark-dns: service names on the network.
    ensure_packages podman runc conmon netavark aardvark-dns containernetworking-plugins \
      iptables uidmap slirp4netns fuse-overlayfs catatonit debootstrap maven
  fi
  # A Docker with the compose plugin needs nothing more; otherwise build Compose v2.
  if ! { docker_answers && docker compose version >/dev/null 2>&1; }; then build_compose; fi
}

compose() {
  if [ -x "$compose_bin" ]; then "$compose_bin" "$@"; else docker compose "$@"; fi
}

# The files the topology runs from: the images the engine has (local ones when built here).
compose_files() {
  local files=(-f "$repo/docker-compose.yml")
  [ "$(engine_kind)" = podman ] && files+=(-f "$repo/deploy/docker/compose.local.yml")
  echo "${files[@]}"
}

run_compose() {
  if [ "$(engine_kind)" = podman ]; then
    export DOCKER_HOST=unix://$podman_sock BP_PYTHON_IMAGE BP_PROMETHEUS_BASE_IMAGE
    BP_PYTHON_IMAGE=$(base_tag python) BP_PROMETHEUS_BASE_IMAGE=$(base_tag prometheus)
  fi
  # shellcheck disable=SC2046
  compose $(compose_files) --project-directory "$repo" "$@"
}

# ---------------------------------------------------------------- engine

podman_answers() { curl -sf --unix-socket "$podman_sock" http://d/_ping >/dev/null 2>&1; }

cmd_engine() {
  [ "$(engine_kind)" = podman ] || { log "using the Docker engine"; return 0; }
  mkdir -p "$run_dir"
  if podman_answers; then return 0; fi
  log "starting podman's Docker API service on $podman_sock"
  started_engine=1
  rm -f "$podman_sock"
  # setsid: its own session, so that the caller's Ctrl-C or make's exit does not end it.
  setsid podman system service --time=0 "unix://$podman_sock" >"$run_dir/podman.log" 2>&1 </dev/null &
  echo $! >"$run_dir/podman.pid"
  local i
  for i in $(seq 1 100); do
    podman_answers && return 0
    sleep 0.1
  done
  cat "$run_dir/podman.log" >&2
  die "podman's API service did not answer on $podman_sock"
}

cmd_engine_stop() {
  local pid
  pid=$(cat "$run_dir/podman.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  rm -f "$run_dir/podman.pid" "$podman_sock"
}

# ---------------------------------------------------------------- images (no registry)

# Root filesystems from Debian packages, one per kind of image; the tag carries a checksum of the
# package list so that changing it builds a new base, and the tarball in the cache survives a wiped
# image store.
base_packages() {
  case $1 in
    # Pango, HarfBuzz-subset and a font: meetings-api's PDF reports (deploy/report-libs.sh).
    python) echo "python3,python3-venv,ca-certificates,libpango-1.0-0,libpangoft2-1.0-0,libharfbuzz-subset0,fonts-dejavu-core" ;;
    postgres) echo "postgresql-15,ca-certificates" ;;
    # Kafka and Keycloak.
    java) echo "openjdk-17-jre-headless,ca-certificates" ;;
    prometheus) echo "prometheus,ca-certificates" ;;
  esac
}

base_tag() {
  echo "${prefix}base-$1:$suite-$(echo "$suite $(base_packages "$1")" | sha256sum | cut -c1-12)"
}

build_base() {  # build_base KIND
  local kind=$1 tag tarball root
  tag=$(base_tag "$kind")
  tarball=$cache/base/${tag##*/}.tar
  tarball=${tarball//:/-}
  if podman image exists "$tag"; then log "base $tag: cached"; return 0; fi
  mkdir -p "$cache/base" "$cache/debs"
  if [ ! -s "$tarball" ]; then
    root=$(mktemp -d "$cache/base/root.XXXXXX")
    log "debootstrap $suite ($kind: $(base_packages "$kind"))"
    debootstrap --variant=minbase --include="$(base_packages "$kind")" --cache-dir="$cache/debs" \
      "$suite" "$root" "$mirror" >"$cache/base/debootstrap-$kind.log" 2>&1 \
      || { tail -n 30 "$cache/base/debootstrap-$kind.log" >&2; rm -rf "$root"; die "debootstrap failed"; }
    # Smaller and reproducible: no package lists, no apt cache, no docs.
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
      "$root"/usr/share/man "$root"/usr/share/info
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" .
    rm -rf "$root"
    mv -f "$tarball.tmp" "$tarball"
  fi
  podman import --quiet --change "CMD [\"bash\"]" "$tarball" "$tag" >/dev/null
  log "base $tag: imported"
}

# The wheels uv.lock pins, and the workspace's own, built and downloaded on the host: the image
# builds then install with --no-index (no network, no certificates needed inside them).
build_wheelhouse() {
  local uv stamp sum package
  uv=$(command -v uv 2>/dev/null || echo "python3 -m uv")
  sum=$(cat "$repo/uv.lock" "$repo"/pyproject.toml "$repo"/*/*/pyproject.toml | sha256sum | cut -c1-16)
  stamp=$wheelhouse/deps/.lock-$sum
  if [ ! -f "$stamp" ]; then
    find "$wheelhouse/deps" -mindepth 1 -not -name .keep -delete
    (
      cd "$repo"
      $uv export --frozen --no-dev --all-packages --no-emit-workspace --format requirements-txt \
        --no-header --quiet -o "$wheelhouse/deps/hashed.txt"
      # pip checks every wheel against the lock's hashes.
      $uv tool run --quiet pip download --quiet --disable-pip-version-check --no-deps \
        --only-binary=:all: --python-version 3.11 --implementation cp --platform manylinux2014_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --require-hashes \
        -r "$wheelhouse/deps/hashed.txt" -d "$wheelhouse/deps"
      rm -f "$wheelhouse/deps/hashed.txt"
      $uv export --frozen --no-dev --all-packages --no-emit-workspace --no-hashes \
        --format requirements-txt --no-header --quiet -o "$wheelhouse/deps/all.txt"
      for package in bp-common meetings-api plan-api indicators-api notifications-api gateway bpctl; do
        $uv export --frozen --no-dev --package "$package" --no-emit-workspace --no-hashes \
          --format requirements-txt --no-header --quiet -o "$wheelhouse/deps/$package.txt"
      done
    ) >&2 || die "the wheelhouse could not be built"
    touch "$stamp"
  fi
  # The workspace's wheels follow the sources.
  find "$wheelhouse/workspace" -mindepth 1 -not -name .keep -delete
  (cd "$repo" && $uv build --quiet --all-packages --wheel -o "$wheelhouse/workspace") >&2 \
    || die "building the workspace's wheels failed"
  rm -f "$wheelhouse/workspace/.gitignore"
  log "wheelhouse: $(find "$wheelhouse" -name '*.whl' | wc -l) wheels"
}

# The broker's jars and the tools the healthcheck calls, from Maven Central into the Maven cache
# (as deploy/kafka.sh does for the native broker), copied into the Kafka image's build context.
build_kafka_libs() {
  local pom=$repo/deploy/docker/kafka/pom.xml sum
  sum=$(sha256sum "$pom" | cut -c1-16)
  [ -f "$kafka_libs/.pom-$sum" ] && { log "kafka jars: cached"; return 0; }
  rm -rf "$kafka_libs"
  mkdir -p "$kafka_libs"
  mvn -B -q -Dstyle.color=never -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$kafka_libs" >&2 || die "Maven could not resolve $pom"
  touch "$kafka_libs/.pom-$sum"
  log "kafka jars: $(ls "$kafka_libs"/*.jar | wc -l)"
}

# Keycloak's distribution as deploy/keycloak.sh keeps it once built for start-dev (the options
# the compose file starts it with), copied into the image's build context: the container then
# starts without Quarkus' build step (a minute or two on two cores, at every start). Where no
# clone has built it yet, deploy/keycloak.sh builds it once, started on a free port in a scratch
# directory and stopped.
build_keycloak_dist() {
  local built scratch port status=0
  built=${XDG_CACHE_HOME:-$HOME/.cache}/budapest-platform/keycloak/keycloak-$keycloak_version-built
  if [ ! -f "$built/version.txt" ]; then
    scratch=$(mktemp -d)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log "building Keycloak $keycloak_version for start-dev (once; deploy/keycloak.sh on port $port)"
    BP_VAR_DIR=$scratch KEYCLOAK_PORT=$port bash "$here/keycloak.sh" start >&2 || status=$?
    BP_VAR_DIR=$scratch KEYCLOAK_PORT=$port bash "$here/keycloak.sh" stop >&2 || true
    rm -rf "$scratch"
    [ "$status" = 0 ] && [ -f "$built/version.txt" ] || die "Keycloak $keycloak_version could not be built"
  fi
  if cmp -s "$built/lib/quarkus/generated-bytecode.jar" "$keycloak_dist/lib/quarkus/generated-bytecode.jar"; then
    log "keycloak distribution: cached"
    return 0
  fi
  rm -rf "$keycloak_dist"
  cp -a "$built" "$keycloak_dist"
  rm -rf "$keycloak_dist/data"
  log "keycloak distribution: copied from $built"
}

build_bases() { build_base python && build_base postgres && build_base java && build_base prometheus; }

build_image() {  # build_image TAG DOCKERFILE BUILD-ARG...
  local tag=$1 file=$2 args=() arg
  shift 2
  for arg in "$@"; do args+=(--build-arg "$arg"); done
  podman build --quiet --format docker --network=none --layers -f "$repo/$file" -t "$tag" "${args[@]}" "$repo" >/dev/null \
    || die "building $tag from $file failed"
  log "image $tag"
}

local_images() {
  timed "base images (debootstrap, cached)" build_bases
  timed "wheelhouse (uv.lock)" build_wheelhouse
  timed "kafka jars (Maven)" build_kafka_libs
  timed "keycloak distribution (Maven zip, built once)" build_keycloak_dist
  local python java postgres service
  python=$(base_tag python) java=$(base_tag java) postgres=$(base_tag postgres)
  timed "image postgres" build_image "${prefix}postgres:15" deploy/docker/postgres/Dockerfile "BASE_IMAGE=$postgres"
  timed "image kafka" build_image "${prefix}kafka:4.1.1" deploy/docker/kafka/Dockerfile "BASE_IMAGE=$java"
  timed "image keycloak" build_image "${prefix}keycloak:$keycloak_version" deploy/docker/keycloak/Dockerfile \
    "BASE_IMAGE=$java"
  timed "image prometheus" build_image "${prefix}prometheus:dev" deploy/prometheus/Dockerfile \
    "BASE_IMAGE=$(base_tag prometheus)"
  timed "image tools" build_image "${prefix}tools:dev" deploy/docker/Dockerfile.tools \
    "PYTHON_IMAGE=$python" WHEELHOUSE=1
  for service in meetings-api:8001 plan-api:8002 indicators-api:8003 notifications-api:8004 gateway:8000; do
    timed "image ${service%:*}" build_image "${prefix}${service%:*}:dev" deploy/docker/Dockerfile.service \
      "PYTHON_IMAGE=$python" WHEELHOUSE=1 "SERVICE=${service%:*}" "PORT=${service#*:}"
  done
}

cmd_images() {
  if [ "$(engine_kind)" = podman ]; then local_images
  else timed "compose build" run_compose build
  fi
}

# ---------------------------------------------------------------- test

# podman 4.3 runs healthchecks from systemd timers; without systemd nobody runs them, so run
# them here while compose waits (Docker runs its own: nothing to do there).
drive_healthchecks() {
  while :; do
    podman ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --filter health=starting \
      --format '{{.ID}}' 2>/dev/null | while read -r id; do
      podman healthcheck run "$id" >/dev/null 2>&1 || true
    done
    podman ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --filter health=unhealthy \
      --format '{{.ID}}' 2>/dev/null | while read -r id; do
      podman healthcheck run "$id" >/dev/null 2>&1 || true
    done
    sleep 2
  done
}

with_healthchecks() {  # with_healthchecks CMD...: runs CMD while the driver runs (podman only)
  local driver status=0
  if [ "$(engine_kind)" = podman ]; then
    drive_healthchecks &
    driver=$!
  fi
  "$@" || status=$?
  [ -n "${driver:-}" ] && { kill "$driver" 2>/dev/null; wait "$driver" 2>/dev/null || true; }
  return "$status"
}

up() { with_healthchecks run_compose up -d --wait --wait-timeout 300 --quiet-pull; }

pytest_compose() {  # pytest_compose -k EXPR
  local uv
  uv=$(command -v uv 2>/dev/null || echo "python3 -m uv")
  BP_COMPOSE_URL=http://127.0.0.1:$BP_GATEWAY_PORT BP_COMPOSE_KEYCLOAK_URL=http://127.0.0.1:$BP_KEYCLOAK_PORT \
    with_healthchecks $uv run --frozen pytest -q -p no:cacheprovider "$repo/tests/compose/compose_story.py" "$@"
}

cmd_test() {
  local t0=$SECONDS status=0
  started_engine=
  # The podman service this run started ends with it; one already running stays.
  trap 'if [ -n "$started_engine" ]; then cmd_engine_stop; fi' EXIT
  timed "tools" cmd_tools
  timed "engine" cmd_engine
  cmd_images
  # A run that failed before its `down` leaves containers and volumes: start from nothing.
  timed "down (leftovers)" run_compose down -v --remove-orphans >/dev/null 2>&1 || true
  timed "up --wait" up || status=$?
  if [ "$status" = 0 ]; then
    timed "story (Istanbul 2019, through the gateway)" pytest_compose -k istanbul || status=$?
  fi
  if [ "$status" = 0 ] && [[ ,$COMPOSE_PROFILES, == *,observability,* ]]; then
    timed "prometheus (every service's target up)" pytest_compose -k prometheus || status=$?
  fi
  if [ "$status" = 0 ] && [[ ,$COMPOSE_PROFILES, == *,oidc,* ]]; then
    timed "keycloak (a person's token at the gateway)" pytest_compose -k keycloak || status=$?
  fi
  if [ "$status" = 0 ]; then
    timed "fault (Kafka killed and restarted under writes)" pytest_compose -k kafka || status=$?
  fi
  if [ "$status" != 0 ]; then
    run_compose ps -a >&2 || true
    run_compose logs --no-color --tail 60 >"$run_dir/failed.log" 2>&1 || true
    log "the containers' logs: $run_dir/failed.log"
  fi
  timed "down -v" run_compose down -v --remove-orphans || status=$?
  log "total: $((SECONDS - t0)) s"
  return "$status"
}

case "${1:-}" in
  tools) cmd_tools ;;
  engine) cmd_tools && cmd_engine ;;
  engine-stop) cmd_engine_stop ;;
  images) cmd_tools && cmd_engine && cmd_images ;;
  bases) cmd_tools && cmd_engine && timed "base images" build_bases ;;
  test) cmd_test ;;
  wheelhouse) build_wheelhouse ;;
  kafka-jars) build_kafka_libs ;;
  keycloak-dist) build_keycloak_dist ;;
  compose) shift; run_compose "$@" ;;
  *) echo "usage: $0 {tools|engine|engine-stop|images|test|compose ARGS...}" >&2; exit 2 ;;
esac
