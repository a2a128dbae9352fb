"""Command line of every service process: ``serve`` (the default) and ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from bp_common.db import Database
from bp_common.logging import configure_logging
from bp_common.migrations import upgrade_to_head
from bp_common.observability.tracing import configure_tracing
from bp_common.settings import ServiceSettings


def service_main(
    *,
    settings_factory: Callable[[], ServiceSettings],
    app_factory: Callable[[ServiceSettings], FastAPI],
    migrations: Path,
    default_port: int,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="run the HTTP service (default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    sub.add_parser("migrate", help="apply the database migrations and exit")
    args = parser.parse_args(argv)

    settings = settings_factory()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.command == "migrate":
        asyncio.run(_migrate(settings.database_url, migrations))
        return
    configure_process_tracing(settings)
    app = app_factory(settings)
    freeze_startup_objects()
    uvicorn.run(
        app,
        host=getattr(args, "host", "127.0.0.1"),
        port=getattr(args, "port", default_port),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def configure_process_tracing(settings: ServiceSettings) -> None:
    """Before the app is made: its instrumentation depends on whether tracing is on."""
    configure_tracing(
        settings.service_name,
        settings.tracing_exporter,
        otlp_endpoint=settings.tracing_otlp_endpoint,
        sample_ratio=settings.tracing_sample_ratio,
    )


def freeze_startup_objects() -> None:
    """Move everything allocated so far (modules, the app, its routes and schemas: ~150,000
    objects) out of the garbage collector's reach. Profiled: a full collection rescans them all,
    ~100 ms on this class of machine, and a 10,000-row import allocates enough to trigger about
    one per request; frozen, the same collection takes ~2 ms. Frozen objects are still freed by
    reference counting; only cycles among them would stay, and they live as long as the process
    anyway."""
    gc.collect()
    gc.freeze()


async def _migrate(url: str, migrations: Path) -> None:
    database = Database(url)
    try:
        await upgrade_to_head(database, migrations)
    finally:
        await database.dispose()
