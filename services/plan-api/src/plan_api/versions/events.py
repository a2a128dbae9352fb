"""Version events on ``plan.events``: a plan's versions are circulated, then one is endorsed."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from plan_api.activities.events import ACTIVITY_EXAMPLE, ActivityV1
from plan_api.amendments.events import CHANGELOG_EXAMPLE, ChangelogEntryV1
from plan_api.versions.models import VersionStatus

PLAN_ID = "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20"


class VersionCirculatedV1(Event):
    """A new version of the plan was circulated: its content frozen, with the accepted
    amendments it took in; earlier circulated versions are superseded."""

    type: ClassVar[str] = "plan.version.circulated.v1"
    subject_field: ClassVar[str] = "plan_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "plan_id": PLAN_ID,
            "version": 2,
            "status": "circulated",
            "changelog": [CHANGELOG_EXAMPLE],
        },
    )

    plan_id: uuid.UUID
    version: int = Field(ge=1)
    status: VersionStatus
    changelog: list[ChangelogEntryV1]


class GoalV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: int
    title: str


class PlanEndorsedV1(Event):
    """A version of the plan was endorsed (through the API, or by a meeting's endorsement
    decision): it lists the plan's goals and its activities as that version has them."""

    type: ClassVar[str] = "plan.endorsed.v1"
    subject_field: ClassVar[str] = "plan_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "plan_id": PLAN_ID,
            "title": "Implementation Plan 2020-2024",
            "version": 2,
            "meeting_id": "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098",
            "period_start": 2020,
            "period_end": 2024,
            "goals": [{"number": 3, "title": "Return, readmission and reintegration"}],
            "activities": [ACTIVITY_EXAMPLE],
            "decision_id": "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f70",
        },
    )

    plan_id: uuid.UUID
    title: str
    version: int = Field(ge=1)
    meeting_id: uuid.UUID | None = Field(description="The meeting that endorsed it, if any.")
    period_start: int
    period_end: int
    goals: list[GoalV1]
    activities: list[ActivityV1] = Field(description="Every activity not cancelled.")
    decision_id: uuid.UUID | None = Field(
        default=None,
        description="The meeting's endorsement decision that endorsed it, if any: from now on "
        "that decision is final.",
    )


EVENTS = (VersionCirculatedV1, PlanEndorsedV1)
