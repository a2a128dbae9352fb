from __future__ import annotations

import uuid

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.repository import Repository
from meetings_api.plan_facts.models import EndorsedPlanVersion, KnownHostingOffer


class KnownOfferRepository(Repository[KnownHostingOffer]):
    model = KnownHostingOffer
    noun = "hosting offer"

    async def accepted_for(
        self, intervention_id: uuid.UUID, activity_id: uuid.UUID | None, country: str
    ) -> KnownHostingOffer | None:
        """The accepted offer that came from the intervention: named by it, or, for an offer
        plan-api did not link to its intervention, the same activity offered by the same state."""
        unlinked = (
            KnownHostingOffer.intervention_id.is_(None)
            & (KnownHostingOffer.activity_id == activity_id)
            & (KnownHostingOffer.country == country)
        )
        statement = (
            select(KnownHostingOffer)
            .where(
                KnownHostingOffer.accepted,
                KnownHostingOffer.withdrawn.is_(False),
                or_(KnownHostingOffer.intervention_id == intervention_id, unlinked),
            )
            .order_by(KnownHostingOffer.id)
            .limit(1)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def delete_all(self) -> None:
        await self.session.execute(delete(KnownHostingOffer))


class EndorsedVersionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def is_endorsed(self, plan_id: uuid.UUID, version: int) -> bool:
        found = await self.session.get(EndorsedPlanVersion, (plan_id, version))
        return found is not None

    def add(self, endorsed: EndorsedPlanVersion) -> None:
        self.session.add(endorsed)

    async def delete_all(self) -> None:
        await self.session.execute(delete(EndorsedPlanVersion))
