"""Partner result imports (JSON or CSV, up to ``payload.MAX_ROWS`` rows), idempotent by the
partner's ``external_id`` and by the ``Idempotency-Key`` header; and the stored results."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

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
from indicators_api.results.models import Result
from indicators_api.results.payload import Payload, read_payload
from indicators_api.results.repository import (
    CREATED,
    UNCHANGED,
    UPDATED,
    ResultNotFound,
    ResultRepository,
)
from indicators_api.results.schemas import (
    ImportCounts,
    ImportMode,
    ImportOutcome,
    ResultFilters,
    ResultOut,
    ResultsSummary,
    RowError,
    StagedRow,
    WithdrawOutcome,
    WithdrawRequest,
)
from indicators_api.results.validation import NOT_IMPLEMENTED, RowValidator, check_shapes
from indicators_api.rollups.service import Group, RollupService


class ResultsWriteForbidden(Forbidden):
    code = "results_write_forbidden"


class ProjectNotImplemented(Forbidden):
    code = NOT_IMPLEMENTED


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


__all__ = ["ResultNotFound", "ResultService"]

UNKNOWN_EXTERNAL_ID = "unknown_external_id"


@dataclass(frozen=True)
class AppliedBatch:
    counts: dict[str, int]
    errors: list[RowError]
    changed: list[Group]
    # mode=replace: the organisation's standing results the push leaves out, by external id.
    left_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Withdrawn:
    """What withdrawing some of an organisation's results did."""

    withdrawn: list[str]  # standing until now
    unchanged: set[str]  # withdrawn already
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
        mode: ImportMode = ImportMode.UPSERT,
    ) -> ImportAnswer:
        check_reporter_role(identity)
        payload = read_payload(body, content_type)
        reporter = reporting_organisation(identity, payload.organisation, organisation)
        # The mode is part of what the key stands for; an upsert's hash is as it always was.
        salt = b"\nreplace" if mode is ImportMode.REPLACE else b""
        body_hash = hashlib.sha256(payload.media.encode() + salt + b"\n" + body).hexdigest()
        replay = await self.begin(reporter, body_hash, dry_run=dry_run, key=idempotency_key)
        if replay is not None:
            return replay
        import_id = None if dry_run else uuid.uuid4()
        batch = await self.apply(payload, reporter, identity, dry_run=dry_run, mode=mode)
        changed, withdrawn = batch.changed, len(batch.left_out)
        if import_id is not None and batch.left_out:
            done = await self._withdraw(
                reporter,
                batch.left_out,
                by=identity.principal,
                reason=f"Left out of the replace-mode import {import_id}.",
            )
            changed, withdrawn = changed + done.changed, len(done.withdrawn)
        outcome = ImportOutcome(
            import_id=import_id,
            dry_run=dry_run,
            **batch.counts,
            rejected=len(batch.errors),
            withdrawn=withdrawn,
            errors=batch.errors,
        )
        answer = orjson.dumps(outcome.model_dump(mode="json"))
        await self.finish(outcome, reporter, idempotency_key, body_hash, answer, changed)
        if import_id is not None and withdrawn:
            await self._announce_withdrawal(
                import_id,
                reporter,
                batch.left_out,
                events.WithdrawalCause.REPLACE_IMPORT,
                f"Left out of the replace-mode import {import_id}.",
                import_id=import_id,
            )
        return ImportAnswer(answer, replayed=False)

    async def withdraw(
        self, identity: Identity, data: WithdrawRequest, *, idempotency_key: str | None
    ) -> ImportAnswer:
        """Withdraw results of one organisation by their external ids: each becomes a
        tombstone, out of the rollups (recomputed here) and of the lists. An id already
        withdrawn is `unchanged`; an id the organisation never reported is a row error."""
        check_reporter_role(identity)
        reporter = reporting_organisation(identity, data.organisation)
        body_hash = hashlib.sha256(orjson.dumps(data.model_dump(mode="json"))).hexdigest()
        await self.results.lock_organisation(reporter)
        if idempotency_key is not None:
            first = await self.results.find_withdrawal(reporter, idempotency_key)
            if first is not None and first.response is not None:
                if first.body_hash != body_hash:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used with another body; use a new key."
                    )
                return ImportAnswer(first.response.encode(), replayed=True)
        withdrawal_id = uuid.uuid4()
        done = await self._withdraw(
            reporter, data.external_ids, by=identity.principal, reason=data.reason
        )
        known = set(done.withdrawn) | done.unchanged
        errors = [
            RowError(
                index=index,
                external_id=external_id,
                code=UNKNOWN_EXTERNAL_ID,
                loc=["external_ids", index],
                message=f"{reporter} has no result with this external_id",
            )
            for index, external_id in enumerate(data.external_ids)
            if external_id not in known
        ]
        outcome = WithdrawOutcome(
            withdrawal_id=withdrawal_id,
            withdrawn=len(done.withdrawn),
            unchanged=len(done.unchanged),
            rejected=len(errors),
            errors=errors,
        )
        answer = orjson.dumps(outcome.model_dump(mode="json"))
        recorded = await self.results.record_withdrawal(
            {
                "id": withdrawal_id,
                "organisation": reporter,
                "idempotency_key": idempotency_key,
                "body_hash": body_hash,
                "withdrawn_by": identity.principal,
                "reason": data.reason,
                "withdrawn": outcome.withdrawn,
                "unchanged": outcome.unchanged,
                "rejected": outcome.rejected,
                "response": answer.decode() if idempotency_key is not None else None,
            }
        )
        if not recorded:
            raise Conflict(
                "A withdrawal with this Idempotency-Key is in progress; retry to get its answer.",
                code="idempotency_key_in_use",
            )
        if done.withdrawn:
            await self._announce_withdrawal(
                withdrawal_id,
                reporter,
                done.withdrawn,
                events.WithdrawalCause.REQUEST,
                data.reason,
            )
        await self.rollups.announce(done.changed)
        return ImportAnswer(answer, replayed=False)

    async def _withdraw(
        self, organisation: str, external_ids: Sequence[str], *, by: str, reason: str
    ) -> Withdrawn:
        """Make the organisation's standing results among ``external_ids`` tombstones and
        recompute the rollup groups they leave (the caller holds the organisation's lock)."""
        async with self.results.withdrawing(organisation, external_ids) as batch:
            standing, unchanged = await batch.classify()
            changed: list[Group] = []
            if standing:
                await batch.withdraw(by=by, reason=reason)
                await self.rollups.replace(batch.touched_groups(), batch.rows_in_touched_groups())
                changed = await batch.changed_groups()
        return Withdrawn(sorted(standing), unchanged, changed)

    async def _announce_withdrawal(
        self,
        withdrawal_id: uuid.UUID,
        organisation: str,
        external_ids: Sequence[str],
        cause: events.WithdrawalCause,
        reason: str,
        *,
        import_id: uuid.UUID | None = None,
    ) -> None:
        named = sorted(external_ids)
        await self.outbox.emit(
            self.session,
            events.ResultsWithdrawnV1(
                withdrawal_id=withdrawal_id,
                organisation=organisation,
                withdrawn=len(named),
                external_ids=named[: events.MAX_IDS_PER_EVENT],
                truncated=len(named) > events.MAX_IDS_PER_EVENT,
                cause=cause,
                import_id=import_id,
                reason=reason,
            ),
        )

    async def get_or_raise(self, result_id: uuid.UUID) -> Result:
        """A result by id, a withdrawn one too (its tombstone)."""
        return await self.results.get_or_raise(result_id)

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
        self,
        payload: Payload,
        reporter: str,
        identity: Identity,
        *,
        dry_run: bool,
        mode: ImportMode = ImportMode.UPSERT,
    ) -> AppliedBatch:
        """Validates and upserts one batch of rows (stored unless ``dry_run``), rollups kept.
        ``mode=replace`` also finds the organisation's standing results left out of each
        (project, indicator, period) the valid rows report; a row the push names, even a
        rejected one, is never left out (a typo must not withdraw the value it meant to fix)."""
        staged, errors = await self._validate(payload, reporter, identity)
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        changed: list[Group] = []
        left_out: list[str] = []
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
                if mode is ImportMode.REPLACE:
                    named = {
                        row.get("external_id") for row in payload.rows if isinstance(row, dict)
                    }
                    in_scope = await batch.standing_in_scope(reporter)
                    left_out = [i for i in in_scope if i not in named]
        return AppliedBatch(counts, errors, changed, left_out)

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
                "withdrawn": outcome.withdrawn,
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
                withdrawn=outcome.withdrawn,
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
