from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from bp_common.withdrawals import Withdrawable
from plan_api.base import Base

# Uniqueness holds among the offers that stand: a withdrawn offer is history, and the state may
# offer again.
STANDING = text("withdrawn_at IS NULL")


class OfferStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class HostingOffer(UUIDPrimaryKey, Timestamps, Revisioned, Withdrawable, Base):
    """A state's offer to host an activity in a year. One standing offer per (activity, country,
    year): a repeated offer (an API retry, a replayed meeting event) is the same offer. Withdrawn
    (by the state, the Secretariat, or its intervention's withdrawal) it stays as a tombstone."""

    __tablename__ = "hosting_offer"
    __table_args__ = (
        # Also the index of an activity's offers (its leading column).
        Index(
            "uq_hosting_offer_activity_id_country_year",
            "activity_id",
            "country",
            "year",
            unique=True,
            postgresql_where=STANDING,
            sqlite_where=STANDING,
        ),
        # One standing record per intervention: a corrected intervention may replace it.
        Index(
            "uq_hosting_offer_intervention_id",
            "intervention_id",
            unique=True,
            postgresql_where=STANDING,
            sqlite_where=STANDING,
        ),
    )

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activity.id"))
    country: Mapped[str] = mapped_column(String(2))
    year: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[OfferStatus] = mapped_column(enum_type(OfferStatus, 20))
    decided_at: Mapped[datetime | None]
    # Set when the offer was made at a meeting: the intervention recorded by meetings-api.
    meeting_id: Mapped[uuid.UUID | None]
    intervention_id: Mapped[uuid.UUID | None]
