from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.pagination import seek
from meetings_api.organisations.models import Organisation, OrganisationType


class OrganisationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, organisation: Organisation) -> None:
        self.session.add(organisation)

    async def get(self, acronym: str, *, for_update: bool = False) -> Organisation | None:
        statement = select(Organisation).where(Organisation.acronym == acronym)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def unannounced(self) -> list[Organisation]:
        """Those never published, locked; another instance announcing at once skips them."""
        statement = (
            select(Organisation)
            .where(Organisation.announced_at.is_(None))
            .order_by(Organisation.acronym)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(statement)).all())

    async def mark_announced(self, ids: Collection[uuid.UUID], when: datetime) -> None:
        """A Core UPDATE: being announced is no change of the entry (its revision stays)."""
        await self.session.execute(
            update(Organisation).where(Organisation.id.in_(ids)).values(announced_at=when)
        )

    async def by_iati_id(self, iati_id: str) -> Organisation | None:
        statement = select(Organisation).where(Organisation.iati_id == iati_id)
        return (await self.session.scalars(statement)).one_or_none()

    async def registered(self, acronyms: Collection[str]) -> set[str]:
        """Those of ``acronyms`` that name a registered organisation."""
        if not acronyms:
            return set()
        statement = select(Organisation.acronym).where(Organisation.acronym.in_(acronyms))
        return set((await self.session.scalars(statement)).all())

    async def by_acronyms(self, acronyms: Collection[str]) -> dict[str, Organisation]:
        if not acronyms:
            return {}
        statement = select(Organisation).where(Organisation.acronym.in_(acronyms))
        return {o.acronym: o for o in (await self.session.scalars(statement)).all()}

    async def list(
        self,
        type_: OrganisationType | None,
        *,
        limit: int,
        after: Sequence[Any] | None = None,
    ) -> list[Organisation]:
        statement = select(Organisation)
        if type_ is not None:
            statement = statement.where(Organisation.type == type_)
        statement = seek(statement, [Organisation.acronym], after).limit(limit)
        return list((await self.session.scalars(statement)).all())
