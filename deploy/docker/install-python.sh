#!/bin/sh
# The Python images' build stage: installs workspace packages into /app/.venv, non-editable, so
# that the runtime stage copies the venv alone (no sources, no uv, no pip).
#   install-python.sh deps PACKAGE|--all     third-party dependencies (a layer of their own; the
#                                            images install --all, so that they share it)
#   install-python.sh app PACKAGE...|--all   the workspace packages themselves
# WHEELHOUSE=1: offline, only from the wheels deploy/compose.sh put in deploy/docker/wheelhouse
# (pinned by uv.lock, hash-checked when downloaded). Otherwise uv installs from uv.lock (network).
set -eu
step=$1
shift
if [ "${WHEELHOUSE:-}" = 1 ]; then
  pip() { /app/.venv/bin/python -m pip --disable-pip-version-check --no-cache-dir -q "$@"; }
  case $step in
    deps)
      python3 -m venv /app/.venv
      requirements=/wheelhouse/deps/all.txt
      [ "$1" = --all ] || requirements=/wheelhouse/deps/$1.txt
      pip install --no-index --find-links /wheelhouse/deps -r "$requirements"
      ;;
    app)
      [ "$1" = --all ] && set -- /wheelhouse/workspace/*.whl
      pip install --no-index --find-links /wheelhouse/deps --find-links /wheelhouse/workspace \
        -c /wheelhouse/deps/all.txt "$@"
      pip uninstall -y pip setuptools
      ;;
  esac
else
  export UV_PROJECT_ENVIRONMENT=/app/.venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
  which=--all-packages
  [ "$1" = --all ] || which="--package $1"
  case $step in
    deps) pip install --no-cache-dir -q uv ;;
    # shellcheck disable=SC2086
    app) uv sync --frozen --no-dev --no-editable $which && rm -rf /root/.cache/uv ;;
  esac
fi
