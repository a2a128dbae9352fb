"""Consumers of other services' events that feed the dialogue-activity metrics and the
indicators built on them. Each runs in the inbox transaction, so a redelivered event is skipped;
facts are keyed by the meeting or activity, so the same fact under a new event id counts once.
An activity's facts follow its latest news by revision: moved with it, taken back on its
cancellation (see event_metrics.service)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import Consumer, consumes
from bp_common.events.envelope import CloudEvent
from indicators_api.base import handler_outbox
from indicators_api.event_metrics.models import EventMetric
from indicators_api.event_metrics.schemas import (
    Activity,
    ActivityCancelled,
    Fact,
    MeetingHeld,
)
from indicators_api.event_metrics.service import EventMetricService
from indicators_api.periods import month_period, year_or_quarter_period

CANCELLED = "cancelled"


def _meeting_facts(meeting: MeetingHeld) -> list[Fact]:
    period = month_period(meeting.starts_on)
    counts = {EventMetric.MEETINGS_HELD: 1}
    if meeting.attendance is not None:
        counts[EventMetric.PARTICIPANTS] = meeting.attendance.participants
        counts[EventMetric.COUNTRIES_REPRESENTED] = meeting.attendance.countries
    return [
        Fact(metric, meeting.meeting_id, meeting.country, period.year, period.text, period.key, v)
        for metric, v in counts.items()
    ]


async def on_meeting_held(session: AsyncSession, meeting: MeetingHeld, event: CloudEvent) -> None:
    """+1 meeting held for the host country and year; its participants and the countries
    represented, when the event carries the attendance (and no corrected attendance of a later
    revision was counted already)."""
    await EventMetricService(session, handler_outbox).count_meeting(
        meeting.meeting_id, meeting.revision, _meeting_facts(meeting)
    )


async def on_attendance_corrected(
    session: AsyncSession, meeting: MeetingHeld, event: CloudEvent
) -> None:
    """A held meeting's delegations were corrected: its participants and countries represented
    become those of this news, unless news of a later revision was applied."""
    await EventMetricService(session, handler_outbox).correct_meeting(
        meeting.meeting_id, meeting.revision, _meeting_facts(meeting)
    )


async def on_activity_news(session: AsyncSession, activity: Activity, event: CloudEvent) -> None:
    """1 activity hosted for each accepted host country, in the activity's year (quarter) as
    this news has it: counted when hosted, moved when the year or quarter change (an edit, a
    meeting scheduling or un-scheduling it), another host counted when accepted."""
    period = year_or_quarter_period(activity.year, activity.quarter)
    assert period is not None  # year and quarter are validated
    countries = [] if activity.status == CANCELLED else dict.fromkeys(activity.host_countries)
    facts = [
        Fact(
            EventMetric.ACTIVITIES_HOSTED,
            activity.activity_id,
            country,
            period.year,
            period.text,
            period.key,
            1,
        )
        for country in countries
    ]
    await EventMetricService(session, handler_outbox).apply_activity(
        activity.activity_id, activity.revision, facts
    )


async def on_activity_cancelled(
    session: AsyncSession, activity: ActivityCancelled, event: CloudEvent
) -> None:
    """The activity's hosts no longer count: -1 activity hosted for each, in the year counted."""
    await EventMetricService(session, handler_outbox).cancel_activity(
        activity.activity_id, activity.revision
    )


async def reset_read_models(session: AsyncSession) -> None:
    await EventMetricService(session, handler_outbox).forget_all()


# Other services' events by their type strings; the contract tests check each reader against
# the producer's published schema. plan-api's news carry the activity as it now stands, each
# one able to change whether, where or when it counts.
_ACTIVITY_NEWS = consumes(Activity, on_activity_news)
HANDLERS: dict[str, Consumer] = {
    "meetings.meeting.held.v1": consumes(MeetingHeld, on_meeting_held),
    "meetings.meeting.attendance_corrected.v1": consumes(MeetingHeld, on_attendance_corrected),
    "plan.activity.hosted.v1": _ACTIVITY_NEWS,
    "plan.activity.updated.v1": _ACTIVITY_NEWS,
    "plan.activity.scheduled.v1": _ACTIVITY_NEWS,
    "plan.activity.unscheduled.v1": _ACTIVITY_NEWS,
    "plan.activity.held.v1": _ACTIVITY_NEWS,
    "plan.activity.cancelled.v1": consumes(ActivityCancelled, on_activity_cancelled),
}
