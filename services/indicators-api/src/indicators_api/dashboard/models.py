"""The dashboard's read model: the figures of the front page, kept up to date by the events
that change them, so that reading them costs the same whatever the size of the data.

Each meeting and activity keeps one row with what it contributes (its status, hosts,
participants) and the revision of the news that set it; the counters hold the sums, moved by the
difference between a record's old and new contribution. Results are counted per organisation
from the imports' reports, and each indicator's standing is recomputed from its own rollups when
they change."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import UTCDateTime, enum_type
from indicators_api.base import Base


class Counter(StrEnum):
    MEETINGS_BY_STATUS = "meetings_by_status"
    PARTICIPANTS_OF_HELD_MEETINGS = "participants_of_held_meetings"
    ACTIVITIES_BY_STATUS = "activities_by_status"
    ACTIVITIES_BY_HOST = "activities_by_host"
    RESULTS_BY_ORGANISATION = "results_by_organisation"


class DashboardCount(Base):
    """One figure: ``counter`` broken down by ``key`` within ``scope`` (a plan's id for the
    activities, empty otherwise)."""

    __tablename__ = "dashboard_count"

    counter: Mapped[Counter] = mapped_column(enum_type(Counter), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Numeric(18, 4, asdecimal=False), default=0)


class DashboardMeeting(Base):
    """A meeting as its latest news has it."""

    __tablename__ = "dashboard_meeting"
    __table_args__ = (Index("ix_dashboard_meeting_status_starts_on", "status", "starts_on"),)

    meeting_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date]
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    participants: Mapped[int]


class DashboardActivity(Base):
    """A plan activity as its latest news has it."""

    __tablename__ = "dashboard_activity"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    host_countries: Mapped[list[str]] = mapped_column(JSON)


class DashboardPlan(Base):
    """A plan and the state of its versions."""

    __tablename__ = "dashboard_plan"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[int]
    period_end: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_version: Mapped[int | None]
    version_status: Mapped[str | None] = mapped_column(String(16))
    endorsed_version: Mapped[int | None]


class IndicatorStanding(StrEnum):
    ON_TRACK = "on_track"
    OFF_TRACK = "off_track"


class DashboardIndicator(Base):
    """An indicator with data: whether its latest year with a target reached it. An indicator
    without a row has no data yet."""

    __tablename__ = "dashboard_indicator"

    indicator: Mapped[str] = mapped_column(String(50), primary_key=True)
    standing: Mapped[IndicatorStanding] = mapped_column(enum_type(IndicatorStanding))


class DashboardFreshness(Base):
    """One row: the time of the latest event applied to the read model."""

    __tablename__ = "dashboard_freshness"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
