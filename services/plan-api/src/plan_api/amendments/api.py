from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep, WriterDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from bp_common.withdrawals import IncludeWithdrawn, WithdrawalRequest
from plan_api.access import ensure_speaks_for
from plan_api.amendments.models import AmendmentStatus
from plan_api.amendments.schemas import AmendmentCreate, AmendmentFilters, AmendmentOut
from plan_api.amendments.service import AmendmentService
from plan_api.fields import Proposer, VersionNumber

router = APIRouter(tags=["amendments"])


async def _service(session: SessionDep, outbox: OutboxDep) -> AmendmentService:
    return AmendmentService(session, outbox)


ServiceDep = Annotated[AmendmentService, Depends(_service)]


@router.post(
    "/v1/plans/{plan_id}/amendments",
    status_code=status.HTTP_201_CREATED,
    response_model=AmendmentOut,
    responses=refusals(
        {
            422: {
                "unknown_version": "the plan has no such version.",
                "unknown_amendment_target": "the plan has no such goal or item.",
                "amendment_not_applicable": "the action does not apply to the target.",
            },
            409: {
                "version_endorsed": "an endorsed version is not amended.",
                "no_circulated_version": "the plan has no circulated version yet.",
                "duplicate_amendment": "the proposer has already proposed it.",
            },
        }
    ),
)
async def propose_amendment(
    plan_id: uuid.UUID,
    body: AmendmentCreate,
    service: ServiceDep,
    identity: WriterDep,
    response: Response,
) -> AmendmentOut:
    ensure_speaks_for(identity, body.proposer)
    return answer_with_etag(response, await service.propose(plan_id, body), AmendmentOut)


@router.get("/v1/plans/{plan_id}/amendments", response_model=Page[AmendmentOut])
async def list_amendments(
    plan_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    status_: Annotated[AmendmentStatus | None, Query(alias="status")] = None,
    version: VersionNumber | None = None,
    proposer: Proposer | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    include_withdrawn: IncludeWithdrawn = False,
) -> Page[AmendmentOut]:
    filters = AmendmentFilters(
        status=status_, version=version, proposer=proposer, include_withdrawn=include_withdrawn
    )
    return await service.page(plan_id, filters, limit, cursor)


@router.get("/v1/amendments/{amendment_id}", response_model=AmendmentOut)
async def get_amendment(
    amendment_id: uuid.UUID, service: ServiceDep, _: IdentityDep, response: Response
) -> AmendmentOut:
    """A withdrawn amendment is still read here, with who withdrew it, when and why."""
    return answer_with_etag(response, await service.get(amendment_id), AmendmentOut)


@router.post(
    "/v1/amendments/{amendment_id}/accept",
    response_model=AmendmentOut,
    responses=refusals(
        {
            409: {
                "amendment_already_decided": "the amendment was already decided.",
                "amendment_target_gone": "its target no longer exists.",
                "goal_has_activities": "a goal with activities is not deleted.",
                "already_withdrawn": "the amendment was withdrawn.",
            }
        }
    ),
)
async def accept_amendment(
    amendment_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> AmendmentOut:
    return answer_with_etag(response, await service.accept(amendment_id), AmendmentOut)


@router.post(
    "/v1/amendments/{amendment_id}/reject",
    response_model=AmendmentOut,
    responses=refusals(
        {
            409: {
                "amendment_already_decided": "the amendment was already decided.",
                "already_withdrawn": "the amendment was withdrawn.",
            }
        }
    ),
)
async def reject_amendment(
    amendment_id: uuid.UUID, service: ServiceDep, _: SecretariatDep, response: Response
) -> AmendmentOut:
    return answer_with_etag(response, await service.reject(amendment_id), AmendmentOut)


@router.post(
    "/v1/amendments/{amendment_id}/withdraw",
    response_model=AmendmentOut,
    responses=refusals(
        {
            403: {"not_the_proposer": "the key does not speak for the amendment's proposer."},
            409: {
                "amendment_already_decided": "a decided amendment is not withdrawn.",
                "already_withdrawn": "the amendment was withdrawn already.",
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def withdraw_amendment(
    amendment_id: uuid.UUID,
    body: WithdrawalRequest,
    service: ServiceDep,
    identity: WriterDep,
    precondition: IfMatchRequired,
    response: Response,
) -> AmendmentOut:
    """The proposer (a member key of the proposing state, the partner key of the proposing
    organisation) or the Secretariat takes back an amendment not yet decided; it stays readable
    as a tombstone and is never decided. Emits `plan.amendment.withdrawn.v1`."""
    amendment = await service.withdraw(amendment_id, precondition, identity, body.reason)
    return answer_with_etag(response, amendment, AmendmentOut)
