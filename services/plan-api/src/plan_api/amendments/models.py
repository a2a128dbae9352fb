from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from bp_common.withdrawals import Withdrawable
from plan_api.base import Base

STANDING = text("withdrawn_at IS NULL")


class AmendmentStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class TargetType(StrEnum):
    PLAN = "plan"
    GOAL = "goal"
    ACTION_POINT = "action_point"
    ACTIVITY = "activity"


class AmendmentAction(StrEnum):
    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"


class Amendment(UUIDPrimaryKey, Timestamps, Revisioned, Withdrawable, Base):
    """A change proposed by a delegation against a circulated version. Once accepted it is applied
    to the plan's working content and listed in the next version's changelog. Before a decision
    its proposer may withdraw it (a tombstone) and its meeting's correction revise it."""

    __tablename__ = "amendment"
    __table_args__ = (
        UniqueConstraint("plan_id", "number"),
        # The same proposal twice (an API retry, the same request heard again) is one amendment;
        # once withdrawn, it may be proposed again.
        Index(
            "uq_amendment_plan_id_fingerprint",
            "plan_id",
            "fingerprint",
            unique=True,
            postgresql_where=STANDING,
            sqlite_where=STANDING,
        ),
        # One standing record per intervention: a corrected intervention may replace it.
        Index(
            "uq_amendment_intervention_id",
            "intervention_id",
            unique=True,
            postgresql_where=STANDING,
            sqlite_where=STANDING,
        ),
        ForeignKeyConstraint(
            ["plan_id", "version"], ["plan_version.plan_id", "plan_version.number"]
        ),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"))
    # 1, 2, 3... within the plan: how the Secretariat and delegations refer to it.
    number: Mapped[int]
    version: Mapped[int]
    proposer: Mapped[str] = mapped_column(String(20))
    target_type: Mapped[TargetType] = mapped_column(enum_type(TargetType, 20))
    # The goal number, or the id of the action point or activity; None for a plan-level addition.
    target_ref: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[AmendmentAction] = mapped_column(enum_type(AmendmentAction, 20))
    text: Mapped[str] = mapped_column(Text)
    rationale: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AmendmentStatus] = mapped_column(enum_type(AmendmentStatus, 20))
    decided_at: Mapped[datetime | None]
    # The version whose changelog lists it, once circulated.
    included_in_version: Mapped[int | None]
    meeting_id: Mapped[uuid.UUID | None]
    intervention_id: Mapped[uuid.UUID | None]
    fingerprint: Mapped[str] = mapped_column(String(64))

    @property
    def target(self) -> dict[str, Any]:
        """What it amends, as answers and events name it: a goal by its number, an item by its
        id, the plan as a whole by no ref."""
        ref: int | str | None = self.target_ref
        if self.target_type is TargetType.GOAL and ref is not None:
            ref = int(ref)
        return {"type": self.target_type.value, "ref": ref}
