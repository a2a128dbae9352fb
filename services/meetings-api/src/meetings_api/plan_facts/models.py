from __future__ import annotations

import uuid

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps
from meetings_api.base import Base


class KnownHostingOffer(Timestamps, Base):
    """A hosting offer of plan-api, as its events told it. ``id`` is plan-api's offer id."""

    __tablename__ = "known_hosting_offer"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The intervention it came from, when plan-api names it (older offers do not).
    intervention_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    accepted: Mapped[bool] = mapped_column(default=False)
    # Withdrawn in plan-api: it no longer binds anything here, and later news does not revive it.
    withdrawn: Mapped[bool] = mapped_column(default=False)


class EndorsedPlanVersion(Timestamps, Base):
    """A plan version plan-api endorsed: it never changes, nor does the decision behind it."""

    __tablename__ = "endorsed_plan_version"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
