from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from bp_common.errors import NotFound
from bp_common.pagination import seek
from bp_common.repository import Repository
from plan_api.plans.models import ActionPoint, Goal, Plan


class PlanNotFound(NotFound):
    code = "plan_not_found"


class PlanRepository(Repository[Plan]):
    model = Plan
    not_found = PlanNotFound
    noun = "plan"

    def add_all(self, *rows: Plan | Goal | ActionPoint) -> None:
        """A plan's goals and action points are written through the plan's repository too."""
        self.session.add_all(rows)

    async def page(self, *, limit: int, after: Sequence[Any] | None = None) -> list[Plan]:
        statement = seek(select(Plan), [Plan.period_start, Plan.id], after).limit(limit)
        return list((await self.session.scalars(statement)).all())

    async def goals(self, plan_ids: Sequence[uuid.UUID]) -> list[Goal]:
        statement = (
            select(Goal).where(Goal.plan_id.in_(plan_ids)).order_by(Goal.plan_id, Goal.number)
        )
        return list((await self.session.scalars(statement)).all())

    async def goal(
        self, plan_id: uuid.UUID, number: int, *, for_update: bool = False
    ) -> Goal | None:
        statement = select(Goal).where(Goal.plan_id == plan_id, Goal.number == number)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def action_points(self, plan_ids: Sequence[uuid.UUID]) -> list[ActionPoint]:
        statement = (
            select(ActionPoint)
            .where(ActionPoint.plan_id.in_(plan_ids))
            .order_by(ActionPoint.plan_id, ActionPoint.position, ActionPoint.id)
        )
        return list((await self.session.scalars(statement)).all())

    async def action_point(
        self, plan_id: uuid.UUID, point_id: uuid.UUID, *, for_update: bool = False
    ) -> ActionPoint | None:
        statement = select(ActionPoint).where(
            ActionPoint.plan_id == plan_id, ActionPoint.id == point_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def next_position(self, plan_id: uuid.UUID, goal: int | None) -> int:
        """One past the last point of the goal (or of the plan-level list)."""
        group = ActionPoint.goal.is_(None) if goal is None else ActionPoint.goal == goal
        statement = select(func.coalesce(func.max(ActionPoint.position), 0)).where(
            ActionPoint.plan_id == plan_id, group
        )
        return int((await self.session.execute(statement)).scalar_one()) + 1

    async def delete_action_point(self, point: ActionPoint) -> None:
        await self.session.delete(point)

    async def delete_goal(self, goal: Goal) -> None:
        await self.session.execute(
            delete(ActionPoint).where(
                ActionPoint.plan_id == goal.plan_id, ActionPoint.goal == goal.number
            )
        )
        await self.session.delete(goal)
