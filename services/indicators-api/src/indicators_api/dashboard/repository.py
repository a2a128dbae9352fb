from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from indicators_api.dashboard.models import (
    Counter,
    DashboardActivity,
    DashboardCount,
    DashboardFreshness,
    DashboardIndicator,
    DashboardMeeting,
    DashboardPlan,
    IndicatorStanding,
)

READ_MODEL = (
    DashboardCount,
    DashboardMeeting,
    DashboardActivity,
    DashboardPlan,
    DashboardIndicator,
    DashboardFreshness,
)


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- counters ---------------------------------------------------------------------------

    async def add(self, counter: Counter, deltas: Mapping[str, float], scope: str = "") -> None:
        """Move each key's figure by its delta (one statement for all of them)."""
        rows = [
            {"counter": counter, "scope": scope, "key": key, "value": delta}
            for key, delta in deltas.items()
            if delta
        ]
        if not rows:
            return
        insert_ = dialect_insert(self.session, DashboardCount.__table__)
        await self.session.execute(
            insert_.values(rows).on_conflict_do_update(
                index_elements=["counter", "scope", "key"],
                set_={"value": DashboardCount.__table__.c.value + insert_.excluded.value},
            )
        )

    async def figures(self, counter: Counter, scope: str = "") -> dict[str, float]:
        """The non-zero figures of one counter, by key."""
        statement = select(DashboardCount.key, DashboardCount.value).where(
            DashboardCount.counter == counter,
            DashboardCount.scope == scope,
            DashboardCount.value != 0,
        )
        return dict((await self.session.execute(statement)).all())

    async def result_totals(self) -> tuple[int, int]:
        """Results stored, and how many organisations reported them."""
        by_organisation = await self.figures(Counter.RESULTS_BY_ORGANISATION)
        reporting = sum(1 for count in by_organisation.values() if count > 0)
        return int(sum(by_organisation.values())), reporting

    # -- records, each as its latest news has it --------------------------------------------

    async def meeting(self, meeting_id: str) -> DashboardMeeting | None:
        return await self.session.get(DashboardMeeting, meeting_id, with_for_update=True)

    async def activity(self, activity_id: str) -> DashboardActivity | None:
        return await self.session.get(DashboardActivity, activity_id, with_for_update=True)

    async def plan(self, plan_id: uuid.UUID) -> DashboardPlan | None:
        return await self.session.get(DashboardPlan, plan_id, with_for_update=True)

    def keep(self, record: DashboardMeeting | DashboardActivity | DashboardPlan) -> None:
        self.session.add(record)

    async def next_planned_meeting(self, today: date) -> DashboardMeeting | None:
        statement = (
            select(DashboardMeeting)
            .where(DashboardMeeting.status == "planned", DashboardMeeting.starts_on >= today)
            .order_by(DashboardMeeting.starts_on, DashboardMeeting.meeting_id)
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def latest_plan(self) -> DashboardPlan | None:
        statement = (
            select(DashboardPlan)
            .order_by(DashboardPlan.period_start.desc(), DashboardPlan.created_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    # -- indicators --------------------------------------------------------------------------

    async def set_standing(self, indicator: str, standing: IndicatorStanding | None) -> None:
        if standing is None:
            await self.session.execute(
                delete(DashboardIndicator).where(DashboardIndicator.indicator == indicator)
            )
            return
        insert_ = dialect_insert(self.session, DashboardIndicator.__table__)
        await self.session.execute(
            insert_.values(indicator=indicator, standing=standing).on_conflict_do_update(
                index_elements=["indicator"], set_={"standing": insert_.excluded.standing}
            )
        )

    async def standings(self) -> dict[IndicatorStanding, int]:
        statement = select(DashboardIndicator.standing, func.count()).group_by(
            DashboardIndicator.standing
        )
        return dict((await self.session.execute(statement)).all())

    # -- freshness ----------------------------------------------------------------------------

    async def seen(self, time: datetime) -> None:
        """Remember the latest event time applied (an older event, heard late, leaves it)."""
        freshness = await self.session.get(DashboardFreshness, 1, with_for_update=True)
        if freshness is None:
            self.session.add(DashboardFreshness(id=1, as_of=time))
        elif freshness.as_of < time:
            freshness.as_of = time

    async def as_of(self) -> datetime | None:
        return await self.session.scalar(select(DashboardFreshness.as_of))

    async def forget_all(self) -> None:
        for model in READ_MODEL:
            await self.session.execute(delete(model))
