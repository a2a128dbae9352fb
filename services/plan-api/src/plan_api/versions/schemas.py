from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from plan_api.activities.models import ActivityKind, ActivityStatus
from plan_api.amendments.schemas import ChangelogEntry
from plan_api.versions.models import VersionStatus

# -- the snapshot a version freezes ------------------------------------------------------------


class ActionPointContent(BaseModel):
    id: uuid.UUID
    text: str


class GoalContent(BaseModel):
    number: int
    title: str
    action_points: list[ActionPointContent]


class ActivityContent(BaseModel):
    """The activity as in docs/events.md, with its description and lead."""

    activity_id: uuid.UUID
    plan_id: uuid.UUID
    title: str
    goal: int
    kind: ActivityKind
    working_group: str | None
    year: int
    quarter: int | None
    starts_on: date | None
    ends_on: date | None
    status: ActivityStatus
    host_countries: list[str]
    revision: int
    description: str | None
    lead: str | None


class PlanContent(BaseModel):
    title: str
    period_start: int
    period_end: int
    goals: list[GoalContent]
    action_points: list[ActionPointContent] = Field(description="Plan-level points.")
    activities: list[ActivityContent] = Field(description="Every activity not cancelled.")


# -- answers ------------------------------------------------------------------------------------


class VersionSummary(BaseModel):
    plan_id: uuid.UUID
    number: int
    status: VersionStatus
    circulated_at: datetime
    endorsed_at: datetime | None
    endorsed_by_meeting_id: uuid.UUID | None
    endorsed_by_decision_id: uuid.UUID | None = Field(
        default=None, description="The meeting's endorsement decision, if it endorsed it."
    )
    changelog: list[ChangelogEntry] = Field(
        description="The amendments accepted since the previous version, with their proposer."
    )


class VersionOut(VersionSummary):
    content: PlanContent


class EndorseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meeting_id: uuid.UUID | None = Field(default=None, description="The endorsing meeting.")


class FieldChange(BaseModel):
    field: str
    before: Any
    after: Any


class Change(BaseModel):
    item: Literal["plan", "goal", "action_point", "activity"]
    ref: int | str | None = Field(
        description="Goal number, or the action point's or activity's id."
    )
    change: Literal["added", "removed", "modified"]
    fields: list[FieldChange] = Field(default_factory=list, description="For modified items.")
    before: dict[str, Any] | None = Field(default=None, description="For removed items.")
    after: dict[str, Any] | None = Field(default=None, description="For added items.")


class VersionDiff(BaseModel):
    plan_id: uuid.UUID
    version: int
    against: int
    changes: list[Change]
