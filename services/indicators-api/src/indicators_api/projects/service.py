from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, NotFound
from bp_common.events.outbox import Outbox
from bp_common.pagination import Page, cursor_text, page_of, read_cursor
from indicators_api.framework.service import FrameworkService
from indicators_api.projects.models import (
    Project,
    ProjectComponent,
    ProjectCountry,
    ProjectGoal,
    ProjectOrganisation,
)
from indicators_api.projects.repository import ProjectRepository
from indicators_api.projects.schemas import ProjectCreate, ProjectFilters, ProjectOut


class ProjectNotFound(NotFound):
    code = "project_not_found"


class ProjectExists(Conflict):
    code = "project_exists"


class ProjectService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.projects = ProjectRepository(session)
        self.framework = FrameworkService(session, outbox)

    async def create(self, data: ProjectCreate) -> Project:
        await self.framework.check_goals(
            [(["body", "goals", i], goal) for i, goal in enumerate(data.goals)]
        )
        project = Project(
            code=data.code,
            iati_identifier=data.iati_identifier,
            title=data.title,
            donor=data.donor,
            budget_amount=data.budget.amount if data.budget else None,
            budget_currency=data.budget.currency if data.budget else None,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            # In the order the relationships load them, so the answer equals a later read.
            organisation_links=[
                ProjectOrganisation(organisation=o) for o in sorted(data.implementing_organisations)
            ],
            country_links=[ProjectCountry(country=c) for c in sorted(data.countries)],
            goal_links=[ProjectGoal(goal=g) for g in sorted(data.goals)],
            components=[
                ProjectComponent(**c.model_dump())
                for c in sorted(data.components, key=lambda c: c.code)
            ],
        )
        if data.iati_identifier and await self.projects.by_iati_identifiers([data.iati_identifier]):
            raise ProjectExists(f"A project has the IATI identifier {data.iati_identifier}.")
        if not await self.projects.insert(project):
            raise ProjectExists(f"A project with code {data.code} exists.")
        return project

    async def get(self, code: str) -> Project:
        project = await self.projects.get(code)
        if project is None:
            raise ProjectNotFound(f"No project with code {code}.")
        return project

    async def list(
        self, filters: ProjectFilters, limit: int, cursor: str | None
    ) -> Page[ProjectOut]:
        after = read_cursor(cursor, cursor_text)
        rows = await self.projects.list(filters, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda p: (p.code,), ProjectOut.model_validate)
