from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bp_common.orm import Timestamps, UTCDateTime, UUIDPrimaryKey, enum_type
from meetings_api.base import Base


class EntrySource(StrEnum):
    MEETING = "meeting"
    ACTIVITY = "activity"


class CalendarEntry(UUIDPrimaryKey, Timestamps, Base):
    """A meeting or a plan activity as the calendar shows it, built only from events.

    ``id`` is the meeting's or the activity's own id, so an event upserts its entry."""

    __tablename__ = "calendar_entry"
    __table_args__ = (Index("ix_calendar_entry_period_start_id", "period_start", "id"),)

    source: Mapped[EntrySource] = mapped_column(enum_type(EntrySource, 20))
    title: Mapped[str] = mapped_column(String(500))
    # A meeting kind, or plan-api's activity kind: free text here, this is a read model.
    kind: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    year: Mapped[int]
    quarter: Mapped[int | None]
    # The span shown: the dates, else the quarter, else the year. Drives sorting and `from/to`.
    period_start: Mapped[date]
    period_end: Mapped[date]
    goal: Mapped[int | None]
    working_group: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    # For a meeting: the plan activity it realises (that activity is then not listed).
    activity_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    plan_id: Mapped[uuid.UUID | None]
    # The source's own revision: the feed's SEQUENCE, and how stale events are recognised.
    revision: Mapped[int]
    # Time of the event last applied: deterministic, so a replay rebuilds the same feed.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    hosts: Mapped[list[CalendarHost]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="CalendarHost.country",
    )

    @property
    def host_countries(self) -> list[str]:
        return [host.country for host in self.hosts]

    @property
    def path(self) -> str:
        """The API resource the entry comes from."""
        collection = "meetings" if self.source is EntrySource.MEETING else "activities"
        return f"/v1/{collection}/{self.id}"


class CalendarHost(Base):
    """A host country of an entry (a table of its own so that `country=` is a plain filter)."""

    __tablename__ = "calendar_host"
    __table_args__ = (Index("ix_calendar_host_country", "country"),)

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_entry.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
