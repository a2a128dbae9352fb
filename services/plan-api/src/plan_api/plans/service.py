"""Plans and their priority goals. Goals and action points change afterwards only through accepted
amendments (amendments context), so every change to the text is traceable to a proposer."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_int, cursor_uuid, page_of, read_cursor
from plan_api.plans.events import PlanCreatedV1
from plan_api.plans.models import ActionPoint, Goal, Plan
from plan_api.plans.repository import PlanRepository
from plan_api.plans.schemas import (
    ActionPointOut,
    EndorsementOut,
    GoalOut,
    PlanCreate,
    PlanOut,
    VersionRef,
)
from plan_api.versions.events import GoalV1
from plan_api.versions.models import VersionStatus
from plan_api.versions.repository import VersionRepository


class PlanNotFound(NotFound):
    code = "plan_not_found"


async def find_plan(plans: PlanRepository, plan_id: uuid.UUID, *, for_update: bool = False) -> Plan:
    plan = await plans.get(plan_id, for_update=for_update)
    if plan is None:
        raise PlanNotFound(f"No plan with id {plan_id}.")
    return plan


class PlanService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.plans = PlanRepository(session)
        self.versions = VersionRepository(session)

    async def create(self, data: PlanCreate) -> PlanOut:
        plan = Plan(title=data.title, period_start=data.period_start, period_end=data.period_end)
        self.plans.add(plan)
        await self.session.flush()
        for goal in data.goals:
            self.plans.add(Goal(plan_id=plan.id, number=goal.number, title=goal.title))
        await self.session.flush()
        for goal in data.goals:
            self.plans.add(
                *(
                    ActionPoint(plan_id=plan.id, goal=goal.number, text=text, position=position)
                    for position, text in enumerate(goal.action_points, start=1)
                )
            )
        await self.session.flush()
        await self.outbox.emit(
            self.session,
            PlanCreatedV1(
                plan_id=plan.id,
                title=plan.title,
                period_start=plan.period_start,
                period_end=plan.period_end,
                goals=[GoalV1(number=goal.number, title=goal.title) for goal in data.goals],
            ),
        )
        return (await self._views([plan]))[0]

    async def get(self, plan_id: uuid.UUID) -> PlanOut:
        return (await self._views([await find_plan(self.plans, plan_id)]))[0]

    async def page(self, limit: int, cursor: str | None) -> Page[PlanOut]:
        after = read_cursor(cursor, cursor_int, cursor_uuid)
        rows = await self.plans.page(limit=limit + 1, after=after)
        views = {view.id: view for view in await self._views(rows[:limit])}
        return page_of(rows, limit, lambda p: (p.period_start, str(p.id)), lambda p: views[p.id])

    async def _views(self, plans: list[Plan]) -> list[PlanOut]:
        """The plans with goals, points and version state, in three queries for the whole page."""
        ids = [plan.id for plan in plans]
        goals: dict[uuid.UUID, list[Goal]] = defaultdict(list)
        for goal in await self.plans.goals(ids):
            goals[goal.plan_id].append(goal)
        points: dict[tuple[uuid.UUID, int | None], list[ActionPointOut]] = defaultdict(list)
        for point in await self.plans.action_points(ids):
            points[point.plan_id, point.goal].append(ActionPointOut.model_validate(point))
        current: dict[uuid.UUID, VersionRef] = {}
        endorsed: dict[uuid.UUID, EndorsementOut] = {}
        for header in sorted(await self.versions.headers(ids), key=lambda h: h.number):
            current[header.plan_id] = VersionRef(number=header.number, status=header.status)
            if header.status is VersionStatus.ENDORSED and header.endorsed_at is not None:
                endorsed[header.plan_id] = EndorsementOut(
                    version=header.number,
                    meeting_id=header.endorsed_by_meeting_id,
                    endorsed_at=header.endorsed_at,
                )
        return [
            PlanOut(
                id=plan.id,
                title=plan.title,
                period_start=plan.period_start,
                period_end=plan.period_end,
                goals=[
                    GoalOut(
                        number=goal.number,
                        title=goal.title,
                        action_points=points[plan.id, goal.number],
                    )
                    for goal in goals[plan.id]
                ],
                action_points=points[plan.id, None],
                current_version=current.get(plan.id),
                endorsement=endorsed.get(plan.id),
                created_at=plan.created_at,
                updated_at=plan.updated_at,
            )
            for plan in plans
        ]
