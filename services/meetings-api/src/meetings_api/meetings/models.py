from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from bp_common.withdrawals import Withdrawable
from meetings_api.base import Base


class MeetingKind(StrEnum):
    MINISTERIAL_CONFERENCE = "ministerial_conference"
    SENIOR_OFFICIALS_MEETING = "senior_officials_meeting"
    WORKING_GROUP_MEETING = "working_group_meeting"
    THEMATIC_MEETING = "thematic_meeting"
    STUDY_VISIT = "study_visit"
    OTHER = "other"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class ParticipantType(StrEnum):
    STATE = "state"
    ORGANISATION = "organisation"


class Meeting(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        Index("ix_meeting_starts_on_id", "starts_on", "id"),
    )

    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[MeetingKind] = mapped_column(enum_type(MeetingKind))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2), index=True)
    working_group: Mapped[str | None] = mapped_column(String(120))
    chair: Mapped[str | None] = mapped_column(String(200))
    co_chair: Mapped[str | None] = mapped_column(String(200))
    activity_id: Mapped[uuid.UUID | None]
    status: Mapped[MeetingStatus] = mapped_column(
        enum_type(MeetingStatus, 20), default=MeetingStatus.PLANNED
    )
    # Bumped on every change; the calendar feed's SEQUENCE.
    revision: Mapped[int] = mapped_column(default=0)
    # The dates a reschedule replaced, oldest first: [{starts_on, ends_on, replaced_at}].
    previous_dates: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


# Unique among the records standing: a withdrawn one (a tombstone) leaves its place free.
STANDING = text("withdrawn_at IS NULL")


def unique_while_standing(name: str, *columns: str) -> Index:
    return Index(name, *columns, unique=True, postgresql_where=STANDING, sqlite_where=STANDING)


class Delegation(UUIDPrimaryKey, Timestamps, Withdrawable, Revisioned, Base):
    """A state or an organisation at a meeting. The meeting's attendance is derived from the
    delegations standing (not withdrawn)."""

    __tablename__ = "delegation"
    __table_args__ = (
        unique_while_standing("uq_delegation_meeting_id_participant", "meeting_id", "participant"),
        CheckConstraint("headcount >= 1", name="headcount_positive"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    # An ISO 3166-1 code for a state, an acronym of the registry for an organisation.
    participant: Mapped[str] = mapped_column(String(20))
    participant_type: Mapped[ParticipantType] = mapped_column(enum_type(ParticipantType, 20))
    headcount: Mapped[int]
    head_of_delegation: Mapped[str | None] = mapped_column(String(200))
    # Order of the list as it was given.
    position: Mapped[int]


class AgendaItem(UUIDPrimaryKey, Timestamps, Withdrawable, Revisioned, Base):
    __tablename__ = "agenda_item"
    __table_args__ = (
        unique_while_standing(
            "uq_agenda_item_meeting_id_day_position", "meeting_id", "day", "position"
        ),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    day: Mapped[int] = mapped_column(default=1)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    presenter: Mapped[str | None] = mapped_column(String(200))
    duration_minutes: Mapped[int | None]
    project_code: Mapped[str | None] = mapped_column(String(50))
    plan_item: Mapped[str | None] = mapped_column(String(100))
    # The plan's priority goal the item is about: a held meeting reports the goals it covered.
    goal: Mapped[int | None]
