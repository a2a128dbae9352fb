"""Consumers that build the calendar, each run in its inbox transaction. A payload that does
not match the catalogue raises, so the event is retried and then dead-lettered, never half
applied."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent
from bp_common.events.inbox import SessionHandler
from meetings_api.calendar import events
from meetings_api.calendar.schemas import ActivitySnapshot, MeetingSnapshot
from meetings_api.calendar.service import CalendarService


async def on_activity_changed(session: AsyncSession, event: CloudEvent) -> None:
    activity = ActivitySnapshot.model_validate(event.data)
    await CalendarService(session).apply_activity(activity, event.time)


async def on_plan_endorsed(session: AsyncSession, event: CloudEvent) -> None:
    """The endorsed plan lists its activities: the calendar gets them even without their own
    events (their revisions keep newer states from being overwritten)."""
    activities = [ActivitySnapshot.model_validate(raw) for raw in event.data.get("activities", [])]
    service = CalendarService(session)
    for activity in activities:
        await service.apply_activity(activity, event.time)


async def on_meeting_changed(session: AsyncSession, event: CloudEvent) -> None:
    meeting = MeetingSnapshot.model_validate(event.data)
    await CalendarService(session).apply_meeting(meeting, event.time)


async def reset_read_models(session: AsyncSession) -> None:
    await CalendarService(session).forget_all()


HANDLERS: dict[str, SessionHandler] = {
    **dict.fromkeys(events.ACTIVITY_EVENTS, on_activity_changed),
    events.PLAN_ENDORSED: on_plan_endorsed,
    **dict.fromkeys(events.MEETING_EVENTS, on_meeting_changed),
}
