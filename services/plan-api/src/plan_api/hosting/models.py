from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from plan_api.base import Base


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class HostingOffer(UUIDPrimaryKey, Timestamps, Base):
    """A state's offer to host an activity in a year. One per (activity, country, year): a
    repeated offer (an API retry, a replayed meeting event) is the same offer."""

    __tablename__ = "hosting_offer"
    # Also the index of an activity's offers (its leading column).
    __table_args__ = (UniqueConstraint("activity_id", "country", "year"),)

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activity.id"))
    country: Mapped[str] = mapped_column(String(2))
    year: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OfferStatus] = mapped_column(enum_type(OfferStatus, 20))
    decided_at: Mapped[datetime | None]
    # Set when the offer was made at a meeting: the intervention recorded by meetings-api.
    meeting_id: Mapped[uuid.UUID | None]
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
