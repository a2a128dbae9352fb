"""The events that move the dashboard's figures, by type. Each handler runs in the inbox
transaction of this service's consumer group, so an event is applied once; meetings and
activities carry a revision, so news older than what is shown changes nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import Consumer, consumes
from bp_common.events.envelope import CloudEvent
from indicators_api.base import handler_outbox
from indicators_api.dashboard.schemas import (
    ActivityNews,
    MeetingNews,
    PlanCreated,
    PlanEndorsed,
    ResultsImported,
    ResultsWithdrawn,
    RollupUpdated,
    VersionCirculated,
)
from indicators_api.dashboard.service import DashboardService


def _service(session: AsyncSession) -> DashboardService:
    return DashboardService(session, handler_outbox)


async def on_meeting(session: AsyncSession, news: MeetingNews, event: CloudEvent) -> None:
    await _service(session).meeting_news(news, event.time)


async def on_activity(session: AsyncSession, news: ActivityNews, event: CloudEvent) -> None:
    await _service(session).activity_news(news, event.time)


async def on_plan_created(session: AsyncSession, news: PlanCreated, event: CloudEvent) -> None:
    await _service(session).plan_created(news, event.time)


async def on_version_circulated(
    session: AsyncSession, news: VersionCirculated, event: CloudEvent
) -> None:
    await _service(session).version_circulated(news, event.time)


async def on_plan_endorsed(session: AsyncSession, news: PlanEndorsed, event: CloudEvent) -> None:
    await _service(session).plan_endorsed(news, event.time)


async def on_results_imported(
    session: AsyncSession, news: ResultsImported, event: CloudEvent
) -> None:
    await _service(session).results_imported(news, event.time)


async def on_results_withdrawn(
    session: AsyncSession, news: ResultsWithdrawn, event: CloudEvent
) -> None:
    await _service(session).results_withdrawn(news, event.time)


async def on_rollup_updated(session: AsyncSession, news: RollupUpdated, event: CloudEvent) -> None:
    await _service(session).rollups_changed(news.indicator, event.time)


async def reset_read_models(session: AsyncSession) -> None:
    await _service(session).forget_all()


_MEETING = consumes(MeetingNews, on_meeting)
_ACTIVITY = consumes(ActivityNews, on_activity)
HANDLERS: dict[str, Consumer] = {
    **{
        f"meetings.meeting.{change}.v1": _MEETING
        for change in (
            "scheduled",
            "rescheduled",
            "updated",
            "held",
            "cancelled",
            # A held meeting's delegations corrected: its participants follow (by revision).
            "attendance_corrected",
        )
    },
    **{
        f"plan.activity.{change}.v1": _ACTIVITY
        for change in (
            "proposed",
            "hosted",
            "updated",
            "scheduled",
            "unscheduled",
            "held",
            "cancelled",
        )
    },
    "plan.plan.created.v1": consumes(PlanCreated, on_plan_created),
    "plan.version.circulated.v1": consumes(VersionCirculated, on_version_circulated),
    "plan.endorsed.v1": consumes(PlanEndorsed, on_plan_endorsed),
    "indicators.results.imported.v1": consumes(ResultsImported, on_results_imported),
    "indicators.results.withdrawn.v1": consumes(ResultsWithdrawn, on_results_withdrawn),
    "indicators.rollup.updated.v1": consumes(RollupUpdated, on_rollup_updated),
}
