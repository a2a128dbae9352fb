"""Keeps what plan-api made final (from its events, each applied idempotently and in any
order: a flag once set stays set) and refuses to take back the records it rests on."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict
from meetings_api.plan_facts.models import EndorsedPlanVersion, KnownHostingOffer
from meetings_api.plan_facts.repository import EndorsedVersionRepository, KnownOfferRepository
from meetings_api.plan_facts.schemas import (
    ActivityHostedNews,
    EndorsementNews,
    OfferNews,
    OfferWithdrawnNews,
)


class HostingOfferAccepted(Conflict):
    code = "hosting_offer_accepted"


class PlanVersionEndorsed(Conflict):
    code = "plan_version_endorsed"


class PlanFactsService:
    def __init__(self, session: AsyncSession) -> None:
        self.offers = KnownOfferRepository(session)
        self.endorsed = EndorsedVersionRepository(session)

    # -- the news -----------------------------------------------------------------------------

    async def offered(self, news: OfferNews) -> None:
        offer = await self._offer(news.offer_id)
        offer.intervention_id = offer.intervention_id or news.intervention_id
        offer.activity_id = news.activity_id
        offer.country = news.country
        offer.accepted = offer.accepted or news.status == "accepted"

    async def hosted(self, news: ActivityHostedNews) -> None:
        assert news.offer_id is not None  # concerns() lets only those through
        offer = await self._offer(news.offer_id)
        offer.activity_id = offer.activity_id or news.activity_id
        offer.country = offer.country or news.country
        offer.intervention_id = offer.intervention_id or news.intervention_id
        offer.accepted = True

    async def offer_withdrawn(self, news: OfferWithdrawnNews) -> None:
        (await self._offer(news.offer_id)).withdrawn = True

    async def version_endorsed(self, news: EndorsementNews) -> None:
        if not await self.endorsed.is_endorsed(news.plan_id, news.version):
            self.endorsed.add(EndorsedPlanVersion(plan_id=news.plan_id, version=news.version))

    async def forget_all(self) -> None:
        """Before a replay rebuilds this from plan-api's events."""
        await self.offers.delete_all()
        await self.endorsed.delete_all()

    async def _offer(self, offer_id: uuid.UUID) -> KnownHostingOffer:
        offer = await self.offers.get(offer_id)
        if offer is None:
            offer = KnownHostingOffer(id=offer_id, accepted=False, withdrawn=False)
            self.offers.add(offer)
        return offer

    # -- the refusals -------------------------------------------------------------------------

    async def refuse_if_offer_accepted(
        self, intervention_id: uuid.UUID, activity_id: uuid.UUID | None, country: str, action: str
    ) -> None:
        offer = await self.offers.accepted_for(intervention_id, activity_id, country)
        if offer is not None:
            raise HostingOfferAccepted(
                f"The hosting offer {offer.id} this intervention made was accepted in the plan: "
                f"the intervention cannot be {action}. Nothing was changed."
            )

    async def refuse_if_endorsed(
        self, plan_id: uuid.UUID | None, version: int | None, action: str
    ) -> None:
        if plan_id is None or version is None:
            return
        if await self.endorsed.is_endorsed(plan_id, version):
            raise PlanVersionEndorsed(
                f"Version {version} of plan {plan_id} is endorsed, and an endorsed version "
                f"never changes: the decision that endorsed it cannot be {action}. "
                "Nothing was changed."
            )
