"""plan-api's news of what it made final, each applied in its inbox transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import Consumer, consumes
from bp_common.events.envelope import CloudEvent
from meetings_api.plan_facts.schemas import (
    ActivityHostedNews,
    EndorsementNews,
    OfferNews,
    OfferWithdrawnNews,
)
from meetings_api.plan_facts.service import PlanFactsService


async def on_offered(session: AsyncSession, news: OfferNews, event: CloudEvent) -> None:
    await PlanFactsService(session).offered(news)


async def on_hosted(session: AsyncSession, news: ActivityHostedNews, event: CloudEvent) -> None:
    await PlanFactsService(session).hosted(news)


async def on_offer_withdrawn(
    session: AsyncSession, news: OfferWithdrawnNews, event: CloudEvent
) -> None:
    await PlanFactsService(session).offer_withdrawn(news)


async def on_endorsed(session: AsyncSession, news: EndorsementNews, event: CloudEvent) -> None:
    await PlanFactsService(session).version_endorsed(news)


async def reset_read_models(session: AsyncSession) -> None:
    await PlanFactsService(session).forget_all()


HANDLERS: dict[str, Consumer] = {
    "plan.hosting.offered.v1": consumes(OfferNews, on_offered),
    "plan.activity.hosted.v1": consumes(ActivityHostedNews, on_hosted),
    "plan.hosting.withdrawn.v1": consumes(OfferWithdrawnNews, on_offer_withdrawn),
    "plan.endorsed.v1": consumes(EndorsementNews, on_endorsed),
}
