from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from bp_common.app import IdentityDep, OutboxDep, SessionDep
from bp_common.errors import FieldError, InvalidInput
from bp_common.types import Acronym, CountryCode, GoalNumber
from indicators_api.fields import ReportingYear
from indicators_api.rollups import service as rules
from indicators_api.rollups.schemas import RollupFilters, RollupOut, RollupSnapshotOut
from indicators_api.rollups.service import DIMENSIONS, RollupService

router = APIRouter(prefix="/v1/rollups", tags=["rollups"])


async def _service(session: SessionDep, outbox: OutboxDep) -> RollupService:
    return RollupService(session, outbox)


_DIMENSION = f"\\s*({'|'.join(DIMENSIONS)})?\\s*"
# What `_dimensions` takes, for the document (it answers `invalid_grouping` itself).
GROUPING_PATTERN = f"^{_DIMENSION}(,{_DIMENSION})*$"


def _dimensions(by: str) -> list[str]:
    chosen = [part.strip() for part in by.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in DIMENSIONS]
    if unknown:
        raise InvalidInput(
            f"`by` takes a comma-separated subset of {', '.join(DIMENSIONS)}.",
            code="invalid_grouping",
            errors=[
                FieldError(loc=["query", "by"], code="invalid_grouping", message=f"unknown: {u}")
                for u in unknown
            ],
        )
    return chosen


@router.get("", response_model=list[RollupOut], description=rules.__doc__ or "")
async def get_rollups(
    service: Annotated[RollupService, Depends(_service)],
    _: IdentityDep,
    indicator: str | None = None,
    goal: GoalNumber | None = None,
    country: CountryCode | None = None,
    year: ReportingYear | None = None,
    organisation: Acronym | None = None,
    project: str | None = None,
    by: Annotated[
        str,
        Query(
            description=f"Comma-separated subset of {', '.join(DIMENSIONS)}.",
            json_schema_extra={"pattern": GROUPING_PATTERN},
        ),
    ] = "goal,country,year",
) -> list[RollupOut]:
    filters = RollupFilters(
        indicator=indicator,
        goal=goal,
        country=country,
        year=year,
        organisation=organisation,
        project=project,
    )
    return await service.rows(filters, _dimensions(by))


@router.get("/snapshots", response_model=list[RollupSnapshotOut])
async def get_snapshots(
    service: Annotated[RollupService, Depends(_service)],
    _: IdentityDep,
    meeting: Annotated[uuid.UUID, Query(description="The meeting held.")],
) -> list[RollupSnapshotOut]:
    """The rollups by goal x indicator x year frozen when the meeting was held (the results as
    presented there): one snapshot, never changed by later imports or replays; none while the
    meeting is not held."""
    return await service.snapshots_of(meeting)
