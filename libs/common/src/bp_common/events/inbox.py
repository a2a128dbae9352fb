"""Idempotent consumers: an event's effect and its inbox row commit together, so a redelivered
or replayed event is recognised and skipped."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import Table, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import Database, dialect_insert, dialect_of
from bp_common.events.envelope import CloudEvent, topic_for_type
from bp_common.observability import metrics, tracing

logger = logging.getLogger(__name__)

SessionHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


async def claim(session: AsyncSession, table: Table, group: str, event: CloudEvent) -> bool:
    """Record ``event`` as processed by ``group``; False if it already was."""
    statement = (
        dialect_insert(session, table)
        .values(consumer_group=group, event_id=event.id, event_type=event.type)
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def forget_claims(session: AsyncSession, table: Table, group: str) -> int:
    """Delete ``group``'s claims, so that its events are applied again (a replay); returns how
    many. On PostgreSQL the inbox is first locked against writers until the transaction ends: a
    consumer transaction in flight would otherwise commit a claim this delete cannot see, whose
    effect the caller is about to wipe, and the replay would skip that event."""
    if dialect_of(session) == "postgresql":
        await session.execute(text(f'LOCK TABLE "{table.name}" IN EXCLUSIVE MODE'))
    result = await session.execute(delete(table).where(table.c.consumer_group == group))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def count_claims(session: AsyncSession, table: Table, group: str) -> int:
    statement = select(func.count()).select_from(table).where(table.c.consumer_group == group)
    return int(await session.scalar(statement) or 0)


class InboxDispatcher:
    """Routes events by type to handlers, each run in one transaction with its inbox claim."""

    def __init__(
        self,
        database: Database,
        inbox: Table,
        group: str,
        handlers: Mapping[str, SessionHandler],
    ) -> None:
        self.database = database
        self.inbox = inbox
        self.group = group
        self.handlers = dict(handlers)

    @property
    def topics(self) -> list[str]:
        return sorted({topic_for_type(event_type) for event_type in self.handlers})

    async def __call__(self, event: CloudEvent) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            return
        started = time.perf_counter()
        try:
            with tracing.handling(event, self.group):
                applied = await self._apply(handler, event)
        except Exception:
            metrics.HANDLER_FAILURES.labels(self.group, event.type).inc()
            raise
        if applied:
            metrics.HANDLER_DURATION.labels(self.group, event.type).observe(
                time.perf_counter() - started
            )

    async def _apply(self, handler: SessionHandler, event: CloudEvent) -> bool:
        """Apply ``event`` with its inbox claim; False if the group had already applied it."""
        async with self.database.transaction() as session:
            if not await claim(session, self.inbox, self.group, event):
                logger.info("event %s already processed by %s; skipped", event.id, self.group)
                metrics.INBOX_DUPLICATES.labels(self.group, event.type).inc()
                return False
            await handler(session, event)
        return True
