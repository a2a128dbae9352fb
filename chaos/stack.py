"""The distributed mode under test: fresh PostgreSQL databases, a fresh Kafka namespace, the four
processes of deploy/stack.sh on their own ports, extra instances (a second replica, replay
instances), and the means to kill and restart any of them, the broker and the database.

Every wait has a deadline; every process started here is stopped on the way out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import asyncpg
import httpx
import psutil

from bp_common.security import IDENTITY_HEADER, Identity, Role, sign_identity
from bp_common.settings import DEV_IDENTITY_SECRET
from bp_common.testing import EVERY_SERVICE, delete_namespace, drop_database

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BP_CHAOS_PG_URL", "postgresql://budapest:budapest@127.0.0.1:5432")
KAFKA = os.environ.get("BP_CHAOS_KAFKA", "127.0.0.1:9092")
ADMIN_KEY = "bp_admin_chaos-key"
SERVICES = ("meetings-api", "plan-api", "indicators-api", "notifications-api", "gateway")
# Settings prefix, consumer group (= the service's spec name) and database of each service.
PREFIX = {
    "meetings-api": "MEETINGS",
    "plan-api": "PLAN",
    "indicators-api": "INDICATORS",
    "notifications-api": "NOTIFICATIONS",
}
GROUP = {
    "meetings-api": "meetings",
    "plan-api": "plan",
    "indicators-api": "indicators",
    "notifications-api": "notifications",
}
DATABASE = {
    "meetings-api": "meetings",
    "plan-api": "plan",
    "indicators-api": "indicators",
    "notifications-api": "notifications",
    "gateway": "gateway",
}
# Offsets from the base port: the five processes, then the extra instances.
PORT_OFFSET = {
    "gateway": 0,
    "meetings-api": 1,
    "plan-api": 2,
    "indicators-api": 3,
    "notifications-api": 4,
}
UV = ["uv", "run", "--frozen"]


class ChaosError(RuntimeError):
    """A step of the fault tests could not be carried out (not a finding about the platform)."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def signed_identity() -> dict[str, str]:
    """What the gateway forwards: lets the harness read a service (or a replay instance that no
    gateway fronts) directly. Signed per call, the identity is short-lived."""
    identity = Identity(principal="chaos", role=Role.SECRETARIAT, request_id=uuid.uuid4().hex)
    return {IDENTITY_HEADER: sign_identity(identity, DEV_IDENTITY_SECRET, audience=EVERY_SERVICE)}


# -- processes ------------------------------------------------------------------------------------


def process_gone(pid: int) -> bool:
    """Dead, or a zombie: PID 1 on this machine reaps slowly and ``kill -0`` counts zombies."""
    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True


def process_tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


