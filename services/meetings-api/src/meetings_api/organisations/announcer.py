"""At start-up, the registry publishes the organisations it never published (those the
migrations seeded), so the services that keep a copy (indicators-api's IATI export) know them on
a fresh platform. Once per organisation: the mark is written with the outbox rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bp_common.app import ServiceRuntime
from bp_common.db import Database, is_connection_problem
from bp_common.events.outbox import Outbox
from meetings_api.organisations.service import OrganisationService

logger = logging.getLogger(__name__)
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


class Announcer:
    def __init__(self, database: Database, outbox: Outbox, *, publishing: bool = True) -> None:
        self.database = database
        self.outbox = outbox
        # An instance that keeps its events in the outbox (a rebuild) announces nothing either.
        self.publishing = publishing
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, runtime: ServiceRuntime) -> Announcer:
        return cls(runtime.database, runtime.outbox, publishing=runtime.settings.outbox_relay)

    def start(self) -> None:
        if self.publishing:
            self._task = asyncio.create_task(self._run(), name="organisation-announcer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait(self) -> None:
        """Until the start-up announcement is done (or given up)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def announce(self) -> list[str]:
        async with self.database.transaction() as session:
            return await OrganisationService(session, self.outbox).announce_unannounced()

    async def _run(self) -> None:
        """Once; while the database is unreachable, again after a backoff."""
        attempt = 0
        while True:
            try:
                announced = await self.announce()
            except Exception as exc:
                if not is_connection_problem(exc):
                    logger.exception("the registry's organisations could not be announced")
                    return
                await asyncio.sleep(RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)])
                attempt += 1
                continue
            if announced:
                logger.info("organisations announced: %s", ", ".join(announced))
            return
