"""Meeting lifecycle: planned -> held | cancelled. Every transition is guarded, so a request or
an event repeated changes nothing it should not."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, decode_cursor, encode_cursor
from meetings_api.meetings import events
from meetings_api.meetings.models import Meeting, MeetingStatus
from meetings_api.meetings.repository import MeetingRepository
from meetings_api.meetings.schemas import MeetingCreate, MeetingFilters, MeetingOut


class MeetingNotFound(NotFound):
    code = "meeting_not_found"


class MeetingStateConflict(Conflict):
    code = "meeting_state_conflict"


def meeting_event_data(meeting: Meeting) -> dict[str, Any]:
    return {
        "meeting_id": str(meeting.id),
        "title": meeting.title,
        "kind": meeting.kind.value,
        "status": meeting.status.value,
        "starts_on": meeting.starts_on.isoformat(),
        "ends_on": meeting.ends_on.isoformat(),
        "city": meeting.city,
        "country": meeting.country,
        "working_group": meeting.working_group,
        "activity_id": str(meeting.activity_id) if meeting.activity_id else None,
        "revision": meeting.revision,
    }


class MeetingService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.meetings = MeetingRepository(session)
        self.outbox = outbox

    async def schedule(self, data: MeetingCreate) -> Meeting:
        meeting = Meeting(**data.model_dump(), status=MeetingStatus.PLANNED, revision=0)
        self.meetings.add(meeting)
        await self.session.flush()
        await self.outbox.emit(
            self.session, events.MEETING_SCHEDULED, meeting.id, meeting_event_data(meeting)
        )
        return meeting

    async def get(self, meeting_id: uuid.UUID) -> Meeting:
        meeting = await self.meetings.get(meeting_id)
        if meeting is None:
            raise MeetingNotFound(f"No meeting with id {meeting_id}.")
        return meeting

    async def list(
        self, filters: MeetingFilters, limit: int, cursor: str | None
    ) -> Page[MeetingOut]:
        after = None
        if cursor:
            starts_on, meeting_id = decode_cursor(cursor, 2)
            after = (date.fromisoformat(starts_on), uuid.UUID(meeting_id))
        rows = await self.meetings.list(filters, limit=limit + 1, after=after)
        items = [MeetingOut.model_validate(m) for m in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last.starts_on.isoformat(), str(last.id))
        return Page[MeetingOut](items=items, next_cursor=next_cursor)

    async def hold(self, meeting_id: uuid.UUID) -> Meeting:
        meeting = await self._locked(meeting_id)
        if meeting.status is not MeetingStatus.PLANNED:
            raise MeetingStateConflict(
                f"The meeting is {meeting.status.value}; only a planned meeting can be held."
            )
        meeting.status = MeetingStatus.HELD
        meeting.revision += 1
        await self.session.flush()
        await self.outbox.emit(
            self.session, events.MEETING_HELD, meeting.id, meeting_event_data(meeting)
        )
        return meeting

    async def cancel(self, meeting_id: uuid.UUID) -> Meeting:
        meeting = await self._locked(meeting_id)
        if meeting.status is not MeetingStatus.PLANNED:
            raise MeetingStateConflict(
                f"The meeting is {meeting.status.value}; only a planned meeting can be cancelled."
            )
        meeting.status = MeetingStatus.CANCELLED
        meeting.revision += 1
        await self.session.flush()
        await self.outbox.emit(
            self.session, events.MEETING_CANCELLED, meeting.id, meeting_event_data(meeting)
        )
        return meeting

    async def _locked(self, meeting_id: uuid.UUID) -> Meeting:
        meeting = await self.meetings.get(meeting_id, for_update=True)
        if meeting is None:
            raise MeetingNotFound(f"No meeting with id {meeting_id}.")
        return meeting
