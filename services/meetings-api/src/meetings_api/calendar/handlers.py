"""Consumers that build the calendar, each run in its inbox transaction. A payload that does
not match what the calendar reads raises, so the event is retried and then dead-lettered, never
half applied."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import Consumer, consumes
from bp_common.events.envelope import CloudEvent
from meetings_api.calendar.schemas import ActivitySnapshot, EndorsedPlan, MeetingSnapshot
from meetings_api.calendar.service import CalendarService
from meetings_api.meetings import events as meeting_events


async def on_activity_changed(
    session: AsyncSession, activity: ActivitySnapshot, event: CloudEvent
) -> None:
    await CalendarService(session).apply_activity(activity, event.time)


async def on_plan_endorsed(session: AsyncSession, plan: EndorsedPlan, event: CloudEvent) -> None:
    """The endorsed plan lists its activities: the calendar gets them even without their own
    events (their revisions keep newer states from being overwritten)."""
    service = CalendarService(session)
    for activity in plan.activities:
        await service.apply_activity(activity, event.time)


async def on_meeting_changed(
    session: AsyncSession, meeting: MeetingSnapshot, event: CloudEvent
) -> None:
    await CalendarService(session).apply_meeting(meeting, event.time)


async def reset_read_models(session: AsyncSession) -> None:
    await CalendarService(session).forget_all()


# plan-api's events by their type strings (this service never imports plan-api); the contract
# tests check each reader against plan-api's published schema.
_ACTIVITY = consumes(ActivitySnapshot, on_activity_changed)
_MEETING = consumes(MeetingSnapshot, on_meeting_changed)
HANDLERS: dict[str, Consumer] = {
    "plan.activity.proposed.v1": _ACTIVITY,
    "plan.activity.hosted.v1": _ACTIVITY,
    "plan.activity.scheduled.v1": _ACTIVITY,
    "plan.activity.unscheduled.v1": _ACTIVITY,
    "plan.activity.updated.v1": _ACTIVITY,
    "plan.activity.cancelled.v1": _ACTIVITY,
    "plan.activity.held.v1": _ACTIVITY,
    "plan.endorsed.v1": consumes(EndorsedPlan, on_plan_endorsed),
    # Every event carrying the whole meeting (not those of its delegations or agenda items).
    **{
        event.type: _MEETING
        for event in meeting_events.EVENTS
        if issubclass(event, meeting_events.MeetingV1)
    },
}
