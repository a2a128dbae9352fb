from __future__ import annotations

from collections.abc import AsyncIterator, Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from indicators_api.iati.models import IatiMapping, IatiOrganisation
from indicators_api.projects.models import Project
from indicators_api.results.models import Result

STREAM_BATCH = 1_000  # rows fetched at a time by an export


class IatiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def mapping(self, organisation: str) -> IatiMapping | None:
        return await self.session.get(IatiMapping, organisation)

    async def save_mapping(
        self, organisation: str, indicators: dict[str, str], dimensions: dict[str, str]
    ) -> IatiMapping:
        mapping = await self.mapping(organisation)
        if mapping is None:
            mapping = IatiMapping(organisation=organisation)
            self.session.add(mapping)
        mapping.indicators = indicators
        mapping.dimensions = dimensions
        await self.session.flush()
        return mapping

    async def organisation(self, acronym: str) -> IatiOrganisation | None:
        return await self.session.get(IatiOrganisation, acronym)

    async def organisations(self, acronyms: Collection[str]) -> dict[str, IatiOrganisation]:
        statement = select(IatiOrganisation).where(IatiOrganisation.acronym.in_(acronyms))
        return {o.acronym: o for o in (await self.session.scalars(statement)).all()}

    async def save_organisation(
        self, acronym: str, iati_id: str | None, name: str | None, revision: int
    ) -> bool:
        """Keeps the registry's entry unless the copy holds it at ``revision`` or later (older
        news, a replay); whether it was kept."""
        organisation = await self.organisation(acronym)
        if organisation is None:
            organisation = IatiOrganisation(acronym=acronym)
            self.session.add(organisation)
        elif organisation.revision >= revision:
            return False
        organisation.iati_id = iati_id
        organisation.name = name
        organisation.revision = revision
        await self.session.flush()
        return True

    async def indicators_with_results(
        self, projects: Collection[str], organisation: str | None
    ) -> dict[str, list[str]]:
        """Each project's indicators that have standing results (of ``organisation``), in code
        order: a withdrawn result is not reported any more."""
        statement = select(Result.project, Result.indicator).distinct()
        statement = statement.where(Result.project.in_(projects), Result.withdrawn_at.is_(None))
        if organisation is not None:
            statement = statement.where(Result.organisation == organisation)
        found: dict[str, list[str]] = {}
        for project, indicator in (await self.session.execute(statement)).all():
            found.setdefault(project, []).append(indicator)
        return {project: sorted(codes) for project, codes in found.items()}

    async def stream_results_of(
        self, project: str, indicator: str, organisation: str | None
    ) -> AsyncIterator[Result]:
        """The standing results of one project and indicator by period, read in batches through
        a server-side cursor (the memory is a batch's, not the results')."""
        statement = (
            select(Result)
            .where(
                Result.project == project,
                Result.indicator == indicator,
                Result.withdrawn_at.is_(None),
            )
            .order_by(Result.period_key, Result.period)
            .execution_options(yield_per=STREAM_BATCH)
        )
        if organisation is not None:
            statement = statement.where(Result.organisation == organisation)
        async for row in await self.session.stream_scalars(statement):
            yield row

    async def project_codes(self) -> set[str]:
        return set((await self.session.scalars(select(Project.code))).all())

    async def codes_without_identifier(self) -> list[str]:
        statement = select(Project.code).where(Project.iati_identifier.is_(None))
        return list((await self.session.scalars(statement)).all())
