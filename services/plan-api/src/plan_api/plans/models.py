from __future__ import annotations

import uuid

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey
from bp_common.revisions import Revisioned
from plan_api.base import Base


class Plan(UUIDPrimaryKey, Timestamps, Base):
    """A strategic document and implementation plan over a period of years (e.g. 2020-2024)."""

    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        Index("ix_plan_period_start_id", "period_start", "id"),
    )

    title: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[int]
    period_end: Mapped[int]


class Goal(UUIDPrimaryKey, Timestamps, Revisioned, Base):
    """A priority goal, known to everyone by its number within its plan."""

    __tablename__ = "goal"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"))
    number: Mapped[int]
    # Accepted amendments rewrite it with their text, so it is not a short label.
    title: Mapped[str] = mapped_column(Text)


class ActionPoint(UUIDPrimaryKey, Timestamps, Revisioned, Base):
    """A point under a goal, or under the plan itself when ``goal`` is None."""

    __tablename__ = "action_point"
    __table_args__ = (
        # (plan, goal number) must name a goal of the same plan; NULL goal = plan-level point.
        ForeignKeyConstraint(["plan_id", "goal"], ["goal.plan_id", "goal.number"]),
        Index("ix_action_point_plan_id_goal", "plan_id", "goal"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"))
    goal: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int]
