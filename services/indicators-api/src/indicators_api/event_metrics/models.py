from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, enum_type
from indicators_api.base import Base


class EventMetric(StrEnum):
    """The dialogue's own activity, counted from other services' events. Each one is also an
    indicator ``source``."""

    MEETINGS_HELD = "meetings_held"
    PARTICIPANTS = "participants"
    COUNTRIES_REPRESENTED = "countries_represented"
    ACTIVITIES_HOSTED = "activities_hosted"


class EventMetricValue(Base):
    """One counter per metric, host country and year, maintained by event handlers."""

    __tablename__ = "event_metric_value"

    metric: Mapped[EventMetric] = mapped_column(enum_type(EventMetric), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Numeric(18, 4, asdecimal=False), default=0)


class EventFact(Timestamps, Base):
    """One counted fact, keyed by what it counts (a meeting, an activity) and the host country,
    so an event replayed under a new id is still counted once."""

    __tablename__ = "event_fact"

    metric: Mapped[EventMetric] = mapped_column(enum_type(EventMetric), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    year: Mapped[int]
    period: Mapped[str] = mapped_column(String(7))
    period_key: Mapped[int]
    value: Mapped[float]


class SourceRevision(Timestamps, Base):
    """The revision of the latest news applied of a meeting or activity (a snapshot of it, or its
    cancellation): its facts are those of that news, and news at that revision or older (stale,
    redelivered or replayed) changes nothing."""

    __tablename__ = "event_source_revision"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int]
