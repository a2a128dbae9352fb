"""Cross-service test fixtures. ``embedded_server`` runs `bpctl run` as a real process on a free
port, as a newcomer would, for the tests that talk HTTP to it (fuzzing, the admin CLI)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ADMIN_KEY = "bp_admin_embedded-server-key"


@dataclass(frozen=True)
class Server:
    url: str
    admin_key: str
    var_dir: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    var_dir = tmp_path_factory.mktemp("embedded")
    log_path = var_dir / "platform.log"
    env = os.environ | {
        "ADMIN_API_KEY": ADMIN_KEY,
        "LOG_LEVEL": "WARNING",
        # Tests are single clients sending as fast as they can; rate limits have their own test.
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "10000000",
        "GATEWAY_RATE_LIMIT_BURST": "100000",
        # A PDF report on a busy machine may take longer than the production deadlines.
        "GATEWAY_UPSTREAM_TIMEOUT_S": "120",
        "REPORT_TIMEOUT_S": "120",  # the gateway's report route and meetings-api's deadline
    }
    command = [sys.executable, "-m", "bpctl.cli", "run", "--port", str(port)]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "--var-dir", str(var_dir)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # generous: a busy machine migrates slowly
        while not _ready(url):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"the embedded platform did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield Server(url, ADMIN_KEY, var_dir)
    finally:
        process.terminate()
        process.wait(timeout=15)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
