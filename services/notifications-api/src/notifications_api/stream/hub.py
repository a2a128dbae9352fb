"""What the open streams share: a signal raised after each commit that stored events (a poll is
the fallback for events stored by another replica), the tail of the log read once for all of
them (one query per commit, not one per stream; each event serialised once), and the log's
retention."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bp_common.app import ServiceRuntime
from bp_common.db import Database
from notifications_api.event_log import repository
from notifications_api.event_log.handlers import EVENTS_STORED
from notifications_api.event_log.models import LoggedEvent, structured
from notifications_api.settings import NotificationsSettings

logger = logging.getLogger(__name__)
# How often the retention is applied.
PRUNE_INTERVAL_S = 300.0
# The newest events kept in memory for the open streams; a stream further behind (resuming an
# old position) reads the log itself.
TAIL_EVENTS = 2000
TAIL_READ_BATCH = 500


@dataclass(frozen=True)
class StreamedEvent:
    """A logged event as the streams send it: the CloudEvent's JSON, made once."""

    seq: int
    type: str
    data: Mapping[str, Any]
    raw: str

    @classmethod
    def of(cls, row: LoggedEvent) -> StreamedEvent:
        envelope = structured(row.envelope)
        return cls(row.seq, row.type, envelope.get("data") or {}, orjson.dumps(envelope).decode())


class StreamHub:
    def __init__(self, database: Database, settings: NotificationsSettings) -> None:
        self.database = database
        self.settings = settings
        self._stored = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The tail: every event after position ``_tail_after``, in order (None: not read yet).
        self._tail: list[StreamedEvent] = []
        self._tail_seqs: list[int] = []
        self._tail_after: int | None = None
        self._generation = 0  # commits that stored events, seen by this process
        self._tail_generation = -1
        self._tail_read_at = 0.0
        self._tail_lock = asyncio.Lock()
        database.on_commit_of(EVENTS_STORED, self.notify)

    @classmethod
    def of(cls, runtime: ServiceRuntime) -> StreamHub:
        assert isinstance(runtime.settings, NotificationsSettings)
        return cls(runtime.database, runtime.settings)

    def notify(self) -> None:
        # Wakes every waiter at once; later waiters wait on a fresh event.
        self._generation += 1
        self._stored.set()
        self._stored = asyncio.Event()

    def signal(self) -> asyncio.Event:
        """Set at the next commit that stores events: take it before reading the log, so that a
        commit between the read and the wait is not missed."""
        return self._stored

    async def wait(self, signal: asyncio.Event, at_most_s: float) -> None:
        """Until ``signal`` is set, or the poll interval (or ``at_most_s``) passes."""
        timeout = min(self.settings.stream_poll_interval_s, at_most_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(signal.wait(), timeout)

    async def read_after(self, position: int, limit: int) -> Sequence[StreamedEvent]:
        """The events stored after ``position``, in order, at most ``limit``."""
        await self._catch_up()
        if self._tail_after is not None and position >= self._tail_after:
            start = bisect.bisect_right(self._tail_seqs, position)
            return self._tail[start : start + limit]
        async with self.database.sessionmaker() as session:
            rows = await repository.after(session, position, limit)
        return [StreamedEvent.of(row) for row in rows]

    async def _catch_up(self) -> None:
        """Read what was stored since the tail's end: once per commit seen (the first stream to
        ask reads, the others find it done), or once per poll interval for other replicas'."""
        if self._fresh():
            return
        async with self._tail_lock:
            if self._fresh():
                return
            generation, read_at = self._generation, time.monotonic()
            async with self.database.sessionmaker() as session:
                if self._tail_after is None:
                    self._tail_after = await repository.last_seq(session)
                while True:
                    end = self._tail_seqs[-1] if self._tail_seqs else self._tail_after
                    rows = await repository.after(session, end, TAIL_READ_BATCH)
                    self._tail += [StreamedEvent.of(row) for row in rows]
                    self._tail_seqs += [row.seq for row in rows]
                    if len(rows) < TAIL_READ_BATCH:
                        break
            if len(self._tail) > TAIL_EVENTS:
                dropped = len(self._tail) - TAIL_EVENTS
                self._tail_after = self._tail_seqs[dropped - 1]
                del self._tail[:dropped], self._tail_seqs[:dropped]
            self._tail_generation, self._tail_read_at = generation, read_at

    def _fresh(self) -> bool:
        return (
            self._tail_generation == self._generation
            and time.monotonic() - self._tail_read_at < self.settings.stream_poll_interval_s
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._prune_forever(), name="event-log-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def prune(self) -> int:
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.stream_retention_s)
        async with self.database.transaction() as session:
            return await repository.forget_before(session, cutoff)

    async def _prune_forever(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                logger.exception("event log retention failed")
            await asyncio.sleep(PRUNE_INTERVAL_S)
