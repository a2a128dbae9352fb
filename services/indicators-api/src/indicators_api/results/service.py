"""Partner result imports (JSON or CSV, up to ``payload.MAX_ROWS`` rows), idempotent by the
partner's ``external_id`` and by the ``Idempotency-Key`` header; and the stored results."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, Forbidden, InvalidInput
from bp_common.events.outbox import Outbox
from bp_common.observability.metrics import IMPORT_ROWS
from bp_common.pagination import Page, cursor_text, page_of, read_cursor
from bp_common.security import Identity, Role
from indicators_api.dashboard.repository import DashboardRepository
from indicators_api.framework.repository import IndicatorRepository
from indicators_api.projects.repository import ProjectRepository
from indicators_api.results import events
from indicators_api.results.payload import Payload, read_payload
from indicators_api.results.repository import CREATED, UNCHANGED, UPDATED, ResultRepository
from indicators_api.results.schemas import (
    ImportCounts,
    ImportOutcome,
    ResultFilters,
    ResultOut,
    ResultsSummary,
    RowError,
    StagedRow,
)
from indicators_api.results.validation import NOT_IMPLEMENTED, RowValidator, check_shapes
from indicators_api.rollups.service import Group, RollupService


class ResultsWriteForbidden(Forbidden):
    code = "results_write_forbidden"


class ProjectNotImplemented(Forbidden):
    code = NOT_IMPLEMENTED


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class AppliedBatch:
    counts: dict[str, int]
    errors: list[RowError]
    changed: list[Group]


@dataclass(frozen=True)
class ImportAnswer:
    body: bytes  # the exact JSON answered, kept for replays of its Idempotency-Key
    replayed: bool


def check_reporter_role(identity: Identity) -> None:
    if identity.role not in (Role.SECRETARIAT, Role.PARTNER):
        raise ResultsWriteForbidden("Only partner organisations and the Secretariat report.")


def reporting_organisation(identity: Identity, *named: str | None) -> str:
    """The Secretariat reports for the organisation it names; a partner for its own."""
    asked = {n.strip().upper() for n in named if n is not None}
    if len(asked) > 1:
        raise InvalidInput(
            "The body and the query name different organisations.", code="organisation_conflict"
        )
    if identity.role is Role.SECRETARIAT:
        if not asked:
            raise InvalidInput(
                "Name the reporting organisation (body or query `organisation`).",
                code="organisation_required",
            )
        return asked.pop()
    own = (identity.organisation or "").strip().upper()
    if identity.role is not Role.PARTNER or not own:
        raise ResultsWriteForbidden("Only partner organisations and the Secretariat report.")
    if asked and asked != {own}:
        raise ResultsWriteForbidden(f"This key reports for {own} only.")
    return own


class ResultService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.results = ResultRepository(session)
        self.projects = ProjectRepository(session)
        self.indicators = IndicatorRepository(session)
        self.rollups = RollupService(session, outbox)

    async def import_results(
        self,
        identity: Identity,
        body: bytes,
        content_type: str | None,
        *,
        organisation: str | None,
        dry_run: bool,
        idempotency_key: str | None,
    ) -> ImportAnswer:
        check_reporter_role(identity)
        payload = read_payload(body, content_type)
        reporter = reporting_organisation(identity, payload.organisation, organisation)
        body_hash = hashlib.sha256(payload.media.encode() + b"\n" + body).hexdigest()
        replay = await self.begin(reporter, body_hash, dry_run=dry_run, key=idempotency_key)
        if replay is not None:
            return replay
        batch = await self.apply(payload, reporter, identity, dry_run=dry_run)
        outcome = ImportOutcome(
            import_id=None if dry_run else uuid.uuid4(),
            dry_run=dry_run,
            **batch.counts,
            rejected=len(batch.errors),
            errors=batch.errors,
        )
        answer = orjson.dumps(outcome.model_dump(mode="json"))
        await self.finish(outcome, reporter, idempotency_key, body_hash, answer, batch.changed)
        return ImportAnswer(answer, replayed=False)

    async def begin(
        self, reporter: str, body_hash: str, *, dry_run: bool, key: str | None
    ) -> ImportAnswer | None:
        """Serialises the organisation's imports; the first answer if ``key`` replays one."""
        if not dry_run:
            await self.results.lock_organisation(reporter)
        if key is None:
            return None
        first = await self.results.find_import(reporter, key)
        if first is None or first.response is None:
            return None
        if first.body_hash != body_hash:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with another body; use a new key."
            )
        return ImportAnswer(first.response.encode(), replayed=True)

    async def apply(
        self, payload: Payload, reporter: str, identity: Identity, *, dry_run: bool
    ) -> AppliedBatch:
        """Validates and upserts one batch of rows (stored unless ``dry_run``), rollups kept."""
        staged, errors = await self._validate(payload, reporter, identity)
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        changed: list[Group] = []
        if staged:
            async with self.results.staged(staged) as batch:
                counts = await batch.classify()
                if not dry_run and (counts[CREATED] or counts[UPDATED]):
                    await batch.write()
                    if counts[UPDATED]:
                        await self.rollups.replace(
                            batch.touched_groups(), batch.rows_in_touched_groups()
                        )
                    await self.rollups.merge(batch.added_rows_elsewhere())
                    changed = await batch.changed_groups()
        return AppliedBatch(counts, errors, changed)

    async def finish(
        self,
        outcome: ImportCounts,
        reporter: str,
        idempotency_key: str | None,
        body_hash: str,
        answer: bytes,
        changed: list[Group],
    ) -> None:
        """Records a stored import (its answer kept for its key) and announces its rollups."""
        if outcome.dry_run:
            return
        await self._record(outcome, reporter, idempotency_key, body_hash, answer)
        await self.rollups.announce(changed)
        for outcome_name in (CREATED, UPDATED, UNCHANGED):
            IMPORT_ROWS.labels("indicators", outcome_name).inc(getattr(outcome, outcome_name))
        IMPORT_ROWS.labels("indicators", "rejected").inc(outcome.rejected)

    async def _validate(
        self, payload: Payload, reporter: str, identity: Identity
    ) -> tuple[list[StagedRow], list[RowError]]:
        rows, errors = check_shapes(payload.rows, payload.row_errors)
        projects = await self.projects.by_codes({row.project for _, row in rows})
        if identity.role is Role.PARTNER:
            foreign = sorted(
                code for code, p in projects.items() if reporter not in p.implementing_organisations
            )
            if foreign:
                raise ProjectNotImplemented(
                    f"{reporter} does not implement {', '.join(foreign)}; nothing was stored."
                )
        indicators = await self.indicators.by_codes({row.indicator for _, row in rows})
        validator = RowValidator(reporter, projects, indicators, text_values=payload.text_values)
        staged: list[StagedRow] = []
        for index, row in rows:
            checked = validator.check(index, row)
            if isinstance(checked, RowError):
                errors.append(checked)
            else:
                staged.append(checked)
        errors.sort(key=lambda error: error.index)
        return staged, errors

    async def _record(
        self,
        outcome: ImportCounts,
        reporter: str,
        idempotency_key: str | None,
        body_hash: str,
        answer: bytes,
    ) -> None:
        recorded = await self.results.record_import(
            {
                "id": outcome.import_id,
                "organisation": reporter,
                "idempotency_key": idempotency_key,
                "body_hash": body_hash,
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": outcome.unchanged,
                "rejected": outcome.rejected,
                "response": answer.decode() if idempotency_key is not None else None,
            }
        )
        if not recorded:  # a concurrent request with the same key won; this one is undone
            raise Conflict(
                "An import with this Idempotency-Key is in progress; retry to get its answer.",
                code="idempotency_key_in_use",
            )
        await self.outbox.emit(
            self.session,
            events.ResultsImportedV1(
                import_id=outcome.import_id,
                organisation=reporter,
                created=outcome.created,
                updated=outcome.updated,
                unchanged=outcome.unchanged,
                rejected=outcome.rejected,
            ),
        )

    async def summary(self) -> ResultsSummary:
        """From the dashboard's counters (kept by the imports' events), not a count over every
        stored result: the cost stays flat as results grow."""
        results, organisations = await DashboardRepository(self.session).result_totals()
        return ResultsSummary(results=results, organisations=organisations)

    async def list(self, filters: ResultFilters, limit: int, cursor: str | None) -> Page[ResultOut]:
        after = read_cursor(cursor, cursor_text, cursor_text)
        rows = await self.results.list(filters, limit=limit + 1, after=after)
        return page_of(
            rows, limit, lambda r: (r.organisation, r.external_id), ResultOut.model_validate
        )
