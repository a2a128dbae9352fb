from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
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
