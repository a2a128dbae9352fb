from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bp_common.types import CountryCode
from meetings_api.meetings.models import MeetingKind, MeetingStatus


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    kind: MeetingKind
    starts_on: date
    ends_on: date
    city: str = Field(min_length=1, max_length=120)
    country: CountryCode
    working_group: str | None = Field(default=None, max_length=120)
    chair: str | None = Field(default=None, max_length=200)
    co_chair: str | None = Field(default=None, max_length=200)
    activity_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    kind: MeetingKind
    status: MeetingStatus
    starts_on: date
    ends_on: date
    city: str
    country: str
    working_group: str | None
    chair: str | None
    co_chair: str | None
    activity_id: uuid.UUID | None
    revision: int
    created_at: datetime
    updated_at: datetime


class MeetingFilters(BaseModel):
    from_: date | None = None
    to: date | None = None
    kind: MeetingKind | None = None
    country: str | None = None
    status: MeetingStatus | None = None
