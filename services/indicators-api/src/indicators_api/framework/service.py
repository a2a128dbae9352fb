"""The results framework: indicators under the plan's priority goals, and the snapshots of it
taken when a plan version is endorsed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import (
    Page,
    cursor_datetime,
    cursor_text,
    cursor_uuid,
    page_of,
    read_cursor,
)
from indicators_api.event_metrics.service import EventMetricService
from indicators_api.framework.models import Indicator, Source
from indicators_api.framework.repository import IndicatorRepository, SnapshotRepository
from indicators_api.framework.schemas import (
    FrameworkGoal,
    FrameworkOut,
    GoalOut,
    IndicatorCreate,
    IndicatorFilters,
    IndicatorOut,
    PlanEndorsed,
    SnapshotOut,
)

# Until a plan is endorsed, goals 1..6 (the six priority goals) are accepted, untitled.
DEFAULT_GOALS = tuple(range(1, 7))


class IndicatorNotFound(NotFound):
    code = "indicator_not_found"


class IndicatorExists(Conflict):
    code = "indicator_exists"


class UnknownGoal(InvalidInput):
    code = "unknown_goal"


class FrameworkService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.indicators = IndicatorRepository(session)
        self.snapshots = SnapshotRepository(session)

    async def goals(self) -> list[GoalOut]:
        latest = await self.snapshots.latest()
        if latest is None:
            return [GoalOut(number=n) for n in DEFAULT_GOALS]
        return [GoalOut.model_validate(goal) for goal in latest.goals]

    async def check_goals(self, goals: Sequence[tuple[list[str | int], int]]) -> None:
        """Refuse goals (given with their location in the request) the plan does not have."""
        known = {goal.number for goal in await self.goals()}
        errors = [
            FieldError(loc=loc, code=UnknownGoal.code, message=f"{goal} is not a plan goal")
            for loc, goal in goals
            if goal not in known
        ]
        if errors:
            raise UnknownGoal(
                f"Goals must be among the endorsed plan's: {sorted(known)}.", errors=errors
            )

    async def create(self, data: IndicatorCreate) -> Indicator:
        await self.check_goals([(["body", "goal"], data.goal)])
        values = data.model_dump(exclude={"baseline", "targets"})
        indicator = Indicator(
            **values,
            baseline_year=data.baseline.year if data.baseline else None,
            baseline_value=data.baseline.value if data.baseline else None,
            targets=[target.model_dump() for target in data.targets],
        )
        if not await self.indicators.insert(indicator):
            raise IndicatorExists(f"An indicator with code {data.code} exists.")
        if indicator.source is not Source.REPORTED:
            await EventMetricService(self.session, self.outbox).feed(indicator)
        return indicator

    async def get(self, code: str) -> Indicator:
        indicator = await self.indicators.get(code)
        if indicator is None:
            raise IndicatorNotFound(f"No indicator with code {code}.")
        return indicator

    async def list(
        self, filters: IndicatorFilters, limit: int, cursor: str | None
    ) -> Page[IndicatorOut]:
        after = read_cursor(cursor, cursor_text)
        rows = await self.indicators.list(filters, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda i: (i.code,), IndicatorOut.model_validate)

    async def framework(self) -> FrameworkOut:
        latest = await self.snapshots.latest()
        goals = await self.goals()
        indicators = await self.indicators.list(IndicatorFilters())
        return FrameworkOut(
            plan_id=latest.plan_id if latest else None,
            version=latest.version if latest else None,
            endorsed_at=latest.endorsed_at if latest else None,
            goals=[
                FrameworkGoal(
                    number=goal.number,
                    title=goal.title,
                    indicators=[
                        IndicatorOut.model_validate(i) for i in indicators if i.goal == goal.number
                    ],
                )
                for goal in goals
            ],
        )

    async def list_snapshots(self, limit: int, cursor: str | None) -> Page[SnapshotOut]:
        before = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.snapshots.list(limit=limit + 1, before=before)
        return page_of(
            rows,
            limit,
            lambda s: (s.endorsed_at.isoformat(), str(s.id)),
            SnapshotOut.model_validate,
        )

    async def endorse(self, plan: PlanEndorsed, endorsed_at: datetime) -> None:
        """Adopt the endorsed plan's goals and keep the framework as it stood (once per plan
        version, however often the event is delivered)."""
        indicators = await self.indicators.list(IndicatorFilters())
        await self.snapshots.insert(
            {
                "plan_id": plan.plan_id,
                "version": plan.version,
                "title": plan.title,
                "meeting_id": plan.meeting_id,
                "endorsed_at": endorsed_at,
                "goals": [goal.model_dump() for goal in plan.goals],
                "indicators": [
                    IndicatorOut.model_validate(i).model_dump(mode="json") for i in indicators
                ],
            }
        )
