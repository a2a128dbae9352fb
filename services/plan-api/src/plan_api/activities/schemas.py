from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bp_common.types import GoalNumber, IsoDate, LongText, Quarter, Year, unclearable
from plan_api.activities.models import ActivityKind, ActivityStatus
from plan_api.fields import Label, Lead, Title


class ActivityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    goal: GoalNumber
    kind: ActivityKind
    year: Year
    quarter: Quarter | None = None
    working_group: Label | None = None
    description: LongText | None = None
    lead: Lead | None = Field(default=None, description="Country or organisation leading it.")


class ActivityUpdate(BaseModel):
    """Fields to change; giving ``starts_on`` (and ``ends_on``) schedules the activity."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = unclearable()
    goal: GoalNumber | None = unclearable()
    kind: ActivityKind | None = unclearable()
    year: Year | None = unclearable()
    quarter: Quarter | None = None
    working_group: Label | None = None
    description: LongText | None = None
    lead: Lead | None = None
    starts_on: IsoDate | None = unclearable()
    ends_on: IsoDate | None = unclearable()

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> Self:
        for name in ("title", "goal", "kind", "year", "starts_on", "ends_on"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plan_id: uuid.UUID
    title: str
    goal: int
    kind: ActivityKind
    working_group: str | None
    year: int
    quarter: int | None
    starts_on: date | None
    ends_on: date | None
    description: str | None
    lead: str | None
    status: ActivityStatus
    host_countries: list[str]
    meeting_id: uuid.UUID | None
    revision: int
    created_at: datetime
    updated_at: datetime


class ActivityFilters(BaseModel):
    goal: int | None = None
    year: int | None = None
    status: ActivityStatus | None = None
    host: str | None = None
    kind: ActivityKind | None = None
