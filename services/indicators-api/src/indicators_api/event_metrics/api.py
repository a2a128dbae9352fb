from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bp_common.app import IdentityDep, SessionDep
from bp_common.types import CountryCode
from indicators_api.event_metrics.models import EventMetric
from indicators_api.event_metrics.repository import EventMetricRepository
from indicators_api.event_metrics.schemas import EventMetricOut, EventMetricTotal

router = APIRouter(prefix="/v1/event-metrics", tags=["event metrics"])


@router.get("/{metric}", response_model=EventMetricTotal)
async def get_event_metric(
    metric: EventMetric,
    session: SessionDep,
    _: IdentityDep,
    country: CountryCode | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> EventMetricTotal:
    """The dialogue's own activity as counted from events (e.g. meetings held), by host country
    and year, with the total over the filter."""
    rows = await EventMetricRepository(session).list(metric, country, year)
    breakdown = [EventMetricOut.model_validate(row) for row in rows]
    return EventMetricTotal(
        metric=metric, value=sum(row.value for row in breakdown), breakdown=breakdown
    )
