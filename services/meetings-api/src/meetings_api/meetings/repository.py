from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.pagination import SortOrder, seek
from meetings_api.meetings.models import AgendaItem, Delegation, Meeting, ParticipantType
from meetings_api.meetings.schemas import Attendance, MeetingFilters


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
        after: Sequence[Any] | None = None,
        order: SortOrder = SortOrder.ASC,
    ) -> list[Meeting]:
        statement = self._filtered(select(Meeting), filters)
        statement = seek(statement, [Meeting.starts_on, Meeting.id], after, order).limit(limit)
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


class DelegationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[Delegation]:
        statement = (
            select(Delegation)
            .where(Delegation.meeting_id == meeting_id)
            .order_by(Delegation.position)
        )
        return list((await self.session.scalars(statement)).all())

    async def find(self, meeting_id: uuid.UUID, participant: str) -> Delegation | None:
        statement = select(Delegation).where(
            Delegation.meeting_id == meeting_id, Delegation.participant == participant
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def replace(self, meeting_id: uuid.UUID, delegations: list[Delegation]) -> None:
        await self.session.execute(delete(Delegation).where(Delegation.meeting_id == meeting_id))
        self.session.add_all(delegations)
        await self.session.flush()

    async def attendance(self, meeting_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Attendance]:
        """Attendance of each meeting, summed from its delegations (zero without any)."""
        totals: dict[uuid.UUID, Attendance] = defaultdict(Attendance)
        if not meeting_ids:
            return totals
        statement = (
            select(
                Delegation.meeting_id,
                Delegation.participant_type,
                func.count(),
                func.sum(Delegation.headcount),
            )
            .where(Delegation.meeting_id.in_(meeting_ids))
            .group_by(Delegation.meeting_id, Delegation.participant_type)
        )
        for meeting_id, participant_type, delegations, people in await self.session.execute(
            statement
        ):
            attendance = totals[meeting_id]
            attendance.participants += int(people)
            if participant_type is ParticipantType.STATE:
                attendance.countries = delegations
            else:
                attendance.organisations = delegations
        return totals


class AgendaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, item: AgendaItem) -> None:
        self.session.add(item)

    async def get(self, meeting_id: uuid.UUID, item_id: uuid.UUID) -> AgendaItem | None:
        statement = select(AgendaItem).where(
            AgendaItem.id == item_id, AgendaItem.meeting_id == meeting_id
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def at(self, meeting_id: uuid.UUID, day: int, position: int) -> AgendaItem | None:
        statement = select(AgendaItem).where(
            AgendaItem.meeting_id == meeting_id,
            AgendaItem.day == day,
            AgendaItem.position == position,
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[AgendaItem]:
        """The whole agenda in order (day, position)."""
        statement = (
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.day, AgendaItem.position)
        )
        return list((await self.session.scalars(statement)).all())

    async def last_day(self, meeting_id: uuid.UUID) -> int:
        statement = select(func.max(AgendaItem.day)).where(AgendaItem.meeting_id == meeting_id)
        return int(await self.session.scalar(statement) or 0)

    async def goals(self, meeting_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
        """The priority goals each meeting's agenda covers, in order."""
        covered: dict[uuid.UUID, list[int]] = defaultdict(list)
        if not meeting_ids:
            return covered
        statement = (
            select(AgendaItem.meeting_id, AgendaItem.goal)
            .where(AgendaItem.meeting_id.in_(meeting_ids), AgendaItem.goal.is_not(None))
            .distinct()
            .order_by(AgendaItem.meeting_id, AgendaItem.goal)
        )
        for meeting_id, goal in await self.session.execute(statement):
            if goal is not None:
                covered[meeting_id].append(goal)
        return covered

    async def list(
        self,
        meeting_id: uuid.UUID,
        day: int | None,
        *,
        limit: int,
        after: Sequence[Any] | None = None,
    ) -> list[AgendaItem]:
        statement = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
        if day is not None:
            statement = statement.where(AgendaItem.day == day)
        statement = seek(statement, [AgendaItem.day, AgendaItem.position], after).limit(limit)
        return list((await self.session.scalars(statement)).all())
