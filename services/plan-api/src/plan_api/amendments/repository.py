from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from bp_common.errors import NotFound
from bp_common.pagination import seek
from bp_common.repository import Repository
from plan_api.amendments.models import Amendment, AmendmentStatus
from plan_api.amendments.schemas import AmendmentFilters


class AmendmentNotFound(NotFound):
    code = "amendment_not_found"


class AmendmentRepository(Repository[Amendment]):
    model = Amendment
    not_found = AmendmentNotFound
    noun = "amendment"

    async def by_intervention(
        self, intervention_id: uuid.UUID, *, for_update: bool = False
    ) -> Amendment | None:
        """The standing amendment the intervention made."""
        statement = select(Amendment).where(
            Amendment.intervention_id == intervention_id, Amendment.withdrawn_at.is_(None)
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def by_fingerprint(self, plan_id: uuid.UUID, fingerprint: str) -> Amendment | None:
        """The standing amendment with this identity."""
        statement = select(Amendment).where(
            Amendment.plan_id == plan_id,
            Amendment.fingerprint == fingerprint,
            Amendment.withdrawn_at.is_(None),
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def last_number(self, plan_id: uuid.UUID) -> int:
        statement = select(func.coalesce(func.max(Amendment.number), 0)).where(
            Amendment.plan_id == plan_id
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def accepted_not_yet_circulated(self, plan_id: uuid.UUID) -> list[Amendment]:
        statement = (
            select(Amendment)
            .where(
                Amendment.plan_id == plan_id,
                Amendment.status == AmendmentStatus.ACCEPTED,
                Amendment.included_in_version.is_(None),
            )
            .order_by(Amendment.number)
        )
        return list((await self.session.scalars(statement)).all())

    async def page(
        self,
        plan_id: uuid.UUID,
        filters: AmendmentFilters,
        *,
        limit: int,
        after: Sequence[Any] | None,
    ) -> list[Amendment]:
        statement = select(Amendment).where(Amendment.plan_id == plan_id)
        if not filters.include_withdrawn:
            statement = statement.where(Amendment.withdrawn_at.is_(None))
        if filters.status is not None:
            statement = statement.where(Amendment.status == filters.status)
        if filters.version is not None:
            statement = statement.where(Amendment.version == filters.version)
        if filters.proposer is not None:
            statement = statement.where(Amendment.proposer == filters.proposer)
        statement = seek(statement, [Amendment.number], after).limit(limit)
        return list((await self.session.scalars(statement)).all())
