from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import JSONType, Timestamps, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from indicators_api.base import Base


class Level(StrEnum):
    OUTPUT = "output"
    OUTCOME = "outcome"
    IMPACT = "impact"


class Measure(StrEnum):
    UNIT = "unit"
    PERCENTAGE = "percentage"
    QUALITATIVE = "qualitative"


class Aggregation(StrEnum):
    SUM = "sum"
    MEAN = "mean"
    MAX = "max"
    LATEST = "latest"


class Source(StrEnum):
    """Who feeds an indicator: partners' reports, or the dialogue's own activity (events)."""

    REPORTED = "reported"
    MEETINGS_HELD = "meetings_held"
    PARTICIPANTS = "participants"
    COUNTRIES_REPRESENTED = "countries_represented"
    ACTIVITIES_HOSTED = "activities_hosted"


class Indicator(UUIDPrimaryKey, Timestamps, Revisioned, Base):
    """An indicator of the results framework, shaped like an IATI result indicator; corrected by
    the Secretariat against its revision (``ETag``)."""

    __tablename__ = "indicator"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    level: Mapped[Level] = mapped_column(enum_type(Level, 20))
    goal: Mapped[int] = mapped_column(index=True)
    measure: Mapped[Measure] = mapped_column(enum_type(Measure, 20))
    ascending: Mapped[bool]
    aggregation: Mapped[Aggregation] = mapped_column(enum_type(Aggregation, 20))
    cumulative: Mapped[bool]
    baseline_year: Mapped[int | None]
    baseline_value: Mapped[float | None]
    # [{year, value}] in year order: read with the indicator, never queried into.
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    source: Mapped[Source] = mapped_column(enum_type(Source), index=True)
    disaggregations: Mapped[list[str]] = mapped_column(JSONType, default=list)

    @property
    def baseline(self) -> dict[str, Any] | None:
        if self.baseline_year is None:
            return None
        return {"year": self.baseline_year, "value": self.baseline_value}

    def target_for(self, year: int) -> float | None:
        return next((float(t["value"]) for t in self.targets if t["year"] == year), None)


class FrameworkSnapshot(UUIDPrimaryKey, Timestamps, Base):
    """The framework as it stood when a plan version was endorsed: its goals and indicators."""

    __tablename__ = "framework_snapshot"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    plan_id: Mapped[uuid.UUID]
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    meeting_id: Mapped[uuid.UUID | None]
    endorsed_at: Mapped[datetime] = mapped_column(index=True)
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
