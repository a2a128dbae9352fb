from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from bp_common.pagination import Page, cursor_text, page_of, read_cursor
from bp_common.revisions import Precondition
from indicators_api.framework.service import FrameworkService
from indicators_api.periods import parse_period
from indicators_api.projects import events
from indicators_api.projects.models import (
    Project,
    ProjectComponent,
    ProjectCountry,
    ProjectGoal,
    ProjectOrganisation,
)
from indicators_api.projects.repository import ProjectRepository
from indicators_api.projects.schemas import (
    ProjectCreate,
    ProjectFilters,
    ProjectOut,
    ProjectUpdate,
)
from indicators_api.results.repository import ResultRepository


class ProjectNotFound(NotFound):
    code = "project_not_found"


class ProjectExists(Conflict):
    code = "project_exists"


class ResultsOutsideProject(Conflict):
    code = "results_outside_project"


# The fields a correction compares and the event carries, as the create body names them.
_LINKED = ("implementing_organisations", "countries", "goals")


def _state(project: Project) -> dict[str, Any]:
    """The project as a create body would state it, in JSON (lists sorted, as stored)."""
    state = {
        "code": project.code,
        "iati_identifier": project.iati_identifier,
        "title": project.title,
        "donor": project.donor,
        "budget": project.budget,
        "implementing_organisations": project.implementing_organisations,
        "countries": project.countries,
        "goals": project.goals,
        "starts_on": project.starts_on,
        "ends_on": project.ends_on,
        "components": [
            {
                "code": c.code,
                "title": c.title,
                "kind": c.kind,
                "description": c.description,
                "goal": c.goal,
                "parent": c.parent,
                "countries": c.countries,
            }
            for c in project.components
        ],
    }
    jsonable: dict[str, Any] = to_jsonable_python(state)
    return jsonable


def _comparable(name: str, value: Any) -> Any:
    if name in _LINKED:
        return sorted(value)
    if name == "components":
        return sorted(
            (dict(c, countries=sorted(c["countries"]), kind=str(c["kind"])) for c in value),
            key=lambda c: c["code"],
        )
    if name == "budget" and value is not None:
        return (float(value["amount"]), value["currency"])
    return value


class ProjectService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
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

    async def get(self, code: str, *, for_update: bool = False) -> Project:
        project = await self.projects.get(code, for_update=for_update)
        if project is None:
            raise ProjectNotFound(f"No project with code {code}.")
        return project

    async def update(self, code: str, data: ProjectUpdate, precondition: Precondition) -> Project:
        """Correct a project against the revision its corrector read. The result is checked as
        a whole, as a new project would be, and against the results reported for it: none may
        fall outside its dates, implementers, countries or goals (withdraw those first)."""
        project = await self.get(code, for_update=True)
        precondition.check(project.revision, "project")
        state = _state(project)
        # The fields given, whole (a nested model's defaults included).
        dumped = data.model_dump(mode="json")
        given = {name: dumped[name] for name in data.model_fields_set}
        changes = {
            name: value
            for name, value in given.items()
            if _comparable(name, value) != _comparable(name, state[name])
        }
        if not changes:  # a repeated request
            return project
        merged = self._checked(state | changes)
        if "goals" in changes:
            await self.framework.check_goals(
                [(["body", "goals", i], goal) for i, goal in enumerate(merged.goals)]
            )
        if merged.iati_identifier and "iati_identifier" in changes:
            holder = await self.projects.by_iati_identifiers([merged.iati_identifier])
            if holder:
                raise ProjectExists(f"A project has the IATI identifier {merged.iati_identifier}.")
        await self._keep_results_inside(merged)
        self._apply(project, merged, changes)
        await self.session.flush()
        await self.outbox.emit(
            self.session,
            events.ProjectCorrectedV1.of(project, changed=sorted(changes)),
        )
        return project

    @staticmethod
    def _checked(state: dict[str, Any]) -> ProjectCreate:
        """The corrected project, checked by the rules of a new one (dates in order,
        components within its goals and countries)."""
        try:
            return ProjectCreate.model_validate(state)
        except ValidationError as exc:
            raise InvalidInput(
                "The corrected project would not be valid; nothing was changed.",
                errors=[
                    FieldError(loc=["body", *e["loc"]], code=e["type"], message=e["msg"])
                    for e in exc.errors(include_url=False)
                ],
            ) from exc

    async def _keep_results_inside(self, project: ProjectCreate) -> None:
        scope = await ResultRepository(self.session).standing_scope_of_project(project.code)
        organisations, countries = set(project.implementing_organisations), set(project.countries)
        stranded: dict[str, set[str]] = {}
        for period_text, organisation, country, goal in scope:
            period = parse_period(period_text)
            if period and (
                period.ends_on < project.starts_on or period.starts_on > project.ends_on
            ):
                stranded.setdefault("dates", set()).add(f"period {period_text}")
            if organisation not in organisations:
                stranded.setdefault("implementing_organisations", set()).add(organisation)
            if country is not None and country not in countries:
                stranded.setdefault("countries", set()).add(country)
            if goal not in project.goals:
                stranded.setdefault("goals", set()).add(f"goal {goal}")
        if stranded:
            raise ResultsOutsideProject(
                "Results reported for the project would fall outside it; withdraw them first "
                "(POST /v1/results/withdraw) or keep what they need. Nothing was changed.",
                errors=[
                    FieldError(
                        loc=["body", field],
                        code=ResultsOutsideProject.code,
                        message="results reported for " + ", ".join(sorted(what)),
                    )
                    for field, what in sorted(stranded.items())
                ],
            )

    @staticmethod
    def _apply(project: Project, merged: ProjectCreate, changes: dict[str, Any]) -> None:
        for name in ("iati_identifier", "title", "donor", "starts_on", "ends_on"):
            setattr(project, name, getattr(merged, name))
        project.budget_amount = merged.budget.amount if merged.budget else None
        project.budget_currency = merged.budget.currency if merged.budget else None
        # Links that stay are kept as they are (same rows); the others go or come.
        kept = {link.organisation: link for link in project.organisation_links}
        project.organisation_links = [
            kept.get(o) or ProjectOrganisation(organisation=o)
            for o in sorted(merged.implementing_organisations)
        ]
        countries = {link.country: link for link in project.country_links}
        project.country_links = [
            countries.get(c) or ProjectCountry(country=c) for c in sorted(merged.countries)
        ]
        goals = {link.goal: link for link in project.goal_links}
        project.goal_links = [goals.get(g) or ProjectGoal(goal=g) for g in sorted(merged.goals)]
        if "components" in changes:
            existing = {c.code: c for c in project.components}
            components = []
            for given in sorted(merged.components, key=lambda c: c.code):
                component = existing.get(given.code) or ProjectComponent(code=given.code)
                for name, value in given.model_dump().items():
                    setattr(component, name, value)
                components.append(component)
            project.components = components
        # The row itself is updated even when only links changed, so its revision moves.
        project.updated_at = utcnow()

    async def list(
        self, filters: ProjectFilters, limit: int, cursor: str | None
    ) -> Page[ProjectOut]:
        after = read_cursor(cursor, cursor_text)
        rows = await self.projects.list(filters, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda p: (p.code,), ProjectOut.model_validate)
