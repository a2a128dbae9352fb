"""The distributed mode for benchmarks: fresh databases and a fresh Kafka namespace, the four
processes started by deploy/stack.sh on their own ports, and their peak memory at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import psutil

from bp_common.testing import delete_namespace, drop_database

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BP_BENCH_PG_URL", "postgresql://budapest:budapest@127.0.0.1:5432")
KAFKA = os.environ.get("BP_BENCH_KAFKA", "127.0.0.1:9092")
ADMIN_KEY = "bp_admin_bench-key"
SERVICES = ("gateway", "meetings-api", "plan-api", "indicators-api", "notifications-api")
# Overridable so two runs on one machine do not share (and stop) each other's processes.
PORT_BASE = int(os.environ.get("BP_BENCH_PORT_BASE", "28000"))


def ports_from(base: int) -> dict[str, int]:
    return {service: base + offset for offset, service in enumerate(SERVICES)}


@dataclass
class Stack:
    run_dir: Path
    namespace: str
    databases: dict[str, str]
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def processes(self) -> dict[str, list[psutil.Process]]:
        """Each service's process tree (``uv run`` wraps the Python process)."""
        found: dict[str, list[psutil.Process]] = {}
        for service in SERVICES:
            pid_file = self.run_dir / "stack" / f"{service}.pid"
            with contextlib.suppress(FileNotFoundError, psutil.NoSuchProcess):
                root = psutil.Process(int(pid_file.read_text()))
                found[service] = [root, *root.children(recursive=True)]
        return found


def peak_rss_mib(processes: list[psutil.Process]) -> float:
    """Peak resident set (VmHWM) of the largest process in a tree, in MiB."""
    peaks = []
    for process in processes:
        with contextlib.suppress(OSError, psutil.NoSuchProcess):
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def infrastructure_peaks() -> dict[str, float]:
    """Peak memory of PostgreSQL (all its backends together, at the end) and of the broker."""
    postgres = 0.0
    kafka = 0.0
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            cmdline = " ".join(process.info["cmdline"] or [])
            if process.info["name"] == "postgres":
                postgres += process.memory_info().rss / 2**20
            elif "kafka.Kafka" in cmdline:
                kafka = max(kafka, peak_rss_mib([process]))
    return {
        "postgresql (sum of backends, at end)": round(postgres, 1),
        "kafka broker": round(kafka, 1),
    }


@contextlib.asynccontextmanager
async def running_stack(
    run_dir: Path, *, port_base: int = PORT_BASE, rate_limited: bool = False, **extra_env: str
) -> AsyncIterator[Stack]:
    """The five processes on ``port_base`` and the four after it. Without ``rate_limited`` the
    gateway's per-key limits are lifted: a benchmark measures the platform, not the limiter."""
    admin = await asyncpg.connect(f"{PG_URL}/postgres")
    suffix = uuid.uuid4().hex[:8]
    databases = {
        name: f"bench_{name}_{suffix}"
        for name in ("meetings", "plan", "indicators", "notifications", "gateway")
    }
    for database in databases.values():
        await admin.execute(f'CREATE DATABASE "{database}"')
    sqlalchemy_pg = PG_URL.replace("postgresql://", "postgresql+asyncpg://")
    stack = Stack(run_dir, f"bench{suffix}.", databases, ports_from(port_base))
    unlimited = {
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "1000000",
    }
    stack.env = os.environ | {
        "BP_VAR_DIR": str(run_dir),
        "KAFKA_NAMESPACE": stack.namespace,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "ADMIN_API_KEY": ADMIN_KEY,
        # Each process reads its own prefix: no access line per request during the run.
        **{
            f"{prefix}_LOG_LEVEL": "WARNING"
            for prefix in ("GATEWAY", "MEETINGS", "PLAN", "INDICATORS", "NOTIFICATIONS")
        },
        **({} if rate_limited else unlimited),
        **{
            f"{name.upper()}_DATABASE_URL": f"{sqlalchemy_pg}/{db}"
            for name, db in databases.items()
        },
        **{
            f"{service.split('-')[0].upper()}_PORT": str(port)
            for service, port in stack.ports.items()
        },
        **extra_env,
    }
    script = [str(REPO / "deploy" / "stack.sh")]
    try:
        await asyncio.to_thread(
            subprocess.run, ["bash", *script, "start"], env=stack.env, check=True, timeout=300
        )
        yield stack
    finally:
        await asyncio.to_thread(
            subprocess.run, ["bash", *script, "stop"], env=stack.env, check=False, timeout=120
        )
        try:
            for database in databases.values():
                await drop_database(admin, database)
            await admin.close()
        finally:
            # After the stop: a consumer still running would create its topics again.
            await delete_namespace(KAFKA, stack.namespace, timeout_s=60)
