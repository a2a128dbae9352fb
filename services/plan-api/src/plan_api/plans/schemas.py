from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bp_common.types import GoalNumber, LongText, Year
from plan_api.fields import GoalTitle, Title
from plan_api.versions.models import VersionStatus


class GoalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: GoalNumber
    title: GoalTitle
    action_points: list[LongText] = Field(default_factory=list, max_length=100)


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    period_start: Year = Field(examples=[2020])
    period_end: Year = Field(examples=[2024])
    goals: list[GoalCreate] = Field(min_length=1, max_length=99)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        numbers = [goal.number for goal in self.goals]
        if len(set(numbers)) != len(numbers):
            raise ValueError("goal numbers must be unique")
        return self


class ActionPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    text: str


class GoalCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: GoalTitle


class ActionPointCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: LongText


class GoalDetail(BaseModel):
    """One priority goal as corrections read it: with its revision (also the `ETag`)."""

    id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    title: str
    action_points: list[ActionPointOut]
    revision: int
    updated_at: datetime


class ActionPointDetail(BaseModel):
    """One action point as corrections read it: with its revision (also the `ETag`)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plan_id: uuid.UUID
    goal: int | None = Field(description="Its goal's number; null for a plan-level point.")
    text: str
    position: int
    revision: int
    updated_at: datetime


class GoalOut(BaseModel):
    number: int
    title: str
    action_points: list[ActionPointOut]


class VersionRef(BaseModel):
    number: int
    status: VersionStatus


class EndorsementOut(BaseModel):
    version: int
    meeting_id: uuid.UUID | None
    endorsed_at: datetime


class PlanOut(BaseModel):
    id: uuid.UUID
    title: str
    period_start: int
    period_end: int
    goals: list[GoalOut]
    action_points: list[ActionPointOut] = Field(
        description="Plan-level points, not under any goal (e.g. added by amendments)."
    )
    current_version: VersionRef | None = Field(
        description="The latest version circulated; absent before the first one."
    )
    endorsement: EndorsementOut | None = Field(
        description="The version in force: the latest endorsed one, and the endorsing meeting."
    )
    created_at: datetime
    updated_at: datetime
