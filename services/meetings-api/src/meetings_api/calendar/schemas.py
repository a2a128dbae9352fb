from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bp_common.events.contract import EventReader
from bp_common.types import CountryCode, Quarter, Year
from meetings_api.calendar.models import EntrySource


def _cut(length: int) -> BeforeValidator:
    """A read model shows what the source said, shortened rather than refused."""
    return BeforeValidator(lambda value: value[:length] if isinstance(value, str) else value)


# -- what the calendar reads of the events it consumes; unknown fields are ignored -------------


class ActivitySnapshot(EventReader):
    """The activity in plan-api's events: the calendar shows it as its latest news has it (by
    ``revision``), dated once scheduled, by year and quarter until then."""

    activity_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    title: Annotated[str, _cut(500)]
    goal: int | None = Field(default=None, ge=1, le=100)
    kind: str = Field(max_length=60)
    working_group: Annotated[str | None, _cut(120)] = None
    year: Year
    quarter: Quarter | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    status: str = Field(max_length=30)
    host_countries: list[CountryCode] = Field(default_factory=list)
    revision: int | None = None

    @model_validator(mode="after")
    def _dates_ordered(self) -> Self:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class EndorsedPlan(EventReader):
    """plan-api's endorsed plan, for the activities it lists."""

    activities: list[ActivitySnapshot] = Field(default_factory=list)


class MeetingSnapshot(EventReader):
    """The meeting in this service's meeting events: the calendar shows it as its latest news
    has it (by ``revision``)."""

    meeting_id: uuid.UUID
    title: Annotated[str, _cut(500)]
    kind: str = Field(max_length=60)
    status: str = Field(max_length=30)
    starts_on: date
    ends_on: date
    city: Annotated[str, _cut(120)]
    country: CountryCode
    working_group: Annotated[str | None, _cut(120)] = None
    activity_id: uuid.UUID | None = None
    revision: int | None = None


# -- what the calendar answers -----------------------------------------------------------------


class CalendarEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The meeting's or the activity's id.")
    source: EntrySource
    title: str
    kind: str
    status: str
    starts_on: date | None = Field(description="Absent while only the year or quarter is known.")
    ends_on: date | None
    year: int
    quarter: int | None
    host_countries: list[str]
    goal: int | None = Field(
        description="The priority goal; a meeting shows that of the activity it realises."
    )
    working_group: str | None
    city: str | None
    activity_id: uuid.UUID | None = Field(description="For a meeting: the activity it realises.")
    url: str = Field(description="The API resource: /v1/meetings/{id} or /v1/activities/{id}.")
    sequence: int = Field(description="Grows with every change of the entry (iCalendar SEQUENCE).")
    changed_at: datetime


class CalendarFilters(BaseModel):
    from_: date | None = None
    to: date | None = None
    country: str | None = None
    goal: int | None = None
    working_group: str | None = None
    kind: str | None = None
    source: EntrySource | None = None
    status: str | None = None
