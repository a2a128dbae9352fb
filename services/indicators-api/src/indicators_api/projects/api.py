from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.types import Acronym, CountryCode, GoalNumber
from indicators_api.projects.schemas import ProjectCreate, ProjectFilters, ProjectOut
from indicators_api.projects.service import ProjectService

router = APIRouter(prefix="/v1/projects", tags=["projects"])


async def _service(session: SessionDep, outbox: OutboxDep) -> ProjectService:
    return ProjectService(session, outbox)


ServiceDep = Annotated[ProjectService, Depends(_service)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectOut,
    responses=refusals(
        {
            422: cross_field(
                "`ends_on` is before `starts_on`",
                "component codes repeat",
                "a component's parent is not another component",
                "a component's goal or countries are not the project's",
            ),
            409: {"project_exists": "a project has this code."},
        }
    ),
)
async def create_project(body: ProjectCreate, service: ServiceDep, _: SecretariatDep) -> ProjectOut:
    """A project under the dialogue's umbrella, with its implementing organisations (whose
    partner keys may then report its results), countries, goals and components."""
    return ProjectOut.model_validate(await service.create(body))


@router.get("", response_model=Page[ProjectOut])
async def list_projects(
    service: ServiceDep,
    _: IdentityDep,
    organisation: Acronym | None = None,
    country: CountryCode | None = None,
    goal: GoalNumber | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ProjectOut]:
    filters = ProjectFilters(organisation=organisation, country=country, goal=goal)
    return await service.list(filters, limit, cursor)


@router.get("/{code}", response_model=ProjectOut)
async def get_project(code: str, service: ServiceDep, _: IdentityDep) -> ProjectOut:
    return ProjectOut.model_validate(await service.get(code))
