from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from plan_api.fields import VersionNumber
from plan_api.versions.schemas import EndorseIn, VersionDiff, VersionOut, VersionSummary
from plan_api.versions.service import VersionService, version_out

router = APIRouter(prefix="/v1/plans/{plan_id}/versions", tags=["versions"])


async def _service(session: SessionDep, outbox: OutboxDep) -> VersionService:
    return VersionService(session, outbox)


ServiceDep = Annotated[VersionService, Depends(_service)]
NumberPath = Annotated[VersionNumber, Path(description="The version number.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=refusals({409: {"version_conflict": "another version was circulated meanwhile."}}),
)
async def circulate_version(
    plan_id: uuid.UUID, service: ServiceDep, _: SecretariatDep
) -> VersionOut:
    """Circulate the plan's current content as the next version."""
    return version_out(await service.circulate(plan_id))


@router.get("", response_model=Page[VersionSummary])
async def list_versions(
    plan_id: uuid.UUID,
    service: ServiceDep,
    _: IdentityDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[VersionSummary]:
    return await service.page(plan_id, limit, cursor)


@router.get("/{number}", response_model=VersionOut)
async def get_version(
    plan_id: uuid.UUID, number: NumberPath, service: ServiceDep, _: IdentityDep
) -> VersionOut:
    return version_out(await service.get(plan_id, number))


@router.get(
    "/{number}/diff",
    response_model=VersionDiff,
    responses=refusals(
        {422: {"diff_base_required": "version 1 has no previous version: give `against`."}}
    ),
)
async def diff_versions(
    plan_id: uuid.UUID,
    number: NumberPath,
    service: ServiceDep,
    _: IdentityDep,
    against: Annotated[
        VersionNumber | None, Query(description="The base version; the previous one if omitted.")
    ] = None,
) -> VersionDiff:
    return await service.diff(plan_id, number, against)


@router.post(
    "/{number}/endorse",
    response_model=VersionOut,
    responses=refusals(
        {
            409: {
                "version_already_endorsed": "the plan has an endorsed version already.",
                "version_superseded": "a later version was circulated.",
            }
        }
    ),
)
async def endorse_version(
    plan_id: uuid.UUID,
    number: NumberPath,
    service: ServiceDep,
    _: SecretariatDep,
    body: EndorseIn | None = None,
) -> VersionOut:
    meeting_id = body.meeting_id if body else None
    return version_out(await service.endorse(plan_id, number, meeting_id))
