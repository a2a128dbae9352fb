from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.pagination import seek
from plan_api.versions.models import PlanVersion, VersionStatus


@dataclass(frozen=True)
class VersionHeader:
    plan_id: uuid.UUID
    number: int
    status: VersionStatus
    endorsed_by_meeting_id: uuid.UUID | None
    endorsed_at: datetime | None


class VersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, version: PlanVersion) -> None:
        self.session.add(version)

    async def get(
        self, plan_id: uuid.UUID, number: int, *, for_update: bool = False
    ) -> PlanVersion | None:
        statement = select(PlanVersion).where(
            PlanVersion.plan_id == plan_id, PlanVersion.number == number
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def page(
        self, plan_id: uuid.UUID, *, limit: int, after: Sequence[Any] | None
    ) -> list[PlanVersion]:
        statement = select(PlanVersion).where(PlanVersion.plan_id == plan_id)
        statement = seek(statement, [PlanVersion.number], after).limit(limit)
        return list((await self.session.scalars(statement)).all())

    async def last_number(self, plan_id: uuid.UUID) -> int:
        statement = select(func.coalesce(func.max(PlanVersion.number), 0)).where(
            PlanVersion.plan_id == plan_id
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def latest(self, plan_id: uuid.UUID) -> PlanVersion | None:
        statement = (
            select(PlanVersion)
            .where(PlanVersion.plan_id == plan_id)
            .order_by(PlanVersion.number.desc())
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def latest_circulated(self, plan_id: uuid.UUID) -> PlanVersion | None:
        statement = (
            select(PlanVersion)
            .where(PlanVersion.plan_id == plan_id, PlanVersion.status == VersionStatus.CIRCULATED)
            .order_by(PlanVersion.number.desc())
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def first_endorsed(self, plan_id: uuid.UUID) -> int | None:
        """The number of the plan's first version ever endorsed (superseded since or not)."""
        statement = select(func.min(PlanVersion.number)).where(
            PlanVersion.plan_id == plan_id, PlanVersion.endorsed_at.is_not(None)
        )
        number = (await self.session.execute(statement)).scalar_one()
        return None if number is None else int(number)

    async def endorsed_by_decision(self, decision_id: uuid.UUID) -> PlanVersion | None:
        statement = select(PlanVersion).where(PlanVersion.endorsed_by_decision_id == decision_id)
        return (await self.session.scalars(statement.limit(1))).one_or_none()

    async def headers(self, plan_ids: Sequence[uuid.UUID]) -> list[VersionHeader]:
        """Number, status and endorsement of every version of these plans, without the content."""
        statement = select(
            PlanVersion.plan_id,
            PlanVersion.number,
            PlanVersion.status,
            PlanVersion.endorsed_by_meeting_id,
            PlanVersion.endorsed_at,
        ).where(PlanVersion.plan_id.in_(plan_ids))
        return [VersionHeader(*row) for row in (await self.session.execute(statement)).all()]

    async def supersede_before(
        self, plan_id: uuid.UUID, number: int, statuses: Sequence[VersionStatus]
    ) -> None:
        await self.session.execute(
            update(PlanVersion)
            .where(
                PlanVersion.plan_id == plan_id,
                PlanVersion.number < number,
                PlanVersion.status.in_(statuses),
            )
            .values(status=VersionStatus.SUPERSEDED)
        )
