from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import JSONType, Timestamps, UTCDateTime
from indicators_api.base import Base

# Key parts that do not apply are stored as "" (not NULL) so the key is a plain primary key on
# both databases; the API shows them as null.
NONE = ""


class Rollup(Base):
    """What each indicator's rule needs, per indicator x goal x country x year x organisation x
    project, kept up to date in the transaction that stores the results or the event facts.
    ``organisation``/``project`` are "" for the dialogue's own activity (event-fed indicators)."""

    __tablename__ = "rollup"

    indicator: Mapped[str] = mapped_column(String(50), primary_key=True)
    goal: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(20), primary_key=True)
    project: Mapped[str] = mapped_column(String(50), primary_key=True)
    value_sum: Mapped[float]
    value_count: Mapped[int]  # rows (results or event facts) in the group
    value_max: Mapped[float | None]
    # The latest period (periods.Period.key) and the sum and number of the values reported for
    # it (disaggregated rows of one period are parts of its total).
    latest_key: Mapped[int]
    latest_value: Mapped[float]
    latest_count: Mapped[int]


class RollupSnapshot(Timestamps, Base):
    """The rollups by goal x indicator x year as they stood when a meeting was held: the results
    as presented there. Written once per meeting and never changed (imports and replays after
    it leave it as it was)."""

    __tablename__ = "rollup_snapshot"

    meeting_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # When the meeting was announced held (the event's time, so a redelivery changes nothing).
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{indicator, title, goal, year, value, target, progress}], in goal, indicator, year order.
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
