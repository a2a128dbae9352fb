"""A meeting that carries out an activity (``activity_id`` in meetings-api's meeting events)
schedules it with the meeting's dates, then marks it held; cancelled, or turned to another
activity, it un-schedules it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent
from plan_api.activities.service import ActivityService, MeetingNews
from plan_api.base import handler_outbox


class MeetingPayload(BaseModel):
    """The fields of meetings-api's meeting (docs/events.md) that plan-api reads."""

    model_config = ConfigDict(extra="ignore")

    meeting_id: uuid.UUID
    activity_id: uuid.UUID
    starts_on: date
    ends_on: date
    revision: int = Field(default=0, ge=0, lt=2**31)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class MeetingChange(BaseModel):
    """A meeting's update: ``activity_id`` may be gone, ``changed`` names what changed."""

    model_config = ConfigDict(extra="ignore")

    meeting_id: uuid.UUID
    activity_id: uuid.UUID | None = None
    starts_on: date
    ends_on: date
    revision: int = Field(default=0, ge=0, lt=2**31)
    changed: list[str] = Field(default_factory=list)


def _meeting(event: CloudEvent) -> tuple[uuid.UUID, MeetingNews] | None:
    """The activity and the news, or None for a meeting that carries out no activity. A payload
    that names an activity but is malformed raises (retried, then dead-lettered)."""
    if event.data.get("activity_id") is None:
        return None
    meeting = MeetingPayload.model_validate(event.data)
    news = MeetingNews(meeting.meeting_id, meeting.revision, meeting.starts_on, meeting.ends_on)
    return meeting.activity_id, news


async def on_meeting_scheduled(session: AsyncSession, event: CloudEvent) -> None:
    """``meetings.meeting.scheduled.v1`` and ``.rescheduled.v1``."""
    found = _meeting(event)
    if found is not None:
        await ActivityService(session, handler_outbox).schedule_for_meeting(*found)


async def on_meeting_held(session: AsyncSession, event: CloudEvent) -> None:
    found = _meeting(event)
    if found is not None:
        await ActivityService(session, handler_outbox).hold_for_meeting(*found)


async def on_meeting_cancelled(session: AsyncSession, event: CloudEvent) -> None:
    found = _meeting(event)
    if found is not None:
        await ActivityService(session, handler_outbox).unschedule_for_meeting(*found)


async def on_meeting_updated(session: AsyncSession, event: CloudEvent) -> None:
    """Only a change of ``activity_id`` matters here (the dates change by ``rescheduled``): the
    activity the meeting leaves is un-scheduled, the one it takes is scheduled."""
    if "activity_id" not in event.data.get("changed", []):
        return
    meeting = MeetingChange.model_validate(event.data)
    news = MeetingNews(meeting.meeting_id, meeting.revision, meeting.starts_on, meeting.ends_on)
    service = ActivityService(session, handler_outbox)
    await service.release_meeting(news, keep=meeting.activity_id)
    if meeting.activity_id is not None:
        await service.schedule_for_meeting(meeting.activity_id, news)
