"""A meeting that carries out an activity (``activity_id`` in meetings-api's meeting events)
schedules it with the meeting's dates, then marks it held; cancelled, or turned to another
activity, it un-schedules it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Self

from pydantic import Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import EventReader
from bp_common.events.envelope import CloudEvent
from plan_api.activities.service import ActivityService, MeetingNews
from plan_api.base import handler_outbox


class MeetingPayload(EventReader):
    """The fields of meetings-api's meeting that plan-api reads; a meeting that carries out no
    activity concerns it not. ``scheduled`` and ``rescheduled`` schedule the activity with the
    meeting's dates (``plan.activity.scheduled.v1``), ``held`` marks it held
    (``plan.activity.held.v1``), ``cancelled`` un-schedules it: back to hosted, host_offered or
    proposed, without dates, keeping the meeting's year and quarter
    (``plan.activity.unscheduled.v1``). Only the meeting the activity follows (the one that last
    scheduled it) does this; a held or cancelled activity does not change; a meeting's news at a
    revision already applied changes nothing."""

    meeting_id: uuid.UUID
    activity_id: uuid.UUID
    starts_on: date
    ends_on: date
    revision: int = Field(default=0, ge=0, lt=2**31)

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        return data.get("activity_id") is not None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self

    def news(self) -> MeetingNews:
        return MeetingNews(self.meeting_id, self.revision, self.starts_on, self.ends_on)


class MeetingChange(EventReader):
    """A meeting's update: ``activity_id`` may be gone, ``changed`` names what changed. Only a
    change of ``activity_id`` concerns plan-api (the dates change by ``rescheduled``): the
    activity the meeting scheduled is un-scheduled, the one it now names (if any) scheduled."""

    meeting_id: uuid.UUID
    activity_id: uuid.UUID | None = None
    starts_on: date
    ends_on: date
    revision: int = Field(default=0, ge=0, lt=2**31)
    changed: list[str] = Field(default_factory=list)

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        changed = data.get("changed")
        return isinstance(changed, list) and "activity_id" in changed


async def on_meeting_scheduled(
    session: AsyncSession, meeting: MeetingPayload, event: CloudEvent
) -> None:
    """``meetings.meeting.scheduled.v1`` and ``.rescheduled.v1``."""
    await ActivityService(session, handler_outbox).schedule_for_meeting(
        meeting.activity_id, meeting.news()
    )


async def on_meeting_held(
    session: AsyncSession, meeting: MeetingPayload, event: CloudEvent
) -> None:
    await ActivityService(session, handler_outbox).hold_for_meeting(
        meeting.activity_id, meeting.news()
    )


async def on_meeting_cancelled(
    session: AsyncSession, meeting: MeetingPayload, event: CloudEvent
) -> None:
    await ActivityService(session, handler_outbox).unschedule_for_meeting(
        meeting.activity_id, meeting.news()
    )


async def on_meeting_updated(
    session: AsyncSession, meeting: MeetingChange, event: CloudEvent
) -> None:
    """The activity the meeting leaves is un-scheduled, the one it takes is scheduled."""
    news = MeetingNews(meeting.meeting_id, meeting.revision, meeting.starts_on, meeting.ends_on)
    service = ActivityService(session, handler_outbox)
    await service.release_meeting(news, keep=meeting.activity_id)
    if meeting.activity_id is not None:
        await service.schedule_for_meeting(meeting.activity_id, news)
