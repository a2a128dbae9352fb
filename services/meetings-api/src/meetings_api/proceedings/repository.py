from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from bp_common.errors import NotFound
from bp_common.pagination import seek
from bp_common.repository import Repository
from meetings_api.proceedings.models import Decision, DecisionKind, Intervention
from meetings_api.proceedings.schemas import InterventionFilters


class InterventionNotFound(NotFound):
    code = "intervention_not_found"


class DecisionNotFound(NotFound):
    code = "decision_not_found"


class InterventionRepository(Repository[Intervention]):
    """By id (``get``) any intervention, tombstones included; the other queries know only the
    interventions standing, unless said otherwise."""

    model = Intervention
    not_found = InterventionNotFound
    noun = "intervention"

    async def with_fingerprint(
        self, meeting_id: uuid.UUID, fingerprint: str, *, other_than: uuid.UUID | None = None
    ) -> Intervention | None:
        statement = select(Intervention).where(
            Intervention.meeting_id == meeting_id,
            Intervention.fingerprint == fingerprint,
            Intervention.withdrawn_at.is_(None),
        )
        if other_than is not None:
            statement = statement.where(Intervention.id != other_than)
        return (await self.session.scalars(statement)).one_or_none()

    async def by_delegation(self, meeting_id: uuid.UUID, delegation: str) -> list[Intervention]:
        statement = select(Intervention).where(
            Intervention.meeting_id == meeting_id,
            Intervention.delegation == delegation,
            Intervention.withdrawn_at.is_(None),
        )
        return list((await self.session.scalars(statement)).all())

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[Intervention]:
        """Every intervention standing in the order it was made (recorded)."""
        statement = (
            select(Intervention)
            .where(Intervention.meeting_id == meeting_id, Intervention.withdrawn_at.is_(None))
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
        include_withdrawn: bool = False,
    ) -> list[Intervention]:
        statement = select(Intervention).where(Intervention.meeting_id == meeting_id)
        if not include_withdrawn:
            statement = statement.where(Intervention.withdrawn_at.is_(None))
        if filters.kind is not None:
            statement = statement.where(Intervention.kind == filters.kind)
        if filters.delegation is not None:
            statement = statement.where(Intervention.delegation == filters.delegation)
        if filters.agenda_item_id is not None:
            statement = statement.where(Intervention.agenda_item_id == filters.agenda_item_id)
        keys = [Intervention.created_at, Intervention.id]
        return list((await self.session.scalars(seek(statement, keys, after).limit(limit))).all())


class DecisionRepository(Repository[Decision]):
    """By id (``get``) any decision, tombstones included; the other queries know only the
    decisions standing, unless said otherwise."""

    model = Decision
    not_found = DecisionNotFound
    noun = "decision"

    async def with_fingerprint(
        self, meeting_id: uuid.UUID, fingerprint: str, *, other_than: uuid.UUID | None = None
    ) -> Decision | None:
        statement = select(Decision).where(
            Decision.meeting_id == meeting_id,
            Decision.fingerprint == fingerprint,
            Decision.withdrawn_at.is_(None),
        )
        if other_than is not None:
            statement = statement.where(Decision.id != other_than)
        return (await self.session.scalars(statement)).one_or_none()

    async def of_meeting(self, meeting_id: uuid.UUID) -> list[Decision]:
        statement = (
            select(Decision)
            .where(Decision.meeting_id == meeting_id, Decision.withdrawn_at.is_(None))
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
        include_withdrawn: bool = False,
    ) -> list[Decision]:
        statement = select(Decision).where(Decision.meeting_id == meeting_id)
        if not include_withdrawn:
            statement = statement.where(Decision.withdrawn_at.is_(None))
        if kind is not None:
            statement = statement.where(Decision.kind == kind)
        keys = [Decision.created_at, Decision.id]
        return list((await self.session.scalars(seek(statement, keys, after).limit(limit))).all())
