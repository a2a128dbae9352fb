"""Consumer of meetings-api's ``held``: the results as presented at the meeting are frozen."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import Consumer, consumes
from bp_common.events.envelope import CloudEvent
from indicators_api.base import handler_outbox
from indicators_api.rollups.schemas import HeldMeeting
from indicators_api.rollups.service import RollupService


async def on_meeting_held(session: AsyncSession, meeting: HeldMeeting, event: CloudEvent) -> None:
    await RollupService(session, handler_outbox).freeze_for_meeting(meeting.meeting_id, event.time)


# meetings-api's event by its type string; the contract tests check the reader against its schema.
HANDLERS: dict[str, Consumer] = {"meetings.meeting.held.v1": consumes(HeldMeeting, on_meeting_held)}
