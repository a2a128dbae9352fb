from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UTCDateTime
from meetings_api.base import Base


class ResultsSnapshot(Timestamps, Base):
    """The results as presented at a held meeting: indicators-api's rollups by goal x indicator
    x year frozen when the meeting was held, kept with the meeting so that a report printed
    later shows what the meeting saw. Written once, from indicators-api's event; never changed.
    No foreign key: it arrives by event and is kept even if the meeting's rows were corrected."""

    __tablename__ = "results_snapshot"

    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{indicator, title, goal, year, value, target, progress}]
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
