from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.pagination import seek
from meetings_api.proceedings.models import Decision, DecisionKind, Intervention
from meetings_api.proceedings.schemas import InterventionFilters


class InterventionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, intervention: Intervention) -> None:
        self.session.add(intervention)

    async def with_fingerprint(
        self, meeting_id: uuid.UUID, fingerprint: str
    ) -> Intervention | None:
        statement = select(Intervention).where(
            Intervention.meeting_id == meeting_id, Intervention.fingerprint == fingerprint
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[Intervention]:
        """Every intervention of the meeting in the order it was made (recorded)."""
        statement = (
            select(Intervention)
            .where(Intervention.meeting_id == meeting_id)
            .order_by(Intervention.created_at, Intervention.id)
        )
        return list((await self.session.scalars(statement)).all())

    async def list(
        self,
        meeting_id: uuid.UUID,
        filters: InterventionFilters,
        *,
        limit: int,
        after: Sequence[Any] | None = None,
    ) -> list[Intervention]:
        statement = select(Intervention).where(Intervention.meeting_id == meeting_id)
        if filters.kind is not None:
            statement = statement.where(Intervention.kind == filters.kind)
        if filters.delegation is not None:
            statement = statement.where(Intervention.delegation == filters.delegation)
        if filters.agenda_item_id is not None:
            statement = statement.where(Intervention.agenda_item_id == filters.agenda_item_id)
        keys = [Intervention.created_at, Intervention.id]
        return list((await self.session.scalars(seek(statement, keys, after).limit(limit))).all())


class DecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, decision: Decision) -> None:
        self.session.add(decision)

    async def with_fingerprint(self, meeting_id: uuid.UUID, fingerprint: str) -> Decision | None:
        statement = select(Decision).where(
            Decision.meeting_id == meeting_id, Decision.fingerprint == fingerprint
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[Decision]:
        statement = (
            select(Decision)
            .where(Decision.meeting_id == meeting_id)
            .order_by(Decision.created_at, Decision.id)
        )
        return list((await self.session.scalars(statement)).all())

    async def list(
        self,
        meeting_id: uuid.UUID,
        kind: DecisionKind | None,
        *,
        limit: int,
        after: Sequence[Any] | None = None,
    ) -> list[Decision]:
        statement = select(Decision).where(Decision.meeting_id == meeting_id)
        if kind is not None:
            statement = statement.where(Decision.kind == kind)
        keys = [Decision.created_at, Decision.id]
        return list((await self.session.scalars(seek(statement, keys, after).limit(limit))).all())
