from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from bp_common.pagination import SortOrder, seek
from indicators_api.framework.models import FrameworkSnapshot, Indicator, Source
from indicators_api.framework.schemas import IndicatorFilters


class IndicatorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, indicator: Indicator) -> bool:
        """False if the code is taken (also when a concurrent request took it first)."""
        if await self.session.scalar(select(exists().where(Indicator.code == indicator.code))):
            return False
        self.session.add(indicator)
        try:
            await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def get(self, code: str, *, for_update: bool = False) -> Indicator | None:
        statement = select(Indicator).where(Indicator.code == code)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def by_codes(self, codes: Collection[str]) -> dict[str, Indicator]:
        if not codes:
            return {}
        statement = select(Indicator).where(Indicator.code.in_(codes))
        return {i.code: i for i in (await self.session.scalars(statement)).all()}

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Indicator)) or 0)

    async def event_fed(self) -> list[Indicator]:
        statement = select(Indicator).where(Indicator.source != Source.REPORTED)
        return list((await self.session.scalars(statement.order_by(Indicator.code))).all())

    async def with_source(self, source: Source) -> list[Indicator]:
        statement = select(Indicator).where(Indicator.source == source).order_by(Indicator.code)
        return list((await self.session.scalars(statement)).all())

    async def list(
        self,
        filters: IndicatorFilters,
        *,
        limit: int | None = None,
        after: Sequence[Any] | None = None,
    ) -> list[Indicator]:
        statement = select(Indicator)
        if filters.goal is not None:
            statement = statement.where(Indicator.goal == filters.goal)
        if filters.level is not None:
            statement = statement.where(Indicator.level == filters.level)
        if filters.source is not None:
            statement = statement.where(Indicator.source == filters.source)
        statement = seek(statement, [Indicator.code], after).limit(limit)
        return list((await self.session.scalars(statement)).all())


class SnapshotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, values: dict[str, Any]) -> bool:
        """False if this plan version already has its snapshot (a replayed endorsement)."""
        statement = (
            dialect_insert(self.session, FrameworkSnapshot.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["plan_id", "version"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def latest(self) -> FrameworkSnapshot | None:
        statement = (
            select(FrameworkSnapshot)
            .order_by(FrameworkSnapshot.endorsed_at.desc(), FrameworkSnapshot.version.desc())
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def list(
        self, *, limit: int, before: Sequence[Any] | None = None
    ) -> list[FrameworkSnapshot]:
        """Newest first."""
        keys = [FrameworkSnapshot.endorsed_at, FrameworkSnapshot.id]
        statement = seek(select(FrameworkSnapshot), keys, before, SortOrder.DESC).limit(limit)
        return list((await self.session.scalars(statement)).all())
