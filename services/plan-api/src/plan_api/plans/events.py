"""Events of the plans on ``plan.events``, the topic every context of plan-api publishes on
(the other types in each context's ``events``)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from bp_common.events.contract import Event, Examples
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


EVENTS = (PlanCreatedV1,)
