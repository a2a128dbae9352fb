"""Meeting events on ``meetings.events``. Each carries the whole meeting as it now stands, with
its ``revision``, so a consumer may keep only the latest news of it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from bp_common.types import CountryCode
from meetings_api.meetings.models import Meeting, MeetingKind, MeetingStatus

TOPIC = "meetings.events"

MEETING_EXAMPLE: dict[str, Any] = {
    "meeting_id": "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098",
    "title": "Senior Officials Meeting of the Budapest Process",
    "kind": "senior_officials_meeting",
    "status": "planned",
    "starts_on": "2019-12-05",
    "ends_on": "2019-12-06",
    "city": "Istanbul",
    "country": "TR",
    "working_group": None,
    "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
    "revision": 3,
    "attendance": {"participants": 82, "countries": 37, "organisations": 11},
    "goals": [1, 3],
}


class AttendanceV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    participants: int = Field(ge=0)
    countries: int = Field(ge=0)
    organisations: int = Field(ge=0)


class DatesV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_on: date
    ends_on: date


class MeetingV1(Event):
    """The meeting as every meeting event carries it."""

    subject_field: ClassVar[str] = "meeting_id"
    key_field: ClassVar[str] = "meeting_id"

    meeting_id: uuid.UUID
    title: str
    kind: MeetingKind
    status: MeetingStatus
    starts_on: date
    ends_on: date
    city: str
    country: CountryCode
    working_group: str | None
    activity_id: uuid.UUID | None = Field(description="The plan activity it carries out.")
    revision: int = Field(
        ge=0, description="Grows with every change: a consumer ignores older news."
    )
    attendance: AttendanceV1
    goals: list[int] = Field(description="The plan's priority goals its agenda covers.")

    @classmethod
    def of(cls, meeting: Meeting, attendance: BaseModel, goals: list[int], **extra: Any) -> Self:
        return cls(
            meeting_id=meeting.id,
            title=meeting.title,
            kind=meeting.kind,
            status=meeting.status,
            starts_on=meeting.starts_on,
            ends_on=meeting.ends_on,
            city=meeting.city,
            country=meeting.country,
            working_group=meeting.working_group,
            activity_id=meeting.activity_id,
            revision=meeting.revision,
            attendance=AttendanceV1.model_validate(attendance.model_dump()),
            goals=goals,
            **extra,
        )


class MeetingScheduledV1(MeetingV1):
    """A meeting was planned."""

    type: ClassVar[str] = "meetings.meeting.scheduled.v1"
    examples: ClassVar[Examples] = (
        MEETING_EXAMPLE,
        {**MEETING_EXAMPLE, "activity_id": None, "goals": []},
    )


class MeetingRescheduledV1(MeetingV1):
    """A planned meeting's dates changed (whatever else changed with them)."""

    type: ClassVar[str] = "meetings.meeting.rescheduled.v1"
    examples: ClassVar[Examples] = (
        {**MEETING_EXAMPLE, "previous": {"starts_on": "2019-11-28", "ends_on": "2019-11-29"}},
    )

    previous: DatesV1


class MeetingUpdatedV1(MeetingV1):
    """A planned meeting changed other than in its dates (title, kind, place, working group,
    chairs, the activity it carries out)."""

    type: ClassVar[str] = "meetings.meeting.updated.v1"
    examples: ClassVar[Examples] = (
        {**MEETING_EXAMPLE, "changed": ["activity_id"]},
        {**MEETING_EXAMPLE, "activity_id": None, "changed": ["activity_id", "title"]},
    )

    changed: list[str] = Field(description="The fields changed.")


class MeetingHeldV1(MeetingV1):
    """A planned meeting was held; the attendance reported is final."""

    type: ClassVar[str] = "meetings.meeting.held.v1"
    examples: ClassVar[Examples] = ({**MEETING_EXAMPLE, "status": "held"},)


class MeetingCancelledV1(MeetingV1):
    """A planned meeting was cancelled."""

    type: ClassVar[str] = "meetings.meeting.cancelled.v1"
    examples: ClassVar[Examples] = ({**MEETING_EXAMPLE, "status": "cancelled"},)


EVENTS: tuple[type[Event], ...] = (
    MeetingScheduledV1,
    MeetingRescheduledV1,
    MeetingUpdatedV1,
    MeetingHeldV1,
    MeetingCancelledV1,
)
