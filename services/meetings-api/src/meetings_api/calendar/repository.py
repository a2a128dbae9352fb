from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload, selectinload

from bp_common.pagination import SortOrder, seek
from meetings_api.calendar.models import CalendarEntry, CalendarHost, EntrySource
from meetings_api.calendar.schemas import CalendarFilters

# A meeting that is not cancelled stands for the activity it realises.
_CANCELLED = "cancelled"

_realised = aliased(CalendarEntry, name="realised_activity")
_realising = aliased(CalendarEntry, name="realising_meeting")
# A meeting shows the goal of the activity it realises.
shown_goal: ColumnElement[int | None] = func.coalesce(CalendarEntry.goal, _realised.goal)


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, entry: CalendarEntry) -> None:
        self.session.add(entry)

    async def delete_all(self) -> None:
        await self.session.execute(delete(CalendarHost))
        await self.session.execute(delete(CalendarEntry))

    async def get(self, entry_id: uuid.UUID) -> CalendarEntry | None:
        # One entry with its hosts in one statement (a join), not two: this read is on the path
        # of every event the calendar applies, where each round trip adds to the propagation.
        statement = (
            select(CalendarEntry)
            .where(CalendarEntry.id == entry_id)
            .options(joinedload(CalendarEntry.hosts))
        )
        return (await self.session.scalars(statement)).unique().one_or_none()

    async def list(
        self,
        filters: CalendarFilters,
        *,
        limit: int | None = None,
        after: Sequence[Any] | None = None,
        order: SortOrder = SortOrder.ASC,
    ) -> list[tuple[CalendarEntry, int | None]]:
        """Entries shown, each with the goal shown for it."""
        keys = [CalendarEntry.period_start, CalendarEntry.id]
        statement = seek(self._shown(filters), keys, after, order)
        if limit is not None:
            statement = statement.limit(limit)
        return [(entry, goal) for entry, goal in await self.session.execute(statement)]

    @staticmethod
    def _shown(filters: CalendarFilters) -> Select[CalendarEntry, int | None]:
        realised_by_a_meeting = exists().where(
            _realising.source == EntrySource.MEETING,
            _realising.activity_id == CalendarEntry.id,
            _realising.status != _CANCELLED,
        )
        statement = (
            select(CalendarEntry, shown_goal)
            .outerjoin(
                _realised,
                and_(
                    _realised.id == CalendarEntry.activity_id,
                    _realised.source == EntrySource.ACTIVITY,
                ),
            )
            .where(~realised_by_a_meeting)
            .options(selectinload(CalendarEntry.hosts))
        )
        # `from`/`to` select by overlap, so an activity placed only in a year or a quarter is
        # listed for any period that meets it.
        if filters.from_ is not None:
            statement = statement.where(CalendarEntry.period_end >= filters.from_)
        if filters.to is not None:
            statement = statement.where(CalendarEntry.period_start <= filters.to)
        if filters.country is not None:
            statement = statement.where(
                exists().where(
                    CalendarHost.entry_id == CalendarEntry.id,
                    CalendarHost.country == filters.country,
                )
            )
        if filters.goal is not None:
            statement = statement.where(shown_goal == filters.goal)
        if filters.working_group is not None:
            statement = statement.where(
                func.lower(CalendarEntry.working_group) == filters.working_group.lower()
            )
        if filters.kind is not None:
            statement = statement.where(CalendarEntry.kind == filters.kind)
        if filters.source is not None:
            statement = statement.where(CalendarEntry.source == filters.source)
        if filters.status is not None:
            statement = statement.where(CalendarEntry.status == filters.status)
        return statement
