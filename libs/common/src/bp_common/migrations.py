"""Alembic per service, run programmatically: at start-up in the embedded mode, by the
``migrate`` command in the distributed one. Each service's ``env.py`` calls :func:`run_env`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from bp_common.db import Database


def alembic_config(script_location: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_to_head(database: Database, script_location: Path) -> None:
    config = alembic_config(script_location, database.url)
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade, config)


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _configure_and_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place: batch mode rebuilds the table.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``migrations/env.py``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection, metadata)
        return

    async def _run() -> None:
        engine = create_async_engine(context.config.get_main_option("sqlalchemy.url") or "")
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run, metadata)
        await engine.dispose()

    asyncio.run(_run())
