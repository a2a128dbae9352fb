"""Meeting events on ``meetings.events``. Each carries the whole meeting as it now stands, with
its ``revision``, so a consumer may keep only the latest news of it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from bp_common.types import CountryCode
from bp_common.withdrawals import withdrawal_of
from meetings_api.meetings.models import (
    AgendaItem,
    Delegation,
    Meeting,
    MeetingKind,
    MeetingStatus,
    ParticipantType,
)

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


class MeetingAttendanceCorrectedV1(MeetingV1):
    """A held meeting's delegation list was corrected: the attendance it reported changed.
    (A planned meeting's attendance change is a ``meetings.meeting.updated.v1``.)"""

    type: ClassVar[str] = "meetings.meeting.attendance_corrected.v1"
    examples: ClassVar[Examples] = (
        {
            **MEETING_EXAMPLE,
            "status": "held",
            "revision": 5,
            "attendance": {"participants": 80, "countries": 36, "organisations": 11},
        },
    )


# -- a delegation's entry --------------------------------------------------------------------

DELEGATION_EXAMPLE: dict[str, Any] = {
    "meeting_id": MEETING_EXAMPLE["meeting_id"],
    "participant": "BG",
    "participant_type": "state",
    "headcount": 3,
    "head_of_delegation": "Ms Ivanova",
    "revision": 5,
}


class DelegationV1(Event):
    """One delegation's entry. Its subject is the meeting: a delegation is part of the
    meeting's record (its attendance), so the meeting's history shows every change of it."""

    subject_field: ClassVar[str] = "meeting_id"
    key_field: ClassVar[str] = "meeting_id"

    meeting_id: uuid.UUID
    participant: str = Field(description="Country code or organisation acronym.")
    participant_type: ParticipantType
    headcount: int = Field(ge=1)
    head_of_delegation: str | None
    revision: int = Field(
        ge=0,
        description="The meeting's revision after the change (the attendance is the "
        "meeting's): a consumer ignores older news.",
    )

    @classmethod
    def of(cls, delegation: Delegation, revision: int, **extra: Any) -> Self:
        """``revision``: the meeting's."""
        return cls(
            meeting_id=delegation.meeting_id,
            participant=delegation.participant,
            participant_type=delegation.participant_type,
            headcount=delegation.headcount,
            head_of_delegation=delegation.head_of_delegation,
            revision=revision,
            **extra,
        )


class DelegationCorrectedV1(DelegationV1):
    """A delegation's entry was corrected (headcount, head of delegation), also of a held
    meeting; the meeting's new attendance follows in its own event."""

    type: ClassVar[str] = "meetings.delegation.corrected.v1"
    examples: ClassVar[Examples] = ({**DELEGATION_EXAMPLE, "changed": ["headcount"]},)

    changed: list[str] = Field(description="The fields changed, sorted.")


class DelegationWithdrawnV1(DelegationV1):
    """A delegation was withdrawn from a meeting's list (it was not there); the entry is kept
    as a tombstone and the meeting's new attendance follows in its own event."""

    type: ClassVar[str] = "meetings.delegation.withdrawn.v1"
    examples: ClassVar[Examples] = (
        {**DELEGATION_EXAMPLE, "reason": "Listed by mistake: Bulgaria did not attend."},
    )

    reason: str

    @classmethod
    def of(cls, delegation: Delegation, revision: int, **extra: Any) -> Self:
        return super().of(delegation, revision, **withdrawal_of(delegation, cls), **extra)


# -- an agenda item --------------------------------------------------------------------------

AGENDA_ITEM_EXAMPLE: dict[str, Any] = {
    "agenda_item_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "meeting_id": MEETING_EXAMPLE["meeting_id"],
    "day": 1,
    "position": 2,
    "title": "Implementation Plan 2020-2024: goal 2",
    "presenter": "ICMPD",
    "duration_minutes": 45,
    "project_code": None,
    "plan_item": None,
    "goal": 2,
    "revision": 2,
}


class AgendaItemCorrectedV1(Event):
    """An agenda item was corrected; it carries the item as it now stands."""

    type: ClassVar[str] = "meetings.agenda_item.corrected.v1"
    subject_field: ClassVar[str] = "agenda_item_id"
    key_field: ClassVar[str] = "meeting_id"
    examples: ClassVar[Examples] = ({**AGENDA_ITEM_EXAMPLE, "changed": ["title"]},)

    agenda_item_id: uuid.UUID
    meeting_id: uuid.UUID
    day: int = Field(ge=1)
    position: int = Field(ge=1)
    title: str
    presenter: str | None
    duration_minutes: int | None
    project_code: str | None
    plan_item: str | None
    goal: int | None = Field(description="The plan's priority goal the item is about.")
    revision: int = Field(ge=1, description="The item's revision: a consumer ignores older news.")
    changed: list[str] = Field(description="The fields changed, sorted.")

    @classmethod
    def of(cls, item: AgendaItem, changed: list[str]) -> Self:
        return cls(
            agenda_item_id=item.id,
            meeting_id=item.meeting_id,
            day=item.day,
            position=item.position,
            title=item.title,
            presenter=item.presenter,
            duration_minutes=item.duration_minutes,
            project_code=item.project_code,
            plan_item=item.plan_item,
            goal=item.goal,
            revision=item.revision,
            changed=changed,
        )


class AgendaItemWithdrawnV1(Event):
    """An agenda item was withdrawn (kept as a tombstone): it is no longer on the agenda."""

    type: ClassVar[str] = "meetings.agenda_item.withdrawn.v1"
    subject_field: ClassVar[str] = "agenda_item_id"
    key_field: ClassVar[str] = "meeting_id"
    examples: ClassVar[Examples] = (
        {
            "agenda_item_id": AGENDA_ITEM_EXAMPLE["agenda_item_id"],
            "meeting_id": MEETING_EXAMPLE["meeting_id"],
            "reason": "Entered twice.",
            "revision": 3,
        },
    )

    agenda_item_id: uuid.UUID
    meeting_id: uuid.UUID
    reason: str
    revision: int = Field(ge=1)

    @classmethod
    def of(cls, item: AgendaItem) -> Self:
        return cls(
            agenda_item_id=item.id,
            meeting_id=item.meeting_id,
            revision=item.revision,
            **withdrawal_of(item, cls),
        )


EVENTS: tuple[type[Event], ...] = (
    MeetingScheduledV1,
    MeetingRescheduledV1,
    MeetingUpdatedV1,
    MeetingHeldV1,
    MeetingCancelledV1,
    MeetingAttendanceCorrectedV1,
    DelegationCorrectedV1,
    DelegationWithdrawnV1,
    AgendaItemCorrectedV1,
    AgendaItemWithdrawnV1,
)
