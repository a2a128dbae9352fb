from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from bp_common.app import IdentityDep, OutboxDep, SecretariatDep, SessionDep
from bp_common.errors import cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.revisions import PRECONDITION_REFUSALS, IfMatchRequired, answer_with_etag
from bp_common.types import GoalNumber
from indicators_api.framework.models import Level, Source
from indicators_api.framework.schemas import (
    FrameworkOut,
    IndicatorCreate,
    IndicatorFilters,
    IndicatorOut,
    IndicatorUpdate,
    SnapshotOut,
)
from indicators_api.framework.service import FrameworkService

indicators_router = APIRouter(prefix="/v1/indicators", tags=["results framework"])
framework_router = APIRouter(prefix="/v1/framework", tags=["results framework"])


async def _service(session: SessionDep, outbox: OutboxDep) -> FrameworkService:
    return FrameworkService(session, outbox)


ServiceDep = Annotated[FrameworkService, Depends(_service)]


@indicators_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IndicatorOut,
    responses=refusals(
        {
            422: cross_field(
                "a qualitative indicator with numeric baseline or targets",
                "a percentage outside 0..100 or a negative count",
                "target years repeat",
                "an event-fed indicator that is not a disaggregated unit count",
            )
            | {"unknown_goal": "the endorsed framework has no such goal."},
            409: {"indicator_exists": "an indicator has this code."},
        }
    ),
)
async def create_indicator(
    body: IndicatorCreate, service: ServiceDep, _: SecretariatDep, response: Response
) -> IndicatorOut:
    """An indicator under one of the plan's goals. One with a source other than `reported` is
    fed by events (meetings held, participants, countries represented, activities hosted),
    including those that arrived before it was created."""
    indicator = await service.create(body)
    return answer_with_etag(response, indicator, IndicatorOut)


@indicators_router.get("", response_model=Page[IndicatorOut])
async def list_indicators(
    service: ServiceDep,
    _: IdentityDep,
    goal: GoalNumber | None = None,
    level: Level | None = None,
    source: Source | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[IndicatorOut]:
    return await service.list(
        IndicatorFilters(goal=goal, level=level, source=source), limit, cursor
    )


@indicators_router.get("/{code}", response_model=IndicatorOut)
async def get_indicator(
    code: str, service: ServiceDep, _: IdentityDep, response: Response
) -> IndicatorOut:
    """The indicator, with its revision as `ETag` (what a correction names in `If-Match`)."""
    indicator = await service.get(code)
    return answer_with_etag(response, indicator, IndicatorOut)


@indicators_router.patch(
    "/{code}",
    response_model=IndicatorOut,
    responses=refusals(
        {
            422: cross_field(
                "a qualitative indicator with numeric baseline or targets",
                "a percentage outside 0..100 or a negative count",
                "target years repeat",
                "an event-fed indicator that is not a disaggregated unit count",
                "`code`, `goal` or `source` given (they never change)",
            ),
            409: {
                "measure_conflicts_with_results": "the indicator's results do not fit the new "
                "measure (text and numbers, or values above 100 for a percentage).",
                "disaggregation_in_use": "a dimension is removed from an indicator with results.",
            },
            **PRECONDITION_REFUSALS,
        }
    ),
)
async def update_indicator(
    code: str,
    body: IndicatorUpdate,
    service: ServiceDep,
    _: SecretariatDep,
    precondition: IfMatchRequired,
    response: Response,
) -> IndicatorOut:
    """Correct an indicator (title, level, direction, rule, measure, baseline, targets,
    dimensions) against the revision read (`If-Match`, required). A change of what its values
    or progress are made of (rule, measure, cumulative, direction, baseline, targets)
    recomputes its rollups in the same transaction and announces every group
    (`indicators.rollup.updated.v1`). The rollup snapshots frozen at meetings held and the
    framework snapshots keep the indicator as it was. Announced as
    `indicators.indicator.corrected.v1`."""
    indicator = await service.update(code, body, precondition)
    return answer_with_etag(response, indicator, IndicatorOut)


@framework_router.get("", response_model=FrameworkOut)
async def get_framework(service: ServiceDep, _: IdentityDep) -> FrameworkOut:
    """The current framework: the endorsed plan's goals with their indicators."""
    return await service.framework()


@framework_router.get("/snapshots", response_model=Page[SnapshotOut])
async def list_snapshots(
    service: ServiceDep, _: IdentityDep, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> Page[SnapshotOut]:
    """The framework as it stood at each endorsement of a plan version, newest first."""
    return await service.list_snapshots(limit, cursor)
