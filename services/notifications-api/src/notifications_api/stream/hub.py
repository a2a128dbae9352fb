"""What the open streams wait on: a signal raised after each commit that stored events (a
poll is the fallback for events stored by another replica), and the log's retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from bp_common.app import ServiceRuntime
from bp_common.db import Database
from notifications_api.event_log import repository
from notifications_api.event_log.handlers import EVENTS_STORED
from notifications_api.settings import NotificationsSettings

logger = logging.getLogger(__name__)
# How often the retention is applied.
PRUNE_INTERVAL_S = 300.0


class StreamHub:
    def __init__(self, database: Database, settings: NotificationsSettings) -> None:
        self.database = database
        self.settings = settings
        self._stored = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        database.on_commit_of(EVENTS_STORED, self.notify)

    @classmethod
    def of(cls, runtime: ServiceRuntime) -> StreamHub:
        assert isinstance(runtime.settings, NotificationsSettings)
        return cls(runtime.database, runtime.settings)

    def notify(self) -> None:
        # Wakes every waiter at once; later waiters wait on a fresh event.
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
