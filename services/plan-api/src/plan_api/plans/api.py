from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from plan_api.plans.schemas import PlanCreate, PlanOut
from plan_api.plans.service import PlanService

router = APIRouter(prefix="/v1/plans", tags=["plans"])


async def _service(session: SessionDep, outbox: OutboxDep) -> PlanService:
    return PlanService(session, outbox)


ServiceDep = Annotated[PlanService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PlanOut,
    responses=refusals(
        {422: cross_field("`period_end` is before `period_start`", "goal numbers repeat")}
    ),
)
async def create_plan(body: PlanCreate, service: ServiceDep, _: SecretariatDep) -> PlanOut:
    return await service.create(body)


@router.get("", response_model=Page[PlanOut])
async def list_plans(
    service: ServiceDep,
    _: IdentityDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[PlanOut]:
    return await service.page(limit, cursor)


@router.get("/{plan_id}", response_model=PlanOut)
async def get_plan(plan_id: uuid.UUID, service: ServiceDep, _: IdentityDep) -> PlanOut:
    return await service.get(plan_id)
