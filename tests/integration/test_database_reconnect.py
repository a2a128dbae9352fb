"""The database kit against the real PostgreSQL: connections that died with their backend (a
restart) are replaced before a request uses them."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text

from bp_common.db import Database

from .conftest import PG_URL


async def test_pooled_connections_whose_backends_died_are_replaced_before_use() -> None:
    """A restarted database costs no request: the checkout ping finds the dead connections and
    the pool replaces them (here their backends are terminated, as a restart would)."""
    database = Database(PG_URL.replace("postgresql://", "postgresql+asyncpg://") + "/postgres")

    async def backend_pid() -> int:
        async with database.transaction() as session:
            await session.execute(text("SELECT pg_sleep(0.05)"))  # three at once: three in the pool
            return int(await session.scalar(text("SELECT pg_backend_pid()")))

    try:
        before = set(await asyncio.gather(*(backend_pid() for _ in range(3))))
        admin = await asyncpg.connect(f"{PG_URL}/postgres")
        try:
            for pid in before:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        after = set(await asyncio.gather(*(backend_pid() for _ in range(3))))
        assert not before & after
    finally:
        await database.dispose()
