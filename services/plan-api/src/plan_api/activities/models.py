from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from plan_api.base import Base


class ActivityKind(StrEnum):
    MEETING = "meeting"
    TRAINING = "training"
    STUDY_VISIT = "study_visit"
    RESEARCH = "research"
    CAPACITY_BUILDING = "capacity_building"
    OTHER = "other"


class ActivityStatus(StrEnum):
    PROPOSED = "proposed"
    HOST_OFFERED = "host_offered"
    HOSTED = "hosted"
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


# proposed -> host_offered -> hosted -> scheduled -> held | cancelled. A step may be skipped (a
# meeting may be scheduled before any host is known); host_offered falls back to proposed when
# every offer is declined; scheduled falls back to where it stood (hosted, host_offered or
# proposed) when the meeting that was to carry it out is cancelled; held and cancelled are final.
TRANSITIONS: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.PROPOSED: frozenset(
        {
            ActivityStatus.HOST_OFFERED,
            ActivityStatus.HOSTED,
            ActivityStatus.SCHEDULED,
            ActivityStatus.HELD,
            ActivityStatus.CANCELLED,
        }
    ),
    ActivityStatus.HOST_OFFERED: frozenset(
        {
            ActivityStatus.PROPOSED,
            ActivityStatus.HOSTED,
            ActivityStatus.SCHEDULED,
            ActivityStatus.HELD,
            ActivityStatus.CANCELLED,
        }
    ),
    ActivityStatus.HOSTED: frozenset(
        {ActivityStatus.SCHEDULED, ActivityStatus.HELD, ActivityStatus.CANCELLED}
    ),
    ActivityStatus.SCHEDULED: frozenset(
        {
            ActivityStatus.PROPOSED,
            ActivityStatus.HOST_OFFERED,
            ActivityStatus.HOSTED,
            ActivityStatus.HELD,
            ActivityStatus.CANCELLED,
        }
    ),
    ActivityStatus.HELD: frozenset(),
    ActivityStatus.CANCELLED: frozenset(),
}
CLOSED = frozenset({ActivityStatus.HELD, ActivityStatus.CANCELLED})


class Activity(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "activity"
    __table_args__ = (
        ForeignKeyConstraint(["plan_id", "goal"], ["goal.plan_id", "goal.number"]),
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        Index("ix_activity_plan_id_year_id", "plan_id", "year", "id"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"))
    goal: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[ActivityKind] = mapped_column(enum_type(ActivityKind))
    working_group: Mapped[str | None] = mapped_column(String(120))
    # Tentative year and quarter; once dated, both follow starts_on.
    year: Mapped[int]
    quarter: Mapped[int | None]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    description: Mapped[str | None] = mapped_column(Text)
    lead: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[ActivityStatus] = mapped_column(
        enum_type(ActivityStatus, 20), default=ActivityStatus.PROPOSED
    )
    # The accepted hosts, in order of acceptance (the hosting offers are the record of each).
    host_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The meeting that scheduled or held it, and that meeting's revision: older news is ignored.
    # Kept when that meeting is cancelled (the status says so), so its stale news stays ignored.
    meeting_id: Mapped[uuid.UUID | None]
    meeting_revision: Mapped[int | None]
    # Bumped on every change; consumers keep the highest one they saw.
    revision: Mapped[int] = mapped_column(default=0)
