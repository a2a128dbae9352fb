from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bp_common.types import CountryCode, IsoDate, bounded_text, unclearable
from bp_common.withdrawals import WithdrawnFields
from meetings_api.meetings.models import MeetingKind, MeetingStatus, ParticipantType

Title = Annotated[str, bounded_text(300)]
City = Annotated[str, bounded_text(120)]
WorkingGroup = Annotated[str, bounded_text(120)]
Person = Annotated[str, bounded_text(200)]
GoalNumber = Annotated[
    int, Field(ge=1, le=100, description="Number of a priority goal of the plan.")
]

MAX_DELEGATIONS = 500


class MeetingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    kind: MeetingKind
    starts_on: IsoDate
    ends_on: IsoDate
    city: City
    country: CountryCode
    working_group: WorkingGroup | None = None
    chair: Person | None = None
    co_chair: Person | None = None
    activity_id: uuid.UUID | None = Field(
        default=None, description="The plan activity (plan-api) this meeting realises."
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class MeetingUpdate(BaseModel):
    """Fields to change; a field left out is kept, ``null`` clears an optional one. Changing the
    dates reschedules the meeting."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = unclearable()
    kind: MeetingKind | None = unclearable()
    starts_on: IsoDate | None = unclearable()
    ends_on: IsoDate | None = unclearable()
    city: City | None = unclearable()
    country: CountryCode | None = unclearable()
    working_group: WorkingGroup | None = None
    chair: Person | None = None
    co_chair: Person | None = None
    activity_id: uuid.UUID | None = None

    # Validators run on given values only: these refuse an explicit null for a required field.
    @field_validator("title", "kind", "starts_on", "ends_on", "city", "country")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class PreviousDates(BaseModel):
    starts_on: date
    ends_on: date
    replaced_at: datetime


class Attendance(BaseModel):
    """Derived from the delegations, never typed in."""

    participants: int = 0
    countries: int = 0
    organisations: int = 0


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
    previous_dates: list[PreviousDates]
    attendance: Attendance
    goals: list[int] = Field(description="Priority goals covered by the agenda.")
    created_at: datetime
    updated_at: datetime


class MeetingFilters(BaseModel):
    from_: date | None = None
    to: date | None = None
    kind: MeetingKind | None = None
    country: str | None = None
    status: MeetingStatus | None = None


class DelegationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant: Annotated[
        str,
        bounded_text(20, min_length=2),
        Field(
            description="ISO 3166-1 alpha-2 code of a state, or acronym of a registered "
            "organisation (see /v1/organisations).",
            examples=["BG", "IOM"],
        ),
    ]
    headcount: int = Field(ge=1, le=10_000)
    head_of_delegation: Person | None = None


class DelegationUpdate(BaseModel):
    """A delegation's entry corrected; a field left out is kept, ``null`` clears the head. (A
    delegation listed by mistake is withdrawn, and the right one added.)"""

    model_config = ConfigDict(extra="forbid")

    headcount: Annotated[int, Field(ge=1, le=10_000)] | None = unclearable()
    head_of_delegation: Person | None = None

    @field_validator("headcount")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class DelegationOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    participant: str
    participant_type: ParticipantType
    headcount: int
    head_of_delegation: str | None
    revision: int = Field(description="The entry's revision, also its `ETag`.")


class DelegationsOut(BaseModel):
    items: list[DelegationOut]
    attendance: Attendance


class AgendaItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=1, le=1000, description="Order within the day.")
    title: Title
    day: int = Field(default=1, ge=1, le=366, description="Day of the meeting, from 1.")
    presenter: Person | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    project_code: Annotated[str, bounded_text(50)] | None = None
    plan_item: Annotated[str, bounded_text(100)] | None = Field(
        default=None, description="The item of the plan discussed (an action point, an activity)."
    )
    goal: GoalNumber | None = None


class AgendaItemUpdate(BaseModel):
    """Fields to correct; a field left out is kept, ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    position: Annotated[int, Field(ge=1, le=1000)] | None = unclearable()
    title: Title | None = unclearable()
    day: Annotated[int, Field(ge=1, le=366)] | None = unclearable()
    presenter: Person | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    project_code: Annotated[str, bounded_text(50)] | None = None
    plan_item: Annotated[str, bounded_text(100)] | None = None
    goal: GoalNumber | None = None

    @field_validator("position", "title", "day")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class AgendaItemOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    meeting_id: uuid.UUID
    day: int
    position: int
    title: str
    presenter: str | None
    duration_minutes: int | None
    project_code: str | None
    plan_item: str | None
    goal: int | None
    revision: int = Field(description="The item's revision, also its `ETag`.")
