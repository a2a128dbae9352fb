"""Events of the plans on ``plan.events``, the topic every context of plan-api publishes on
(the other types in each context's ``events``)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self

from pydantic import Field

from bp_common.events.contract import Event, Examples
from plan_api.plans.models import ActionPoint, Goal
from plan_api.versions.events import GoalV1

TOPIC = "plan.events"


class PlanCreatedV1(Event):
    """A plan was drafted (its title, period and goals); its versions follow as they are
    circulated and endorsed."""

    type: ClassVar[str] = "plan.plan.created.v1"
    subject_field: ClassVar[str] = "plan_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "plan_id": "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
            "title": "Implementation Plan 2020-2024",
            "period_start": 2020,
            "period_end": 2024,
            "goals": [{"number": 1, "title": "Irregular migration and return"}],
        },
    )

    plan_id: uuid.UUID
    title: str
    period_start: int
    period_end: int
    goals: list[GoalV1] = Field(description="The plan's priority goals.")


class GoalCorrectedV1(Event):
    """The Secretariat corrected a priority goal's title before any version of the plan was
    endorsed (afterwards the plan changes only through amendments)."""

    type: ClassVar[str] = "plan.goal.corrected.v1"
    subject_field: ClassVar[str] = "goal_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "goal_id": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
            "plan_id": "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
            "number": 1,
            "title": "Irregular migration and return",
            "revision": 2,
            "changed": ["title"],
        },
    )

    goal_id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    title: str
    revision: int = Field(description="The goal's revision (its ETag).")
    changed: list[str] = Field(description="The fields that changed, sorted.")

    @classmethod
    def of(cls, goal: Goal, changed: list[str]) -> Self:
        return cls(
            goal_id=goal.id,
            plan_id=goal.plan_id,
            number=goal.number,
            title=goal.title,
            revision=goal.revision,
            changed=changed,
        )


class ActionPointCorrectedV1(Event):
    """The Secretariat corrected an action point's text before any version of the plan was
    endorsed (afterwards the plan changes only through amendments)."""

    type: ClassVar[str] = "plan.action_point.corrected.v1"
    subject_field: ClassVar[str] = "action_point_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "action_point_id": "7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e",
            "plan_id": "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
            "goal": 1,
            "text": "Regional training on return counselling.",
            "revision": 2,
            "changed": ["text"],
        },
    )

    action_point_id: uuid.UUID
    plan_id: uuid.UUID
    goal: int | None = Field(description="Its goal's number; null for a plan-level point.")
    text: str
    revision: int = Field(description="The point's revision (its ETag).")
    changed: list[str] = Field(description="The fields that changed, sorted.")

    @classmethod
    def of(cls, point: ActionPoint, changed: list[str]) -> Self:
        return cls(
            action_point_id=point.id,
            plan_id=point.plan_id,
            goal=point.goal,
            text=point.text,
            revision=point.revision,
            changed=changed,
        )


EVENTS = (PlanCreatedV1, GoalCorrectedV1, ActionPointCorrectedV1)
