from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep, WriterDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from bp_common.withdrawals import IncludeWithdrawn, WithdrawalRequest
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
    activity_id: uuid.UUID,
    body: OfferCreate,
    service: ServiceDep,
    identity: WriterDep,
    response: Response,
) -> OfferOut:
    ensure_speaks_for(identity, body.country)
    return answer_with_etag(response, await service.offer(activity_id, body), OfferOut)


@router.get("/v1/activities/{activity_id}/hosting-offers", response_model=Page[OfferOut])
async def list_offers(
    activity_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    include_withdrawn: IncludeWithdrawn = False,
) -> Page[OfferOut]:
    return await service.page(activity_id, limit, cursor, include_withdrawn=include_withdrawn)


@router.get("/v1/hosting-offers/{offer_id}", response_model=OfferOut)
async def get_offer(
    offer_id: uuid.UUID, service: ServiceDep, _: IdentityDep, response: Response
) -> OfferOut:
    """A withdrawn offer is still read here, with who withdrew it, when and why."""
    return answer_with_etag(response, await service.get(offer_id), OfferOut)


@router.post(
    "/v1/hosting-offers/{offer_id}/accept",
    response_model=OfferOut,
    responses=refusals(
        {
            409: {
                "offer_already_decided": "the offer was already accepted or declined.",
                "already_withdrawn": "the offer was withdrawn.",
            }
        }
    ),
)
async def accept_offer(
    offer_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> OfferOut:
    return answer_with_etag(response, await service.accept(offer_id), OfferOut)


@router.post(
    "/v1/hosting-offers/{offer_id}/decline",
    response_model=OfferOut,
    responses=refusals(
        {
            409: {
                "offer_already_decided": "the offer was already accepted or declined.",
                "already_withdrawn": "the offer was withdrawn.",
            }
        }
    ),
)
async def decline_offer(
    offer_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> OfferOut:
    return answer_with_etag(response, await service.decline(offer_id), OfferOut)


@router.post(
    "/v1/hosting-offers/{offer_id}/withdraw",
    response_model=OfferOut,
    responses=refusals(
        {
            409: {
                "offer_accepted": "an accepted offer is final: the activity is hosted.",
                "already_withdrawn": "the offer was withdrawn already.",
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def withdraw_offer(
    offer_id: uuid.UUID,
    body: WithdrawalRequest,
    service: ServiceDep,
    identity: WriterDep,
    precondition: IfMatchRequired,
    response: Response,
) -> OfferOut:
    """The offering state (a member key of that country) or the Secretariat takes an offer back
    before it is accepted; it stays readable as a tombstone. Emits `plan.hosting.withdrawn.v1`."""
    offer = await service.withdraw(offer_id, precondition, identity, body.reason)
    return answer_with_etag(response, offer, OfferOut)
