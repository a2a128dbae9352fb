"""Database helpers shared by this service's repositories."""

from __future__ import annotations

from sqlalchemy import JSON, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

# JSONB on PostgreSQL: it has equality, which change detection relies on.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else ""


async def advisory_lock(session: AsyncSession, key: str) -> None:
    """Serialise the transactions that take the same ``key`` until they end (PostgreSQL).
    SQLite needs nothing: it admits one writer at a time."""
    if dialect_of(session) == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
