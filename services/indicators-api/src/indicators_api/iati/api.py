from __future__ import annotations

import tempfile
from typing import IO, Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from bp_common.app import IdentityDep, OutboxDep, SessionDep, runtime_of
from bp_common.errors import DomainError, refusals
from bp_common.security import Identity, Role
from bp_common.types import Acronym, QueryBool
from indicators_api.iati.schemas import IatiImportOutcome, MappingIn, MappingOut
from indicators_api.iati.service import IatiService, export_document
from indicators_api.results.api import IdempotencyKeyHeader, ReporterQuery, import_response
from indicators_api.results.payload import UnsupportedMediaType
from indicators_api.results.service import ResultsWriteForbidden
from indicators_api.settings import IndicatorsSettings

router = APIRouter(prefix="/v1/iati", tags=["iati"])
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # beyond this the body waits on disk


class BodyTooLarge(DomainError):
    status = 413
    code = "body_too_large"


def _settings(request: Request) -> IndicatorsSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, IndicatorsSettings)
    return settings


async def _service(request: Request, session: SessionDep, outbox: OutboxDep) -> IatiService:
    return IatiService(session, outbox, _settings(request))


ServiceDep = Annotated[IatiService, Depends(_service)]


def _may_map(identity: Identity, organisation: str) -> str:
    organisation = organisation.strip().upper()
    if identity.role is Role.SECRETARIAT or (
        identity.role is Role.PARTNER and (identity.organisation or "").upper() == organisation
    ):
        return organisation
    raise ResultsWriteForbidden("Only the organisation itself and the Secretariat map its IATI.")


async def _spooled_body(request: Request, limit: int) -> IO[bytes]:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media not in ("application/xml", "text/xml"):
        raise UnsupportedMediaType(f"Send application/xml (IATI 2.03), not {media or 'nothing'}.")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"At most {limit} bytes per IATI import.")
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            body.close()
            raise BodyTooLarge(f"At most {limit} bytes per IATI import.")
        body.write(chunk)
    body.seek(0)
    return body


@router.post(
    "/import",
    response_model=IatiImportOutcome,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string"}}},
        }
    },
    responses=refusals(
        {
            413: {"body_too_large": "the document is over the IATI import's limit."},
            415: {"unsupported_media_type": "send `application/xml`."},
            422: {
                "malformed_xml": "the body is not well-formed XML.",
                "iati_schema_invalid": "the document fails the IATI 2.03 schema (every error).",
                "not_iati_activities": "the root is not `iati-activities`.",
                "unsupported_iati_version": "an IATI 1.x document.",
                "organisation_required": "a Secretariat key names the reporting organisation.",
            },
            409: {"idempotency_key_reused": "the `Idempotency-Key` came with another body."},
        }
    ),
)
async def import_iati(
    request: Request,
    service: ServiceDep,
    identity: IdentityDep,
    dry_run: QueryBool = False,
    organisation: ReporterQuery = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Import the results of an IATI 2.03 `iati-activities` document (streamed, in batches).

    The document is first validated against the official IATI 2.03 schema: if it fails, it is
    refused whole (422 `iati_schema_invalid`, every schema error in `errors` with `loc`
    [activity identifier, XPath]) and nothing is stored. Other refusals of the whole: 400
    `malformed_xml`, 422 `not_iati_activities` (another root), 422 `unsupported_iati_version`
    (1.x), 413 `body_too_large`, 415.

    Then each activity's results are read by the IATI results rules and the organisation's
    mapping (`/v1/iati/mappings/{organisation}`); each refused element is one entry of `errors`
    (activity, xpath, code, message): `identifier_not_prefixed`, `reporting_org_not_organisation`,
    `reference_at_result_and_indicator`, `value_not_numeric`, `value_on_qualitative`,
    `period_start_after_end`, `period_not_platform_period`, `unmapped_indicator`,
    `unmapped_dimension`, `unknown_project`, and the codes of the results import. Valid rows go
    through the results import: same counts, upsert key, Idempotency-Key, rollups and events."""
    body = await _spooled_body(request, _settings(request).iati_max_body_bytes)
    with body:
        answer = await service.import_document(
            identity,
            body,
            organisation=organisation,
            dry_run=dry_run,
            idempotency_key=idempotency_key,
        )
    return import_response(answer)


@router.get(
    "/activities.xml",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/xml": {}}}}
    | refusals(
        {
            404: {"no_activities": "no project matches (a document needs one activity)."},
            409: {"organisation_iati_identifier_unknown": "the registry has no IATI id for it."},
        }
    ),
)
async def export_iati(
    request: Request,
    service: ServiceDep,
    _: IdentityDep,
    organisation: Acronym | None = None,
    project: str | None = None,
) -> StreamingResponse:
    """The projects (all, an organisation's, or one) and their results as an IATI 2.03
    `iati-activities` document, valid against the official schema. The reporting-org is the
    organisation named, or the Secretariat's for the whole Process. Each indicator carries a
    `reference` in the platform's own vocabulary, so the document imports back unmapped.
    Streamed as it is written (one period of results at a time): a large organisation's
    export takes no more memory than a small one's."""
    plan = await service.plan_export(organisation=organisation, project=project)
    chunks = export_document(runtime_of(request).database, plan, organisation)
    return StreamingResponse(chunks, media_type="application/xml")


@router.get(
    "/mappings/{organisation}",
    response_model=MappingOut,
    responses=refusals({404: {"iati_mapping_not_found": "the organisation has no mapping."}}),
)
async def get_mapping(
    organisation: Acronym, service: ServiceDep, identity: IdentityDep
) -> MappingOut:
    mapping = await service.get_mapping(_may_map(identity, organisation))
    return MappingOut(
        organisation=mapping.organisation,
        indicators=mapping.indicators,
        dimensions=mapping.dimensions,
    )


@router.put("/mappings/{organisation}", response_model=MappingOut)
async def put_mapping(
    organisation: Acronym, data: MappingIn, service: ServiceDep, identity: IdentityDep
) -> MappingOut:
    """Replace the organisation's IATI mapping (the organisation itself or the Secretariat)."""
    mapping = await service.put_mapping(_may_map(identity, organisation), data)
    return MappingOut(
        organisation=mapping.organisation,
        indicators=mapping.indicators,
        dimensions=mapping.dimensions,
    )
