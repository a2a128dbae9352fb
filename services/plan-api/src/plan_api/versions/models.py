from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from plan_api.base import Base


class VersionStatus(StrEnum):
    CIRCULATED = "circulated"
    ENDORSED = "endorsed"
    SUPERSEDED = "superseded"


class PlanVersion(UUIDPrimaryKey, Timestamps, Base):
    """Version n of a plan: an immutable snapshot of its content and the amendments it took in.
    Only ``status`` and the endorsement fields ever change, and never once it is endorsed."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"))
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(enum_type(VersionStatus, 20))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    changelog: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    circulated_at: Mapped[datetime]
    endorsed_at: Mapped[datetime | None]
    endorsed_by_meeting_id: Mapped[uuid.UUID | None]
    # The meeting's endorsement decision (meetings-api), when the endorsement came from one.
    endorsed_by_decision_id: Mapped[uuid.UUID | None]
