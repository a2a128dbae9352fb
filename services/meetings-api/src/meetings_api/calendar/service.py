"""The calendar of meetings and plan activities: a read model fed only by events.

Each event upserts the entry of its meeting or activity. An event whose ``revision`` is older
than the entry's is stale and ignored, and applying the same state twice changes nothing, so
redelivered, reordered or replayed events always rebuild the same calendar. A meeting that
realises an activity (its ``activity_id``) stands for it: the activity is not listed while the
meeting is not cancelled, and the meeting shows the activity's goal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.pagination import Page, SortOrder, cursor_date, cursor_uuid, page_of, read_cursor
from bp_common.types import quarter_of
from meetings_api.calendar.ics import calendar_feed
from meetings_api.calendar.models import CalendarEntry, CalendarHost, EntrySource
from meetings_api.calendar.repository import CalendarRepository
from meetings_api.calendar.schemas import (
    ActivitySnapshot,
    CalendarEntryOut,
    CalendarFilters,
    MeetingSnapshot,
)


@dataclass(frozen=True)
class _Entry:
    """An entry as the latest event describes it."""

    id: uuid.UUID
    revision: int | None
    hosts: list[str]
    fields: dict[str, Any]


def period(year: int, quarter: int | None) -> tuple[date, date]:
    """The days of a quarter, or of the year without one."""
    if quarter is None:
        return date(year, 1, 1), date(year, 12, 31)
    first_month = 3 * (quarter - 1) + 1
    next_start = date(year + 1, 1, 1) if quarter == 4 else date(year, first_month + 3, 1)
    return date(year, first_month, 1), next_start - timedelta(days=1)


class CalendarService:
    def __init__(self, session: AsyncSession) -> None:
        self.entries = CalendarRepository(session)

    # -- fed by events ----------------------------------------------------------------------

    async def forget_all(self) -> None:
        """Empty the calendar, before a replay rebuilds it from the events."""
        await self.entries.delete_all()

    async def apply_activity(self, activity: ActivitySnapshot, changed_at: datetime) -> None:
        if activity.starts_on is not None:
            span = (activity.starts_on, activity.ends_on or activity.starts_on)
        else:
            span = period(activity.year, activity.quarter)
        await self._apply(
            _Entry(
                id=activity.activity_id,
                revision=activity.revision,
                hosts=sorted(set(activity.host_countries)),
                fields={
                    "source": EntrySource.ACTIVITY,
                    "title": activity.title,
                    "kind": activity.kind,
                    "status": activity.status,
                    "starts_on": activity.starts_on,
                    "ends_on": span[1] if activity.starts_on else None,
                    "year": activity.year,
                    "quarter": activity.quarter,
                    "period_start": span[0],
                    "period_end": span[1],
                    "goal": activity.goal,
                    "working_group": activity.working_group,
                    "city": None,
                    "activity_id": None,
                    "plan_id": activity.plan_id,
                },
            ),
            changed_at,
        )

    async def apply_meeting(self, meeting: MeetingSnapshot, changed_at: datetime) -> None:
        await self._apply(
            _Entry(
                id=meeting.meeting_id,
                revision=meeting.revision,
                hosts=[meeting.country],
                fields={
                    "source": EntrySource.MEETING,
                    "title": meeting.title,
                    "kind": meeting.kind,
                    "status": meeting.status,
                    "starts_on": meeting.starts_on,
                    "ends_on": meeting.ends_on,
                    "year": meeting.starts_on.year,
                    "quarter": quarter_of(meeting.starts_on),
                    "period_start": meeting.starts_on,
                    "period_end": meeting.ends_on,
                    "goal": None,
                    "working_group": meeting.working_group,
                    "city": meeting.city,
                    "activity_id": meeting.activity_id,
                    "plan_id": None,
                },
            ),
            changed_at,
        )

    async def _apply(self, new: _Entry, changed_at: datetime) -> None:
        entry = await self.entries.get(new.id)
        if entry is None:
            self.entries.add(
                CalendarEntry(
                    id=new.id,
                    **new.fields,
                    revision=new.revision or 0,
                    changed_at=changed_at,
                    hosts=[CalendarHost(country=country) for country in new.hosts],
                )
            )
            return
        if new.revision is not None and new.revision < entry.revision:
            return  # stale: a later state is applied already
        fields_changed = any(getattr(entry, name) != value for name, value in new.fields.items())
        if not fields_changed and entry.host_countries == new.hosts:
            # The same state again. It dates from the earliest event carrying it, whichever
            # partition delivers first (an activity's own event, or the endorsed plan listing
            # it): so a replay, which may apply them in the other order, rebuilds the same time.
            entry.changed_at = min(entry.changed_at, changed_at)
            return
        for name, value in new.fields.items():
            setattr(entry, name, value)
        if entry.host_countries != new.hosts:
            kept = {host.country: host for host in entry.hosts}
            entry.hosts = [kept.get(c) or CalendarHost(country=c) for c in new.hosts]
        # Without a revision from the source, count the changes.
        entry.revision = new.revision if new.revision is not None else entry.revision + 1
        entry.changed_at = changed_at

    # -- read -------------------------------------------------------------------------------

    async def list(
        self, filters: CalendarFilters, order: SortOrder, limit: int, cursor: str | None
    ) -> Page[CalendarEntryOut]:
        after = read_cursor(cursor, cursor_date, cursor_uuid)
        rows = await self.entries.list(filters, limit=limit + 1, after=after, order=order)
        return page_of(
            rows,
            limit,
            lambda row: (row[0].period_start.isoformat(), str(row[0].id)),
            lambda row: entry_out(*row),
        )

    async def feed(self, filters: CalendarFilters, base_url: str) -> bytes:
        """The whole selection as one iCalendar feed (no pages: a feed is one document)."""
        return calendar_feed(await self.entries.list(filters), base_url)


def entry_out(entry: CalendarEntry, goal: int | None) -> CalendarEntryOut:
    return CalendarEntryOut(
        id=entry.id,
        source=entry.source,
        title=entry.title,
        kind=entry.kind,
        status=entry.status,
        starts_on=entry.starts_on,
        ends_on=entry.ends_on,
        year=entry.year,
        quarter=entry.quarter,
        host_countries=entry.host_countries,
        goal=goal,
        working_group=entry.working_group,
        city=entry.city,
        activity_id=entry.activity_id,
        url=entry.path,
        sequence=entry.revision,
        changed_at=entry.changed_at,
    )
