"""Plans and their priority goals. Until a version of the plan is endorsed the Secretariat may
correct a goal's title or an action point's text directly (typos, wording); once one is endorsed,
goals and action points change only through accepted amendments (amendments context), so every
change to the text of an endorsed plan is traceable to a proposer."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_int, cursor_uuid, page_of, read_cursor
from bp_common.revisions import Precondition
from plan_api.plans.events import ActionPointCorrectedV1, GoalCorrectedV1, PlanCreatedV1
from plan_api.plans.models import ActionPoint, Goal, Plan
from plan_api.plans.repository import PlanRepository
from plan_api.plans.schemas import (
    ActionPointCorrection,
    ActionPointDetail,
    ActionPointOut,
    EndorsementOut,
    GoalCorrection,
    GoalDetail,
    GoalOut,
    PlanCreate,
    PlanOut,
    VersionRef,
)
from plan_api.versions.events import GoalV1
from plan_api.versions.models import VersionStatus
from plan_api.versions.repository import VersionRepository


class GoalNotFound(NotFound):
    code = "goal_not_found"


class ActionPointNotFound(NotFound):
    code = "action_point_not_found"


class PlanEndorsed(Conflict):
    code = "plan_endorsed"


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
            self.plans.add_all(Goal(plan_id=plan.id, number=goal.number, title=goal.title))
        await self.session.flush()
        for goal in data.goals:
            self.plans.add_all(
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
        return (await self._views([await self.plans.get_or_raise(plan_id)]))[0]

    async def page(self, limit: int, cursor: str | None) -> Page[PlanOut]:
        after = read_cursor(cursor, cursor_int, cursor_uuid)
        rows = await self.plans.page(limit=limit + 1, after=after)
        views = {view.id: view for view in await self._views(rows[:limit])}
        return page_of(rows, limit, lambda p: (p.period_start, str(p.id)), lambda p: views[p.id])

    # -- corrections before endorsement ----------------------------------------------------------
    async def goal(self, plan_id: uuid.UUID, number: int) -> GoalDetail:
        await self.plans.get_or_raise(plan_id)
        return await self._goal_detail(await self._goal(plan_id, number))

    async def correct_goal(
        self, plan_id: uuid.UUID, number: int, data: GoalCorrection, precondition: Precondition
    ) -> GoalDetail:
        plan = await self.plans.get_or_raise(plan_id, for_update=True)
        goal = await self._goal(plan.id, number, for_update=True)
        precondition.check(goal.revision, "goal")
        await self._ensure_not_endorsed(plan.id)
        if goal.title != data.title:
            goal.title = data.title
            await self.session.flush()
            await self.outbox.emit(
                self.session,
                GoalCorrectedV1.of(goal, changed=["title"]),
            )
        return await self._goal_detail(goal)

    async def action_point(self, plan_id: uuid.UUID, point_id: uuid.UUID) -> ActionPointDetail:
        await self.plans.get_or_raise(plan_id)
        return ActionPointDetail.model_validate(await self._point(plan_id, point_id))

    async def correct_action_point(
        self,
        plan_id: uuid.UUID,
        point_id: uuid.UUID,
        data: ActionPointCorrection,
        precondition: Precondition,
    ) -> ActionPointDetail:
        plan = await self.plans.get_or_raise(plan_id, for_update=True)
        point = await self._point(plan.id, point_id, for_update=True)
        precondition.check(point.revision, "action point")
        await self._ensure_not_endorsed(plan.id)
        if point.text != data.text:
            point.text = data.text
            await self.session.flush()
            await self.outbox.emit(
                self.session,
                ActionPointCorrectedV1.of(point, changed=["text"]),
            )
        return ActionPointDetail.model_validate(point)

    async def _ensure_not_endorsed(self, plan_id: uuid.UUID) -> None:
        endorsed = await self.versions.first_endorsed(plan_id)
        if endorsed is not None:
            raise PlanEndorsed(
                f"Version {endorsed} of the plan was endorsed, and an endorsed version never "
                "changes: from then on the plan's goals and action points change only through "
                "amendments proposed against a circulated version. Nothing was changed."
            )

    async def _goal(self, plan_id: uuid.UUID, number: int, *, for_update: bool = False) -> Goal:
        goal = await self.plans.goal(plan_id, number, for_update=for_update)
        if goal is None:
            raise GoalNotFound(f"The plan has no goal {number}.")
        return goal

    async def _point(
        self, plan_id: uuid.UUID, point_id: uuid.UUID, *, for_update: bool = False
    ) -> ActionPoint:
        point = await self.plans.action_point(plan_id, point_id, for_update=for_update)
        if point is None:
            raise ActionPointNotFound(f"The plan has no action point {point_id}.")
        return point

    async def _goal_detail(self, goal: Goal) -> GoalDetail:
        points = [
            ActionPointOut.model_validate(point)
            for point in await self.plans.action_points([goal.plan_id])
            if point.goal == goal.number
        ]
        return GoalDetail(
            id=goal.id,
            plan_id=goal.plan_id,
            number=goal.number,
            title=goal.title,
            action_points=points,
            revision=goal.revision,
            updated_at=goal.updated_at,
        )

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
