from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from bp_common.types import Acronym, CountryCode, GoalNumber
from indicators_api.projects.schemas import (
    ProjectCreate,
    ProjectFilters,
    ProjectOut,
    ProjectUpdate,
)
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
async def create_project(
    body: ProjectCreate, service: ServiceDep, _: SecretariatDep, response: Response
) -> ProjectOut:
    """A project under the dialogue's umbrella, with its implementing organisations (whose
    partner keys may then report its results), countries, goals and components."""
    project = await service.create(body)
    return answer_with_etag(response, project, ProjectOut)


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
async def get_project(
    code: str, service: ServiceDep, _: IdentityDep, response: Response
) -> ProjectOut:
    """The project, with its revision as `ETag` (what a correction names in `If-Match`)."""
    project = await service.get(code)
    return answer_with_etag(response, project, ProjectOut)


@router.patch(
    "/{code}",
    response_model=ProjectOut,
    responses=refusals(
        {
            422: cross_field(
                "`ends_on` would be before `starts_on`",
                "a component's goal or countries would not be the project's",
            )
            | {"unknown_goal": "the endorsed framework has no such goal."},
            409: {
                "results_outside_project": "results reported for the project would fall outside "
                "its dates, implementers, countries or goals (`errors` names them): withdraw "
                "them first.",
                "project_exists": "another project has this IATI identifier.",
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def update_project(
    code: str,
    body: ProjectUpdate,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> ProjectOut:
    """Correct a project (a moved end date, an implementer added, a typo in the title): the
    fields given replace the project's, against the revision read (`If-Match`, required).
    Results already reported must stay inside the project; the code never changes.
    Announced as `indicators.project.corrected.v1`."""
    project = await service.update(code, body, precondition)
    return answer_with_etag(response, project, ProjectOut)
