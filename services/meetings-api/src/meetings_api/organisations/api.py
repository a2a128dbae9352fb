from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from meetings_api.organisations.models import OrganisationType
from meetings_api.organisations.schemas import OrganisationCreate, OrganisationOut
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


@router.get("/{acronym}", response_model=OrganisationOut)
async def get_organisation(
    acronym: Annotated[str, Path(max_length=20, pattern=r"^[A-Za-z0-9.&-]+$")],
    service: ServiceDep,
    _: IdentityDep,
) -> OrganisationOut:
    return OrganisationOut.model_validate(await service.get(acronym))
