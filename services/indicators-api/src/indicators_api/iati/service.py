"""IATI 2.03 in and out: a document's results imported through the results import (same
report counts, upsert key, Idempotency-Key, rollups and events), and projects exported."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import IO

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import Database
from bp_common.errors import DomainError, FieldError, NotFound
from bp_common.events.outbox import Outbox
from bp_common.security import Identity
from indicators_api.iati import export
from indicators_api.iati.document import Problem, activities, schema_problems
from indicators_api.iati.models import IatiMapping
from indicators_api.iati.reading import Mapping, ReadActivity, read_activity
from indicators_api.iati.repository import IatiRepository
from indicators_api.iati.schemas import IatiImportOutcome, IatiProblem, MappingIn
from indicators_api.projects.models import Project
from indicators_api.projects.repository import ProjectRepository
from indicators_api.results.models import Result
from indicators_api.results.payload import Payload
from indicators_api.results.repository import CREATED, UNCHANGED, UPDATED
from indicators_api.results.service import (
    ImportAnswer,
    ResultService,
    check_reporter_role,
    reporting_organisation,
)
from indicators_api.results.validation import DUPLICATE_EXTERNAL_ID, UNKNOWN_PROJECT
from indicators_api.rollups.service import Group
from indicators_api.settings import IndicatorsSettings

BATCH_ROWS = 5_000  # rows validated and upserted together


class SchemaInvalid(DomainError):
    status = 422
    code = "iati_schema_invalid"


class OrganisationIdentifierUnknown(DomainError):
    status = 409
    code = "organisation_iati_identifier_unknown"


class NothingToExport(NotFound):
    code = "no_activities"


class MappingNotFound(NotFound):
    code = "iati_mapping_not_found"


def _problem(problem: Problem) -> IatiProblem:
    return IatiProblem(
        activity=problem.activity, xpath=problem.xpath, code=problem.code, message=problem.message
    )


class IatiService:
    def __init__(self, session: AsyncSession, outbox: Outbox, settings: IndicatorsSettings) -> None:
        self.settings = settings
        self.iati = IatiRepository(session)
        self.projects = ProjectRepository(session)
        self.results = ResultService(session, outbox)

    async def get_mapping(self, organisation: str) -> IatiMapping:
        mapping = await self.iati.mapping(organisation)
        if mapping is None:
            raise MappingNotFound(f"{organisation} has no IATI mapping.")
        return mapping

    async def put_mapping(self, organisation: str, data: MappingIn) -> IatiMapping:
        return await self.iati.save_mapping(organisation, data.indicators, data.dimensions)

    async def import_document(
        self,
        identity: Identity,
        source: IO[bytes],
        *,
        organisation: str | None,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> ImportAnswer:
        check_reporter_role(identity)
        reporter = reporting_organisation(identity, organisation)
        body_hash = _digest(source)
        replay = await self.results.begin(reporter, body_hash, dry_run=dry_run, key=idempotency_key)
        if replay is not None:
            return replay
        problems, total = schema_problems(source)
        if total:
            listed = f", the first {len(problems)} listed" if total > len(problems) else ""
            raise SchemaInvalid(
                f"The document does not validate against the IATI 2.03 schema ({total} errors"
                f"{listed}); nothing was stored.",
                errors=[
                    FieldError(loc=[p.activity or "", p.xpath], code=p.code, message=p.message)
                    for p in problems
                ],
            )
        stored = await self.iati.mapping(reporter)
        mapping = Mapping(stored.indicators, stored.dimensions) if stored else Mapping()
        registered = await self.iati.organisation(reporter)
        registered_ref = registered.iati_id if registered else None

        run = _Run(self, reporter, identity, dry_run)
        source.seek(0)
        pending: list[ReadActivity] = []
        for activity in activities(source):
            read = read_activity(activity, mapping, registered_ref)
            pending.append(read)
            if sum(len(a.rows) for a in pending) >= BATCH_ROWS:
                await run.apply(pending)
                pending = []
        await run.apply(pending)

        outcome = IatiImportOutcome(
            import_id=None if dry_run else uuid.uuid4(),
            dry_run=dry_run,
            **run.counts,
            rejected=len(run.errors),
            errors=run.errors,
        )
        answer = orjson.dumps(outcome.model_dump(mode="json"))
        await self.results.finish(
            outcome, reporter, idempotency_key, body_hash, answer, run.changed
        )
        return ImportAnswer(answer, replayed=False)

    async def plan_export(self, *, organisation: str | None, project: str | None) -> export.Plan:
        """What the export writes, checked before it starts (the refusals are problems)."""
        if organisation is None:
            reporting = export.Org(
                self.settings.iati_secretariat_identifier,
                self.settings.iati_secretariat_name,
                self.settings.iati_secretariat,
            )
        else:
            registered = await self.iati.organisation(organisation)
            if registered is None or not registered.iati_id:
                raise OrganisationIdentifierUnknown(
                    f"{organisation} has no IATI identifier in the registry."
                )
            reporting = export.Org(registered.iati_id, registered.name, organisation)
        projects = await self._projects(organisation, project)
        if not projects:  # the schema wants at least one activity
            raise NothingToExport("No project matches; an IATI document needs one activity.")
        partners = await self.iati.organisations(
            {o for p in projects for o in p.implementing_organisations}
        )
        codes = await self.iati.indicators_with_results([p.code for p in projects], organisation)
        used = {code for project_codes in codes.values() for code in project_codes}
        indicators = await self.results.indicators.by_codes(used)
        return export.Plan(reporting, projects, partners, codes, indicators)

    async def _projects(self, organisation: str | None, code: str | None) -> list[Project]:
        if code is not None:
            found = await self.projects.by_codes({code})
            chosen = list(found.values())
        else:
            chosen = list((await self.projects.by_codes(await self.iati.project_codes())).values())
        if organisation is not None:
            chosen = [p for p in chosen if organisation in p.implementing_organisations]
        return sorted(chosen, key=lambda p: p.code)


class _Run:
    """One import's batches: rows resolved to projects, then through the results import."""

    def __init__(self, service: IatiService, reporter: str, identity: Identity, dry_run: bool):
        self.service = service
        self.reporter = reporter
        self.identity = identity
        self.dry_run = dry_run
        self.counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        self.errors: list[IatiProblem] = []
        self.changed: list[Group] = []
        self.unidentified: list[str] | None = None

    async def apply(self, batch: list[ReadActivity]) -> None:
        identifiers = {a.identifier for a in batch if a.identifier}
        projects = await self.service.projects.by_iati_identifiers(identifiers)
        rows: list[dict[str, object]] = []
        origins: list[tuple[str | None, str]] = []
        for read in batch:
            self.errors.extend(_problem(p) for p in read.problems)
            project = await self._project(read, projects)
            if project is None:
                if read.rows:
                    self.errors.append(
                        IatiProblem(
                            activity=read.identifier,
                            xpath=f"{read.xpath}/iati-identifier",
                            code=UNKNOWN_PROJECT,
                            message="no project has this IATI identifier",
                        )
                    )
                continue
            for item in read.rows:
                rows.append({**item.row, "project": project})
                origins.append((read.identifier, item.xpath))
        if not rows:
            return
        applied = await self.service.results.apply(
            Payload("iati", self.reporter, rows), self.reporter, self.identity, dry_run=self.dry_run
        )
        for key, count in applied.counts.items():
            self.counts[key] += count
        for error in applied.errors:
            activity, xpath = origins[error.index]
            message = error.message
            if error.code == DUPLICATE_EXTERNAL_ID:  # the external_id is derived from the figure
                message = "an earlier actual of the document is the same figure (project, "
                message += "indicator, period, country and dimensions)"
            self.errors.append(
                IatiProblem(activity=activity, xpath=xpath, code=error.code, message=message)
            )
        self.changed.extend(applied.changed)

    async def _project(self, read: ReadActivity, projects: dict[str, Project]) -> str | None:
        if read.identifier is None:
            return None
        if read.identifier in projects:
            return projects[read.identifier].code
        # A project without an IATI identifier is exported as "<reporting-org ref>-<code>".
        if self.unidentified is None:
            self.unidentified = await self.service.iati.codes_without_identifier()
        code = read.identifier.removeprefix(f"{read.reporting_ref}-")
        return code if code != read.identifier and code in self.unidentified else None


def _digest(source: IO[bytes]) -> str:
    digest = hashlib.sha256(b"iati\n")
    source.seek(0)
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


async def export_document(
    database: Database, plan: export.Plan, organisation: str | None
) -> AsyncIterator[bytes]:
    """The document of ``plan`` as it is written, its results read in a transaction of its own
    (the request's session is closed once the answer starts)."""
    async with database.transaction() as session:
        repository = IatiRepository(session)

        def rows_of(project: str, indicator: str) -> AsyncIterator[Result]:
            return repository.stream_results_of(project, indicator, organisation)

        async for chunk in export.document(plan, rows_of):
            yield chunk
