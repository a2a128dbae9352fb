"""Transactional outbox: events are rows written in the caller's transaction; a relay publishes
them after the commit and marks them sent only once the bus has acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import OUTBOX_WRITTEN, Database
from bp_common.events.bus import EventBus
from bp_common.events.contract import Event, schema_url
from bp_common.events.envelope import CloudEvent
from bp_common.events.store import MessagingTables
from bp_common.faults import CrashPoint
from bp_common.observability import metrics, tracing
from bp_common.request_context import current_actor, current_request_id

logger = logging.getLogger(__name__)


class Outbox:
    """Writes events into the caller's transaction; they leave only if it commits."""

    def __init__(self, table: Table, source: str) -> None:
        self.table = table
        self.source = source

    def event(self, event: Event) -> CloudEvent:
        """The CloudEvent of ``event``: type, subject, key and schema all come from its model;
        the request id and trace context from the work in progress."""
        traceparent, tracestate = tracing.current_trace_context()
        return CloudEvent(
            type=event.type,
            source=self.source,
            subject=event.subject,
            partitionkey=event.key,
            data=event.data(),
            dataschema=schema_url(event.type),
            requestid=current_request_id(),
            actor=current_actor(),
            traceparent=traceparent,
            tracestate=tracestate,
        )

    async def add(self, session: AsyncSession, *events: CloudEvent) -> None:
        if not events:
            return
        await session.execute(
            insert(self.table),
            [
                {
                    "event_id": e.id,
                    "topic": e.topic,
                    "event_type": e.type,
                    "envelope": e.to_json(),
                }
                for e in events
            ],
        )
        session.info[OUTBOX_WRITTEN] = True

    async def emit(self, session: AsyncSession, event: Event) -> CloudEvent:
        cloud_event = self.event(event)
        await self.add(session, cloud_event)
        return cloud_event


def service_outbox(messaging: MessagingTables, service: str) -> Outbox:
    """The outbox of ``service``: its requests (through the runtime) and its event handlers
    (which get no request dependencies) write through the same table with the same source."""
    return Outbox(messaging.outbox, source=f"/{service}")


class OutboxRelay:
    """Publishes unsent outbox rows. Woken right after a commit that wrote some; polls as a
    fallback (rows left by a crash, another replica's commits); backs off while the bus fails."""

    def __init__(
        self,
        database: Database,
        table: Table,
        bus: EventBus,
        *,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 10.0,
        crash_before_publish_after: int | None = None,
        service: str = "",
    ) -> None:
        self.database = database
        self.service = service
        self.table = table
        self.bus = bus
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.max_backoff_s = max_backoff_s
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._crash_before_publish = CrashPoint("before outbox publish", crash_before_publish_after)
        database.on_outbox_commit(self.wake)

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay:{self.table.name}")

    async def stop(self, grace_s: float = 10.0) -> None:
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, grace_s)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                published = await self.publish_pending()
            except Exception as exc:
                backoff = min(self.max_backoff_s, max(0.1, backoff * 2))
                logger.warning("outbox relay: publish failed (%r); retrying in %.1fs", exc, backoff)
                metrics.RELAY_FAILURES.labels(self.service).inc()
                await self._record_failure(exc)
                await self._sleep(backoff, wake_early=False)
                continue
            backoff = 0.0
            if published < self.batch_size:
                await self._sleep(self.poll_interval_s, wake_early=True)

    async def _sleep(self, seconds: float, *, wake_early: bool) -> None:
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if wake_early:
            waiters.append(asyncio.ensure_future(self._wakeup.wait()))
        _, pending = await asyncio.wait(
            waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in pending:
            waiter.cancel()

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; return how many were published."""
        async with self.database.transaction() as session:
            rows = (
                await session.execute(
                    select(self.table.c.id, self.table.c.envelope)
                    .where(self.table.c.sent_at.is_(None))
                    .order_by(self.table.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            self._crash_before_publish.reached(len(rows))
            events = [CloudEvent.from_json(row.envelope) for row in rows]
            with (
                metrics.RELAY_PUBLISH_DURATION.labels(self.service).time(),
                tracing.publishing(events) as traced,
            ):
                await self.bus.publish(traced)
            metrics.RELAY_PUBLISHED.labels(self.service).inc(len(rows))
            await session.execute(
                update(self.table)
                .where(self.table.c.id.in_([row.id for row in rows]))
                .values(sent_at=datetime.now(UTC))
            )
        return len(rows)

    async def _record_failure(self, exc: Exception) -> None:
        with contextlib.suppress(Exception):
            async with self.database.transaction() as session:
                oldest = (
                    select(self.table.c.id)
                    .where(self.table.c.sent_at.is_(None))
                    .order_by(self.table.c.id)
                    .limit(self.batch_size)
                    .scalar_subquery()
                )
                await session.execute(
                    update(self.table)
                    .where(self.table.c.id.in_(oldest))
                    .values(attempts=self.table.c.attempts + 1, last_error=repr(exc)[:2000])
                )

    async def backlog(self) -> tuple[int, datetime | None]:
        """How many rows wait to be published, and when the oldest of them was written."""
        async with self.database.sessionmaker() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(self.table.c.created_at)).where(
                        self.table.c.sent_at.is_(None)
                    )
                )
            ).one()
        return int(count or 0), oldest

    async def pending_count(self) -> int:
        async with self.database.sessionmaker() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(self.table)
                    .where(self.table.c.sent_at.is_(None))
                )
                or 0
            )
