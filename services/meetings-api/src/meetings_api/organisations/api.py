from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from meetings_api.organisations.models import OrganisationType
from meetings_api.organisations.schemas import (
    OrganisationCreate,
    OrganisationOut,
    OrganisationUpdate,
)
from meetings_api.organisations.service import OrganisationService

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


async def _service(session: SessionDep, outbox: OutboxDep) -> OrganisationService:
    return OrganisationService(session, outbox)


ServiceDep = Annotated[OrganisationService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganisationOut,
    responses=refusals(
        {
            422: {
                "acronym_is_country_code": "the acronym is a country code (it would hide a state)."
            },
            409: {"organisation_exists": "an organisation has this acronym."},
        }
    ),
)
async def register_organisation(
    body: OrganisationCreate, service: ServiceDep, _: SecretariatDep
) -> OrganisationOut:
    return OrganisationOut.model_validate(await service.register(body))


@router.get("", response_model=Page[OrganisationOut])
async def list_organisations(
    service: ServiceDep,
    _: IdentityDep,
    type_: Annotated[OrganisationType | None, Query(alias="type")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[OrganisationOut]:
    return await service.list(type_, limit, cursor)


AcronymPath = Annotated[str, Path(max_length=20, pattern=r"^[A-Za-z0-9.&-]+$")]


@router.get("/{acronym}", response_model=OrganisationOut)
async def get_organisation(
    acronym: AcronymPath, service: ServiceDep, _: IdentityDep, response: Response
) -> OrganisationOut:
    organisation = await service.get(acronym)
    return answer_with_etag(response, organisation, OrganisationOut)


@router.patch(
    "/{acronym}",
    response_model=OrganisationOut,
    responses=refusals(
        {
            409: {"iati_id_taken": "another organisation has this IATI identifier."},
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def update_organisation(
    acronym: AcronymPath,
    body: OrganisationUpdate,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> OrganisationOut:
    """Correct an organisation's name, type or IATI identifier (the acronym stays: it names the
    organisation in delegations, keys and results). Published as
    `meetings.organisation.updated.v1`: indicators-api's IATI import and export follow."""
    organisation = await service.update(acronym, body, precondition)
    return answer_with_etag(response, organisation, OrganisationOut)
