from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import NotFound
from bp_common.pagination import SortOrder, seek
from bp_common.repository import Repository
from meetings_api.meetings.models import AgendaItem, Delegation, Meeting, ParticipantType
from meetings_api.meetings.schemas import Attendance, MeetingFilters


class MeetingNotFound(NotFound):
    code = "meeting_not_found"


class MeetingRepository(Repository[Meeting]):
    model = Meeting
    not_found = MeetingNotFound
    noun = "meeting"

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
    """Delegations standing (not withdrawn) unless said otherwise: the attendance, the report
    and the record's rules know only those."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_meeting(
        self, meeting_id: uuid.UUID, *, include_withdrawn: bool = False
    ) -> list[Delegation]:
        statement = select(Delegation).where(Delegation.meeting_id == meeting_id)
        if not include_withdrawn:
            statement = statement.where(Delegation.withdrawn_at.is_(None))
        statement = statement.order_by(Delegation.position, Delegation.created_at)
        return list((await self.session.scalars(statement)).all())

    async def find(
        self, meeting_id: uuid.UUID, participant: str, *, for_update: bool = False
    ) -> Delegation | None:
        """The participant's standing delegation at the meeting."""
        statement = select(Delegation).where(
            Delegation.meeting_id == meeting_id,
            Delegation.participant == participant,
            Delegation.withdrawn_at.is_(None),
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def last_withdrawn(self, meeting_id: uuid.UUID, participant: str) -> Delegation | None:
        """The participant's most recent tombstone at the meeting."""
        statement = (
            select(Delegation)
            .where(
                Delegation.meeting_id == meeting_id,
                Delegation.participant == participant,
                Delegation.withdrawn_at.is_not(None),
            )
            .order_by(Delegation.withdrawn_at.desc())
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    def add(self, delegation: Delegation) -> None:
        self.session.add(delegation)

    async def remove(self, delegations: Collection[Delegation]) -> None:
        """A planned meeting's list replaced: entries dropped from it were a draft."""
        for delegation in delegations:
            await self.session.delete(delegation)

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
            .where(Delegation.meeting_id.in_(meeting_ids), Delegation.withdrawn_at.is_(None))
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


class AgendaItemNotFound(NotFound):
    code = "agenda_item_not_found"


class AgendaRepository(Repository[AgendaItem]):
    """By id (``get``) any item, tombstones included; every other query knows only the items
    standing on the agenda, unless said otherwise."""

    model = AgendaItem
    not_found = AgendaItemNotFound
    noun = "agenda item"

    async def on_agenda(self, meeting_id: uuid.UUID, item_id: uuid.UUID) -> AgendaItem | None:
        statement = select(AgendaItem).where(
            AgendaItem.id == item_id,
            AgendaItem.meeting_id == meeting_id,
            AgendaItem.withdrawn_at.is_(None),
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def at(self, meeting_id: uuid.UUID, day: int, position: int) -> AgendaItem | None:
        statement = select(AgendaItem).where(
            AgendaItem.meeting_id == meeting_id,
            AgendaItem.day == day,
            AgendaItem.position == position,
            AgendaItem.withdrawn_at.is_(None),
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[AgendaItem]:
        """The whole agenda in order (day, position)."""
        statement = (
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting_id, AgendaItem.withdrawn_at.is_(None))
            .order_by(AgendaItem.day, AgendaItem.position)
        )
        return list((await self.session.scalars(statement)).all())

    async def last_day(self, meeting_id: uuid.UUID) -> int:
        statement = select(func.max(AgendaItem.day)).where(
            AgendaItem.meeting_id == meeting_id, AgendaItem.withdrawn_at.is_(None)
        )
        return int(await self.session.scalar(statement) or 0)

    async def goals(self, meeting_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
        """The priority goals each meeting's agenda covers, in order."""
        covered: dict[uuid.UUID, list[int]] = defaultdict(list)
        if not meeting_ids:
            return covered
        statement = (
            select(AgendaItem.meeting_id, AgendaItem.goal)
            .where(
                AgendaItem.meeting_id.in_(meeting_ids),
                AgendaItem.goal.is_not(None),
                AgendaItem.withdrawn_at.is_(None),
            )
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
        include_withdrawn: bool = False,
    ) -> list[AgendaItem]:
        statement = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
        if day is not None:
            statement = statement.where(AgendaItem.day == day)
        if not include_withdrawn:
            statement = statement.where(AgendaItem.withdrawn_at.is_(None))
        # A tombstone may share its place with the item standing there now: the id orders them.
        keys = [AgendaItem.day, AgendaItem.position, AgendaItem.id]
        statement = seek(statement, keys, after).limit(limit)
        return list((await self.session.scalars(statement)).all())
