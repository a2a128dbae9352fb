from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import enum_type
from indicators_api.base import Base

ALL_COUNTRIES = "*"


class EventMetric(StrEnum):
    """The dialogue's own activity, counted from other services' events."""

    MEETINGS_HELD = "meetings_held"


class EventMetricValue(Base):
    """One counter per metric, host country and year, maintained by event handlers."""

    __tablename__ = "event_metric_value"

    metric: Mapped[EventMetric] = mapped_column(enum_type(EventMetric), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Numeric(18, 4, asdecimal=False), default=0)