async def wait_gone(pids: list[int], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not all(process_gone(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise ChaosError(f"{what} (pids {pids}) still alive after {within_s:.0f}s")
        await asyncio.sleep(0.05)


async def signal_group(pid: int, sig: signal.Signals, what: str, within_s: float = 15) -> None:
    """Signal the process group led by ``pid`` (setsid: the ``uv run`` wrapper and its Python)
    and wait until every process of the tree is gone."""
    tree = process_tree(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    for child in tree:  # a child that left the group still goes
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, sig)
    await wait_gone(tree, within_s, what)


async def stop_group(pid: int, what: str, grace_s: float = 15) -> None:
    try:
        await signal_group(pid, signal.SIGTERM, what, grace_s)
    except ChaosError:
        await signal_group(pid, signal.SIGKILL, what)


@contextlib.contextmanager
def open_log(path: Path) -> Iterator[BinaryIO]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as out:
        yield out


async def run_command(
    argv: list[str], *, env: Mapping[str, str], timeout_s: float, log_file: Path, what: str
) -> None:
    """Run a command to completion, output appended to ``log_file`` (never a pipe: the scripts
    leave daemons behind that would hold it open)."""
    with open_log(log_file) as out:
        out.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        try:
            code = await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise ChaosError(f"{what}: no answer after {timeout_s:.0f}s; see {log_file}") from None
    if code != 0:
        raise ChaosError(f"{what}: exit code {code}; last lines of {log_file}:\n{tail(log_file)}")


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# -- the broker and the database ------------------------------------------------------------------


def infrastructure_env() -> dict[str, str]:
    """deploy/kafka.sh and deploy/postgres.sh find their data through BP_VAR_DIR: never give them
    a stack's run directory."""
    return {k: v for k, v in os.environ.items() if k not in ("BP_VAR_DIR", "KAFKA_NAMESPACE")}


class Infrastructure:
    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file

    async def kafka(self, command: str, timeout_s: float = 180) -> None:
        await run_command(
            ["bash", str(REPO / "deploy" / "kafka.sh"), command],
            env=infrastructure_env(),
            timeout_s=timeout_s,
            log_file=self.log_file,
            what=f"deploy/kafka.sh {command}",
        )

    async def postgres(self, command: str, timeout_s: float = 120) -> None:
        await run_command(
            ["bash", str(REPO / "deploy" / "postgres.sh"), command],
            env=infrastructure_env(),
            timeout_s=timeout_s,
            log_file=self.log_file,
            what=f"deploy/postgres.sh {command}",
        )

    async def ensure_up(self) -> None:
        """Both servers running and answering (``start`` is a no-op when they are)."""
        await self.postgres("start")
        await self.kafka("start")


@contextlib.asynccontextmanager
async def pg_connection(database: str, timeout_s: float = 10) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(f"{PG_URL}/{database}", timeout=timeout_s)
    try:
        yield connection
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 5)


async def create_databases(names: list[str]) -> None:
    async with pg_connection("postgres") as admin:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')


async def drop_databases(names: list[str]) -> None:
    async with pg_connection("postgres") as admin:
        for name in names:
            await drop_database(admin, name)


def sqlalchemy_url(database: str) -> str:
    return f"{PG_URL.replace('postgresql://', 'postgresql+asyncpg://')}/{database}"


# -- the stack ------------------------------------------------------------------------------------


async def wait_healthy(url: str, within_s: float, what: str, alive: object = None) -> None:
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            if callable(alive) and not alive():
                raise ChaosError(f"{what} exited while starting")
            if time.monotonic() > deadline:
                raise ChaosError(f"{what} not healthy at {url} after {within_s:.0f}s")
            await asyncio.sleep(0.2)


@dataclass
class Instance:
    """An extra process of a service beside the stack's (a second replica, a replay instance)."""

    service: str
    port: int
    env: dict[str, str]
    log_file: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def migrate(self) -> None:
        await run_command(
            [*UV, self.service, "migrate"],
            env=self.env,
            timeout_s=120,
            log_file=self.log_file,
            what=f"{self.service} migrate",
        )

    async def start(self) -> None:
        with open_log(self.log_file) as out:
            self.process = await asyncio.create_subprocess_exec(
                *UV,
                self.service,
                "serve",
                "--port",
                str(self.port),
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a SIGKILL takes uv run and Python
            )
        process = self.process
        try:
            await wait_healthy(
                self.url, 60, f"{self.service} on {self.port}", lambda: process.returncode is None
            )
        except ChaosError as exc:
            raise ChaosError(
                f"{exc}; last lines of {self.log_file}:\n{tail(self.log_file)}"
            ) from None

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, the consumer leaves its group by timing out."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        await self._end(signal.SIGTERM)

    async def _end(self, sig: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        what = f"{self.service}:{self.port}"
        if sig is signal.SIGKILL:
            await signal_group(process.pid, sig, what)
        else:
            await stop_group(process.pid, what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)


@dataclass
class Stack:
    run_dir: Path
    namespace: str
    base_port: int
    databases: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    extra_databases: list[str] = field(default_factory=list)

    def port(self, service: str) -> int:
        return self.base_port + PORT_OFFSET[service]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    def database(self, service: str) -> str:
        return self.databases[DATABASE[service]]

    @property
    def script(self) -> list[str]:
        return ["bash", str(REPO / "deploy" / "stack.sh")]

    @property
    def log_file(self) -> Path:
        return self.run_dir / "chaos-commands.log"

    def pid_file(self, service: str) -> Path:
        return self.run_dir / "stack" / f"{service}.pid"

    def pid(self, service: str) -> int | None:
        try:
            return int(self.pid_file(service).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def alive(self, service: str) -> bool:
        pid = self.pid(service)
        return pid is not None and not process_gone(pid)

    async def start(self, **extra_env: str) -> None:
        """``stack.sh start``: starts whichever of the four is not running (with ``extra_env``,
        e.g. a crash hook, for those only)."""
        for service in SERVICES:
            # stack.sh's kill -0 sees a zombie as running: forget a dead service's pid file.
            pid = self.pid(service)
            if pid is not None and process_gone(pid):
                self.pid_file(service).unlink(missing_ok=True)
        await run_command(
            [*self.script, "start"],
            env=self.env | extra_env,
            timeout_s=300,
            log_file=self.log_file,
            what="deploy/stack.sh start",
        )

    async def kill(self, service: str) -> None:
        """SIGKILL the service's process group: no shutdown hook runs."""
        pid = self.pid(service)
        if pid is None:
            raise ChaosError(f"{service} has no pid file")
        await signal_group(pid, signal.SIGKILL, service)
        self.pid_file(service).unlink(missing_ok=True)

    async def stop_service(self, service: str) -> None:
        """SIGTERM: a graceful stop (requests in progress are answered)."""
        pid = self.pid(service)
        if pid is not None:
            await stop_group(pid, service)
        self.pid_file(service).unlink(missing_ok=True)

    async def wait_exit(self, service: str, within_s: float) -> None:
        """Wait until the service's process exits by itself (a crash hook fired)."""
        pid = self.pid(service)
        if pid is None:
            raise ChaosError(f"{service} has no pid file")
        await wait_gone(process_tree(pid) or [pid], within_s, f"{service} (crash hook)")
        self.pid_file(service).unlink(missing_ok=True)

    async def stop(self) -> None:
        for instance in self.instances:
            with contextlib.suppress(Exception):
                await instance.stop()
        await run_command(
            [*self.script, "stop"],
            env=self.env,
            timeout_s=120,
            log_file=self.log_file,
            what="deploy/stack.sh stop",
        )
        # Anything stack.sh could not see (a pid file already removed) still goes.
        for service in SERVICES:
            pid = self.pid(service)
            if pid is not None and not process_gone(pid):
                await signal_group(pid, signal.SIGKILL, service)

    def instance(self, service: str, port: int, name: str, **overrides: str) -> Instance:
        """Another process of ``service`` on ``port``, configured as the stack's, then
        ``overrides`` (settings without their prefix: ``DATABASE_URL``, ``CONSUMER_GROUP``)."""
        prefix = PREFIX[service]
        env = self.env | {f"{prefix}_{key}": value for key, value in overrides.items()}
        instance = Instance(service, port, env, self.run_dir / f"{name}.log")
        self.instances.append(instance)
        return instance


def stack_env(
    run_dir: Path, namespace: str, base_port: int, databases: Mapping[str, str]
) -> dict[str, str]:
    env = os.environ | {
        "BP_VAR_DIR": str(run_dir),
        "KAFKA_NAMESPACE": namespace,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "ADMIN_API_KEY": ADMIN_KEY,
        # The writers' rate is the point here, not the gateway's rate limit.
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "GATEWAY_RATE_LIMIT_BURST": "1000000",
    }
    for service in SERVICES:
        prefix = PREFIX.get(service, "GATEWAY")
        env[f"{prefix}_DATABASE_URL"] = sqlalchemy_url(databases[DATABASE[service]])
        env[f"{prefix}_PORT"] = str(base_port + PORT_OFFSET[service])
        env[f"{prefix}_ENVIRONMENT"] = "test"
        # stack.sh sets these for its four; the extra instances get them from here.
        env[f"{prefix}_BUS"] = "kafka"
        env[f"{prefix}_KAFKA_BOOTSTRAP_SERVERS"] = KAFKA
        env[f"{prefix}_KAFKA_NAMESPACE"] = namespace
        # An access line per request would cost the 2 cores more than the requests.
        env[f"{prefix}_LOG_LEVEL"] = os.environ.get("CHAOS_LOG_LEVEL", "WARNING")
    # notifications-api delivers to the harness's webhook receiver (chaos/webhooks.py).
    env |= {
        "NOTIFICATIONS_WEBHOOK_ALLOW_HTTP": "true",
        "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
        "NOTIFICATIONS_WEBHOOK_RETRY_SCHEDULE_S": "[0, 1, 2, 5, 10, 20, 30, 60, 60, 60]",
    }
    return env


@contextlib.asynccontextmanager
async def running_stack(
    run_dir: Path, base_port: int, label: str, *, keep: bool = False
) -> AsyncIterator[Stack]:
    """The four processes on fresh databases and a fresh namespace; all of it stopped and
    dropped on the way out, whatever happened (``keep``: the databases and topics stay, to
    look into a failure)."""
    suffix = uuid.uuid4().hex[:8]
    databases = {
        name: f"chaos_{label}_{name}_{suffix}"
        for name in ("meetings", "plan", "indicators", "notifications", "gateway")
    }
    namespace = f"chaos{label}{suffix}."
    stack = Stack(
        run_dir,
        namespace,
        base_port,
        databases,
        env=stack_env(run_dir, namespace, base_port, databases),
    )
    await create_databases(list(databases.values()))
    try:
        log(f"stack {namespace} on ports {base_port}-{base_port + 4} (logs in {run_dir})")
        await stack.start()
        yield stack
    finally:
        try:
            await stack.stop()
        finally:
            if keep:
                log(f"kept: databases {sorted(databases.values())}, topics {namespace}*")
            else:
                try:
                    await drop_databases([*databases.values(), *stack.extra_databases])
                finally:
                    # A run's topics and groups go with its databases: a broker holding hundreds
                    # of dead partitions takes that much longer to recover from a SIGKILL. A
                    # broker left down by a scenario is a warning here, not a second failure.
                    await delete_namespace(KAFKA, namespace, timeout_s=90)
