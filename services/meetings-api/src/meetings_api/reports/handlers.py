"""Consumer of indicators-api's snapshot of the results presented at a meeting: kept with the
meeting, once (a redelivery or a replay finds it and leaves it)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import Consumer, consumes
from bp_common.events.envelope import CloudEvent
from meetings_api.reports.schemas import SnapshotTaken
from meetings_api.reports.service import ReportService


async def on_snapshot_taken(
    session: AsyncSession, snapshot: SnapshotTaken, event: CloudEvent
) -> None:
    await ReportService(session).keep_snapshot(snapshot)


# indicators-api's event by its type string; the contract tests check the reader against its
# published schema.
HANDLERS: dict[str, Consumer] = {
    "indicators.rollup.snapshot_taken.v1": consumes(SnapshotTaken, on_snapshot_taken)
}
