from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response

from bp_common.app import IdentityDep, OutboxDep, SessionDep
from bp_common.errors import refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.types import Acronym, CountryCode, QueryBool
from bp_common.withdrawals import IncludeWithdrawn
from indicators_api.fields import ReportingYear
from indicators_api.periods import PERIOD_PATTERN
from indicators_api.results import payload
from indicators_api.results.schemas import (
    ImportMode,
    ImportOutcome,
    ImportRequest,
    ResultFilters,
    ResultOut,
    ResultsSummary,
    WithdrawOutcome,
    WithdrawRequest,
)
from indicators_api.results.service import ImportAnswer, ResultService

router = APIRouter(prefix="/v1/results", tags=["results"])


async def _service(session: SessionDep, outbox: OutboxDep) -> ResultService:
    return ResultService(session, outbox)


ServiceDep = Annotated[ResultService, Depends(_service)]
# The parameters of every import (JSON, CSV, IATI).
ReporterQuery = Annotated[
    Acronym | None, Query(description="The reporting organisation (Secretariat keys).")
]
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
]
ModeQuery = Annotated[
    ImportMode,
    Query(
        description="`upsert` (default): rows are created or updated, nothing else changes. "
        "`replace`: besides, the organisation's results in each (project, indicator, period) "
        "the push reports that it leaves out are withdrawn (counted in `withdrawn`)."
    ),
]
_IDEMPOTENCY_REFUSALS = {
    "idempotency_key_reused": "the `Idempotency-Key` came with another body.",
    "idempotency_key_in_use": "a request with this `Idempotency-Key` is in progress.",
}


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` inlined: the body is read by hand (row errors
    are answers, not a 422), so FastAPI does not register the models."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_CSV_EXAMPLE = (
    "external_id,project,indicator,period,country,disaggregation.sex,value,comment\n"
    "iom-2020-001,IMM-SR,1.1,2020-Q3,AF,female,42,\n"
)


def import_response(answer: ImportAnswer) -> Response:
    """An import's answer (JSON, CSV or IATI): the bytes stored with its Idempotency-Key, and
    ``Idempotent-Replayed`` when they are a replay of the first answer."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, media_type="application/json", headers=headers)


@router.post(
    "/import",
    response_model=ImportOutcome,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _inlined(ImportRequest.model_json_schema())},
                "text/csv": {
                    "schema": {"type": "string", "description": payload.__doc__},
                    "example": _CSV_EXAMPLE,
                },
            },
        }
    },
    responses=refusals(
        {
            422: {
                "organisation_conflict": "the body and the query name different organisations.",
                "organisation_required": "a Secretariat key names the reporting organisation.",
            },
            409: _IDEMPOTENCY_REFUSALS,
        }
    ),
)
async def import_results(
    request: Request,
    service: ServiceDep,
    identity: IdentityDep,
    dry_run: QueryBool = False,
    organisation: ReporterQuery = None,
    idempotency_key: IdempotencyKeyHeader = None,
    mode: ModeQuery = ImportMode.UPSERT,
) -> Response:
    """Push results in bulk (JSON or CSV, up to 20,000 rows). Each row is validated on its own:
    valid rows are stored, upserted on the organisation's `external_id` (`created`, `updated`,
    or `unchanged` when pushed again as is); invalid rows are reported in `errors`, one per row,
    with a stable `code`:

    - shape: pydantic's error types (`missing`, `extra_forbidden`, `enum`, `string_type`,
      `model_type`, ...), and `csv_cell_count` for a CSV line with the wrong number of cells;
    - `duplicate_external_id` (an earlier row of the request has it), `unknown_project`,
      `project_not_implemented_by_organisation`, `unknown_indicator`,
      `indicator_not_reported` (fed by events), `indicator_goal_not_in_project`,
      `invalid_period`, `period_outside_project` (no overlap with the project's dates),
      `country_not_in_project`, `disaggregation_not_declared` (a dimension the indicator is not
      disaggregated by), `value_not_numeric`, `value_not_text` (qualitative indicators),
      `value_out_of_range` (percentages 0..100, counts >= 0).

    A partner key reports for its own organisation and is refused whole (403) if any row names
    a project its organisation does not implement. `dry_run=true` answers the same counts
    without storing. A replayed `Idempotency-Key` returns the first answer verbatim (header
    `Idempotent-Replayed: true`); the same key with another body (or another `mode`) is a 409.

    `mode=replace` makes the push the whole of the organisation's report for each (project,
    indicator, period) its valid rows name: the organisation's results there that the push
    does not name (by `external_id`, rejected rows included) are withdrawn, in the same
    transaction, and counted in `withdrawn` (a dry run counts them without withdrawing). A
    withdrawn result pushed again stands again (counted `created`)."""
    answer = await service.import_results(
        identity,
        await request.body(),
        request.headers.get("content-type"),
        organisation=organisation,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        mode=mode,
    )
    return import_response(answer)


@router.post(
    "/withdraw",
    response_model=WithdrawOutcome,
    responses=refusals(
        {
            422: {
                "organisation_required": "a Secretariat key names the organisation.",
            },
            409: _IDEMPOTENCY_REFUSALS,
        }
    ),
)
async def withdraw_results(
    body: WithdrawRequest,
    service: ServiceDep,
    identity: IdentityDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Withdraw results of one organisation by their `external_id`s (a partner key: its own
    organisation's only). Each becomes a tombstone: readable by id with `withdrawn_at`,
    `withdrawn_by` and the reason, left out of the lists (unless `include_withdrawn=true`) and
    of the rollups, which are recomputed in the same transaction. Per id: `withdrawn` now,
    `unchanged` if withdrawn already, or an error `unknown_external_id`.

    No `If-Match`: results carry no revision a client could have read (they are keyed by the
    partner's own ids, pushed in bulk by its system), and withdrawing is idempotent in effect.
    Retries are made safe as for imports: a replayed `Idempotency-Key` returns the first answer
    verbatim (`Idempotent-Replayed: true`), the same key with another body is a 409."""
    answer = await service.withdraw(identity, body, idempotency_key=idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.body, media_type="application/json", headers=headers)


@router.get("/summary", response_model=ResultsSummary)
async def results_summary(service: ServiceDep, _: IdentityDep) -> ResultsSummary:
    """How many results are stored, from how many organisations (for dashboards)."""
    return await service.summary()


@router.get("", response_model=Page[ResultOut])
async def list_results(
    service: ServiceDep,
    _: IdentityDep,
    project: str | None = None,
    indicator: str | None = None,
    period: Annotated[str, Query(pattern=PERIOD_PATTERN)] | None = None,
    country: CountryCode | None = None,
    organisation: Acronym | None = None,
    year: ReportingYear | None = None,
    include_withdrawn: IncludeWithdrawn = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ResultOut]:
    filters = ResultFilters(
        project=project,
        indicator=indicator,
        period=period,
        country=country,
        organisation=organisation,
        year=year,
        include_withdrawn=include_withdrawn,
    )
    return await service.list(filters, limit, cursor)


# Only a UUID matches: /v1/results/import and /withdraw are not results (their Allow stays POST).
@router.get("/{result_id:uuid}", response_model=ResultOut)
async def get_result(result_id: uuid.UUID, service: ServiceDep, _: IdentityDep) -> ResultOut:
    """One result, a withdrawn one too (with `withdrawn_at`, `withdrawn_by` and the reason)."""
    return ResultOut.model_validate(await service.get_or_raise(result_id))
