from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bp_common.pagination import seek
from indicators_api.projects.models import (
    Project,
    ProjectCountry,
    ProjectGoal,
    ProjectOrganisation,
)
from indicators_api.projects.schemas import ProjectFilters

_WHOLE = (
    selectinload(Project.organisation_links),
    selectinload(Project.country_links),
    selectinload(Project.goal_links),
    selectinload(Project.components),
)


class ProjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert(self, project: Project) -> bool:
        """False if the code is taken (also when a concurrent request took it first)."""
        if await self.session.scalar(select(exists().where(Project.code == project.code))):
            return False
        self.session.add(project)
        try:
            await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def get(self, code: str, *, for_update: bool = False) -> Project | None:
        statement = select(Project).where(Project.code == code).options(*_WHOLE)
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.scalars(statement)).one_or_none()

    async def by_codes(self, codes: Collection[str]) -> dict[str, Project]:
        if not codes:
            return {}
        statement = select(Project).where(Project.code.in_(codes)).options(*_WHOLE)
        return {p.code: p for p in (await self.session.scalars(statement)).all()}

    async def by_iati_identifiers(self, identifiers: Collection[str]) -> dict[str, Project]:
        if not identifiers:
            return {}
        statement = select(Project).where(Project.iati_identifier.in_(identifiers)).options(*_WHOLE)
        return {p.iati_identifier or "": p for p in (await self.session.scalars(statement)).all()}

    async def list(
        self, filters: ProjectFilters, *, limit: int, after: Sequence[Any] | None = None
    ) -> list[Project]:
        statement = select(Project).options(*_WHOLE)
        if filters.organisation is not None:
            statement = statement.where(
                exists().where(
                    ProjectOrganisation.project_id == Project.id,
                    ProjectOrganisation.organisation == filters.organisation,
                )
            )
        if filters.country is not None:
            statement = statement.where(
                exists().where(
                    ProjectCountry.project_id == Project.id,
                    ProjectCountry.country == filters.country,
                )
            )
        if filters.goal is not None:
            statement = statement.where(
                exists().where(
                    ProjectGoal.project_id == Project.id, ProjectGoal.goal == filters.goal
                )
            )
        statement = seek(statement, [Project.code], after).limit(limit)
        return list((await self.session.scalars(statement)).all())
