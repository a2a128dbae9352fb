from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from meetings_api.meetings.models import Meeting
from meetings_api.meetings.schemas import MeetingFilters


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, meeting: Meeting) -> None:
        self.session.add(meeting)

    async def get(self, meeting_id: uuid.UUID, *, for_update: bool = False) -> Meeting | None:
        statement = select(Meeting).where(Meeting.id == meeting_id)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def list(
        self,
        filters: MeetingFilters,
        *,
        limit: int,
        after: tuple[date, uuid.UUID] | None = None,
    ) -> list[Meeting]:
        statement = self._filtered(select(Meeting), filters)
        if after is not None:
            statement = statement.where(tuple_(Meeting.starts_on, Meeting.id) > after)
        statement = statement.order_by(Meeting.starts_on, Meeting.id).limit(limit)
        return list((await self.session.scalars(statement)).all())

    @staticmethod
    def _filtered(statement: Select[Any], filters: MeetingFilters) -> Select[Any]:
        if filters.from_ is not None:
            statement = statement.where(Meeting.ends_on >= filters.from_)
        if filters.to is not None:
            statement = statement.where(Meeting.starts_on <= filters.to)
        if filters.kind is not None:
            statement = statement.where(Meeting.kind == filters.kind)
        if filters.country is not None:
            statement = statement.where(Meeting.country == filters.country)
        if filters.status is not None:
            statement = statement.where(Meeting.status == filters.status)
        return statement
