from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, select

from bp_common.errors import NotFound
from bp_common.pagination import seek
from bp_common.repository import Repository
from plan_api.hosting.models import HostingOffer, OfferStatus


class OfferNotFound(NotFound):
    code = "offer_not_found"


class OfferRepository(Repository[HostingOffer]):
    model = HostingOffer
    not_found = OfferNotFound
    noun = "hosting offer"

    async def find(self, activity_id: uuid.UUID, country: str, year: int) -> HostingOffer | None:
        """The standing offer of the country for the activity and year."""
        statement = select(HostingOffer).where(
            HostingOffer.activity_id == activity_id,
            HostingOffer.country == country,
            HostingOffer.year == year,
            HostingOffer.withdrawn_at.is_(None),
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def by_intervention(
        self, intervention_id: uuid.UUID, *, for_update: bool = False
    ) -> HostingOffer | None:
        """The standing offer the intervention made."""
        statement = select(HostingOffer).where(
            HostingOffer.intervention_id == intervention_id, HostingOffer.withdrawn_at.is_(None)
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def any_pending(self, activity_id: uuid.UUID) -> bool:
        statement = select(
            exists().where(
                HostingOffer.activity_id == activity_id,
                HostingOffer.status == OfferStatus.OFFERED,
                HostingOffer.withdrawn_at.is_(None),
            )
        )
        return bool((await self.session.execute(statement)).scalar())

    async def page(
        self,
        activity_id: uuid.UUID,
        *,
        limit: int,
        after: Sequence[Any] | None,
        include_withdrawn: bool = False,
    ) -> list[HostingOffer]:
        statement = select(HostingOffer).where(HostingOffer.activity_id == activity_id)
        if not include_withdrawn:
            statement = statement.where(HostingOffer.withdrawn_at.is_(None))
        # A country's withdrawn offers and its standing one share (year, country): the id orders
        # them.
        keys = [HostingOffer.year, HostingOffer.country, HostingOffer.id]
        statement = seek(statement, keys, after).limit(limit)
        return list((await self.session.scalars(statement)).all())
