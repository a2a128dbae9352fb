"""Transactional outbox: events are rows written in the caller's transaction; a relay publishes
them after the commit and marks them sent only once the bus has acknowledged them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import OUTBOX_WRITTEN, Database, without_checkout_ping
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
        # Handed to the relay once the transaction commits (and dropped if it rolls back).
        session.info.setdefault(OUTBOX_WRITTEN, []).extend(events)

    async def emit(self, session: AsyncSession, event: Event) -> CloudEvent:
        cloud_event = self.event(event)
        await self.add(session, cloud_event)
        return cloud_event


def service_outbox(messaging: MessagingTables, service: str) -> Outbox:
    """The outbox of ``service``: its requests (through the runtime) and its event handlers
    (which get no request dependencies) write through the same table with the same source."""
    return Outbox(messaging.outbox, source=f"/{service}")


class OutboxRelay:
    """Publishes unsent outbox rows, and marks them sent once the bus has acknowledged them.

    Two paths. The fast one: a commit in this process hands the relay the events it wrote, which
    are published as they are, without reading them back (saving a checkout, a ``BEGIN`` and a
    ``SELECT`` on every event's way out). The table stays the record: a row is marked sent only
    after the bus's acknowledgement, and the poll publishes what the fast path did not: rows left
    by a crash, by a failed publish, by another replica, or written before this relay started.

    The fast path is taken only while the relay is caught up (its last full poll found less than a
    batch and nothing failed since), so it never overtakes older unsent rows. The periodic poll,
    while caught up, leaves rows younger than ``fast_path_grace_s`` alone: they are on a fast path
    here or in another replica. A row published twice (a replica's poll racing that replica's fast
    path) is harmless: consumers apply each event once."""

    def __init__(
        self,
        database: Database,
        table: Table,
        bus: EventBus,
        *,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 10.0,
        fast_path_grace_s: float = 5.0,
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
        self.fast_path_grace_s = fast_path_grace_s
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._crash_before_publish = CrashPoint("before outbox publish", crash_before_publish_after)
        # Events committed in this process, in commit order, not yet published by the fast path.
        self._committed: deque[CloudEvent] = deque()
        self._caught_up = False
        # The ids the last poll published: a commit that landed between the poll's start and its
        # SELECT is both in the rows read and on the fast path.
        self._polled_ids: set[str] = set()
        database.on_outbox_commit(self._on_commit)

    @property
    def caught_up(self) -> bool:
        """True while the fast path publishes this process's commits (nothing older waits)."""
        return self._caught_up

    def _on_commit(self, events: list[CloudEvent]) -> None:
        if self._task is not None:  # a stopped relay's poll finds them at its next start
            self._committed.extend(events)
        self._wakeup.set()

    def start(self) -> None:
        self._stopping.clear()
        self._caught_up = False
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
        self._committed.clear()

    async def _run(self) -> None:
        backoff = 0.0
        with without_checkout_ping():  # a dropped connection is retried below, as any failure
            while not self._stopping.is_set():
                self._wakeup.clear()
                try:
                    if self._caught_up and self._committed:
                        published = await self._publish_committed()
                    else:
                        published = await self._poll(everything=not self._caught_up)
                except Exception as exc:
                    self._caught_up = False
                    backoff = min(self.max_backoff_s, max(0.1, backoff * 2))
                    logger.warning(
                        "outbox relay: publish failed (%r); retrying in %.1fs", exc, backoff
                    )
                    metrics.RELAY_FAILURES.labels(self.service).inc()
                    await self._record_failure(exc)
                    await self._sleep(backoff, wake_early=False)
                    continue
                backoff = 0.0
                if published < self.batch_size and not (self._caught_up and self._committed):
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
        """Publish one batch of unsent rows, whatever their age; return how many."""
        return await self._poll(everything=True)

    async def _poll(self, *, everything: bool) -> int:
        """Publish one batch of unsent rows read from the table. ``everything``: also those a
        fast path may be publishing (the relay is catching up, so it has none in flight)."""
        if everything:
            # Whatever committed before this point is in the table, read below.
            self._committed.clear()
        published = await self._publish_rows(everything=everything)
        if everything:
            self._caught_up = published < self.batch_size
        return published

    async def _publish_rows(self, *, everything: bool) -> int:
        async with self.database.transaction() as session:
            statement = select(self.table.c.id, self.table.c.envelope).where(
                self.table.c.sent_at.is_(None)
            )
            if not everything:
                grace = timedelta(seconds=self.fast_path_grace_s)
                statement = statement.where(self.table.c.created_at < datetime.now(UTC) - grace)
            rows = (
                await session.execute(
                    statement.order_by(self.table.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                self._polled_ids = set()
                return 0
            events = [CloudEvent.from_json(row.envelope) for row in rows]
            await self._publish(events)
            self._polled_ids = {event.id for event in events}
            await session.execute(
                update(self.table)
                .where(self.table.c.id.in_([row.id for row in rows]))
                .values(sent_at=datetime.now(UTC))
            )
        return len(rows)

    async def _publish_committed(self) -> int:
        """The fast path: publish a batch of the events this process committed, then mark their
        rows sent (those a poll has not marked already)."""
        batch: list[CloudEvent] = []
        while self._committed and len(batch) < self.batch_size:
            event = self._committed.popleft()
            if event.id not in self._polled_ids:
                batch.append(event)
        if not batch:
            return 0
        await self._publish(batch)
        async with self.database.transaction() as session:
            await session.execute(
                update(self.table)
                .where(self.table.c.event_id.in_([event.id for event in batch]))
                .where(self.table.c.sent_at.is_(None))
                .values(sent_at=datetime.now(UTC))
            )
        return len(batch)

    async def _publish(self, events: list[CloudEvent]) -> None:
        self._crash_before_publish.reached(len(events))
        with (
            metrics.RELAY_PUBLISH_DURATION.labels(self.service).time(),
            tracing.publishing(events) as traced,
        ):
            await self.bus.publish(traced)
        metrics.RELAY_PUBLISHED.labels(self.service).inc(len(events))

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
