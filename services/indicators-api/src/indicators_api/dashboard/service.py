"""The dashboard's figures, moved by each event by the difference it makes: a record's old
contribution comes off, its new one goes on, so a figure is always the sum over the records as
their latest news has them, and reading the summary is a handful of small queries."""

from __future__ import annotations

import logging
import uuid
from collections import Counter as Tally
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from indicators_api.dashboard.models import (
    Counter,
    DashboardActivity,
    DashboardMeeting,
    DashboardPlan,
    IndicatorStanding,
)
from indicators_api.dashboard.repository import DashboardRepository
from indicators_api.dashboard.schemas import (
    ActivityNews,
    DashboardSummary,
    MeetingNews,
    MeetingsSummary,
    NextMeeting,
    PlanCreated,
    PlanEndorsed,
    PlanSummary,
    ResultsImported,
    ResultsSummary,
    ResultsWithdrawn,
    VersionCirculated,
)
from indicators_api.framework.repository import IndicatorRepository
from indicators_api.rollups.schemas import RollupFilters
from indicators_api.rollups.service import RollupService

logger = logging.getLogger(__name__)

HELD, PLANNED, CANCELLED, ENDORSED = "held", "planned", "cancelled", "endorsed"


def _participants(meeting: DashboardMeeting | MeetingNews) -> int:
    if meeting.status != HELD:
        return 0
    if isinstance(meeting, DashboardMeeting):
        return meeting.participants
    return meeting.attendance.participants if meeting.attendance else 0


def _hosts(activity: DashboardActivity | ActivityNews) -> list[str]:
    """A cancelled activity is hosted nowhere any more."""
    return [] if activity.status == CANCELLED else sorted(set(activity.host_countries))


