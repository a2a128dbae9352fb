from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep, WriterDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from plan_api.access import ensure_speaks_for
from plan_api.hosting.schemas import OfferCreate, OfferOut
from plan_api.hosting.service import HostingService

router = APIRouter(tags=["hosting offers"])


async def _service(session: SessionDep, outbox: OutboxDep) -> HostingService:
    return HostingService(session, outbox)


ServiceDep = Annotated[HostingService, Depends(_service)]


@router.post(
    "/v1/activities/{activity_id}/hosting-offers",
    status_code=status.HTTP_201_CREATED,
    response_model=OfferOut,
    responses=refusals(
        {
            409: {
                "duplicate_offer": "the country has already offered to host it that year.",
                "activity_closed": "a held or cancelled activity takes no offer.",
            }
        }
    ),
)
async def offer_to_host(
    activity_id: uuid.UUID, body: OfferCreate, service: ServiceDep, identity: WriterDep
) -> OfferOut:
    ensure_speaks_for(identity, body.country)
    return OfferOut.model_validate(await service.offer(activity_id, body))


@router.get("/v1/activities/{activity_id}/hosting-offers", response_model=Page[OfferOut])
async def list_offers(
    activity_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[OfferOut]:
    return await service.page(activity_id, limit, cursor)


@router.get("/v1/hosting-offers/{offer_id}", response_model=OfferOut)
async def get_offer(offer_id: uuid.UUID, service: ServiceDep, _: IdentityDep) -> OfferOut:
    return OfferOut.model_validate(await service.get(offer_id))


@router.post(
    "/v1/hosting-offers/{offer_id}/accept",
    response_model=OfferOut,
    responses=refusals(
        {409: {"offer_already_decided": "the offer was already accepted or declined."}}
    ),
)
async def accept_offer(offer_id: uuid.UUID, service: ServiceDep, _: SecretariatDep) -> OfferOut:
    return OfferOut.model_validate(await service.accept(offer_id))


@router.post(
    "/v1/hosting-offers/{offer_id}/decline",
    response_model=OfferOut,
    responses=refusals(
        {409: {"offer_already_decided": "the offer was already accepted or declined."}}
    ),
)
async def decline_offer(offer_id: uuid.UUID, service: ServiceDep, _: SecretariatDep) -> OfferOut:
    return OfferOut.model_validate(await service.decline(offer_id))