class DashboardService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.dashboard = DashboardRepository(session)

    # -- writers (event handlers, in the inbox transaction) ----------------------------------

    async def meeting_news(self, news: MeetingNews, time: datetime) -> None:
        await self.dashboard.seen(time)
        row = await self.dashboard.meeting(news.meeting_id)
        if row is not None and row.revision >= news.revision:
            return  # older than what is shown
        by_status: Tally[str] = Tally({news.status: 1})
        participants = _participants(news)
        if row is None:
            row = DashboardMeeting(meeting_id=news.meeting_id)
            self.dashboard.keep(row)
        else:
            by_status[row.status] -= 1
            participants -= _participants(row)
        row.revision, row.status, row.title = news.revision, news.status, news.title
        row.starts_on, row.city, row.country = news.starts_on, news.city, news.country
        row.participants = _participants(news)
        await self.dashboard.add(Counter.MEETINGS_BY_STATUS, by_status)
        await self.dashboard.add(Counter.PARTICIPANTS_OF_HELD_MEETINGS, {"": participants})

    async def activity_news(self, news: ActivityNews, time: datetime) -> None:
        await self.dashboard.seen(time)
        row = await self.dashboard.activity(news.activity_id)
        if row is not None and row.revision >= news.revision:
            return
        plan = str(news.plan_id)
        by_status: Tally[str] = Tally({news.status: 1})
        by_host: Tally[str] = Tally(_hosts(news))
        if row is None:
            row = DashboardActivity(activity_id=news.activity_id, plan_id=plan)
            self.dashboard.keep(row)
        else:
            by_status[row.status] -= 1
            by_host.subtract(_hosts(row))
        row.revision, row.status = news.revision, news.status
        row.host_countries = sorted(set(news.host_countries))
        await self.dashboard.add(Counter.ACTIVITIES_BY_STATUS, by_status, scope=plan)
        await self.dashboard.add(Counter.ACTIVITIES_BY_HOST, by_host, scope=plan)

    async def plan_created(self, news: PlanCreated, time: datetime) -> None:
        await self.dashboard.seen(time)
        plan = await self._plan(news.plan_id, news.title, news.period_start, news.period_end)
        plan.created_at = time

    async def version_circulated(self, news: VersionCirculated, time: datetime) -> None:
        await self.dashboard.seen(time)
        plan = await self.dashboard.plan(news.plan_id)
        if plan is None:
            # A plan created before plan-api announced plans: it shows once endorsed.
            logger.info("version %s of unknown plan %s not shown", news.version, news.plan_id)
            return
        if plan.current_version is None or news.version >= plan.current_version:
            plan.current_version, plan.version_status = news.version, news.status

    async def plan_endorsed(self, news: PlanEndorsed, time: datetime) -> None:
        await self.dashboard.seen(time)
        plan = await self._plan(news.plan_id, news.title, news.period_start, news.period_end)
        plan.endorsed_version = max(plan.endorsed_version or 0, news.version)
        if plan.current_version is None or news.version >= plan.current_version:
            plan.current_version, plan.version_status = news.version, ENDORSED

    async def _plan(
        self, plan_id: uuid.UUID, title: str, period_start: int, period_end: int
    ) -> DashboardPlan:
        plan = await self.dashboard.plan(plan_id)
        if plan is None:
            plan = DashboardPlan(plan_id=plan_id, created_at=utcnow())
            self.dashboard.keep(plan)
        plan.title, plan.period_start, plan.period_end = title, period_start, period_end
        return plan

    async def results_imported(self, news: ResultsImported, time: datetime) -> None:
        await self.dashboard.seen(time)
        await self.dashboard.add(Counter.RESULTS_BY_ORGANISATION, {news.organisation: news.created})

    async def results_withdrawn(self, news: ResultsWithdrawn, time: datetime) -> None:
        """A result pushed again after its withdrawal is counted `created` by its import, so
        the count stays the number of standing results."""
        await self.dashboard.seen(time)
        await self.dashboard.add(
            Counter.RESULTS_BY_ORGANISATION, {news.organisation: -news.withdrawn}
        )

    async def rollups_changed(self, indicator: str, time: datetime) -> None:
        """The indicator's standing: its latest year with a target and data, reached or not."""
        await self.dashboard.seen(time)
        rows = await RollupService(self.session, self.outbox).rows(
            RollupFilters(indicator=indicator), by=["year"]
        )
        measured = [row for row in rows if row.progress is not None]
        standing = None
        if measured:
            latest = max(measured, key=lambda row: row.year or 0)
            reached = latest.progress is not None and latest.progress >= 1
            standing = IndicatorStanding.ON_TRACK if reached else IndicatorStanding.OFF_TRACK
        await self.dashboard.set_standing(indicator, standing)

    async def forget_all(self) -> None:
        await self.dashboard.forget_all()

    # -- reader --------------------------------------------------------------------------------

    async def summary(self, today: date) -> DashboardSummary:
        return DashboardSummary(
            generated_at=utcnow(),
            as_of=await self.dashboard.as_of(),
            meetings=await self._meetings(today),
            plan=await self._latest_plan(),
            results=await self._results(),
            unavailable=[],
        )

    async def _meetings(self, today: date) -> MeetingsSummary:
        by_status = await self.dashboard.figures(Counter.MEETINGS_BY_STATUS)
        participants = await self.dashboard.figures(Counter.PARTICIPANTS_OF_HELD_MEETINGS)
        upcoming = await self.dashboard.next_planned_meeting(today)
        return MeetingsSummary(
            held=int(by_status.get(HELD, 0)),
            planned=int(by_status.get(PLANNED, 0)),
            cancelled=int(by_status.get(CANCELLED, 0)),
            participants=int(participants.get("", 0)),
            next_meeting=None
            if upcoming is None
            else NextMeeting(
                id=upcoming.meeting_id,
                title=upcoming.title,
                starts_on=upcoming.starts_on,
                city=upcoming.city,
                country=upcoming.country,
            ),
        )

    async def _latest_plan(self) -> PlanSummary | None:
        plan = await self.dashboard.latest_plan()
        if plan is None:
            return None
        scope = str(plan.plan_id)
        by_status = await self.dashboard.figures(Counter.ACTIVITIES_BY_STATUS, scope)
        by_host = await self.dashboard.figures(Counter.ACTIVITIES_BY_HOST, scope)
        return PlanSummary(
            plan_id=scope,
            title=plan.title,
            period=f"{plan.period_start}-{plan.period_end}",
            current_version=plan.current_version,
            version_status=plan.version_status,
            endorsed_version=plan.endorsed_version,
            activities_by_status={k: int(v) for k, v in sorted(by_status.items())},
            activities_by_host={k: int(v) for k, v in sorted(by_host.items())},
        )

    async def _results(self) -> ResultsSummary:
        results, organisations = await self.dashboard.result_totals()
        standings = await self.dashboard.standings()
        on_track = standings.get(IndicatorStanding.ON_TRACK, 0)
        off_track = standings.get(IndicatorStanding.OFF_TRACK, 0)
        indicators = await IndicatorRepository(self.session).count()
        return ResultsSummary(
            results=results,
            organisations=organisations,
            indicators_on_track=on_track,
            indicators_off_track=off_track,
            indicators_without_data=max(0, indicators - on_track - off_track),
        )
