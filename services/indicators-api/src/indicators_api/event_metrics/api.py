from __future__ import annotations

from fastapi import APIRouter

from bp_common.app import IdentityDep, OutboxDep, SessionDep
from bp_common.types import CountryCode, Year
from indicators_api.event_metrics.models import EventMetric
from indicators_api.event_metrics.schemas import EventMetricTotal
from indicators_api.event_metrics.service import EventMetricService

router = APIRouter(prefix="/v1/event-metrics", tags=["event metrics"])


@router.get("/{metric}", response_model=EventMetricTotal)
async def get_event_metric(
    metric: EventMetric,
    session: SessionDep,
    outbox: OutboxDep,
    _: IdentityDep,
    country: CountryCode | None = None,
    year: Year | None = None,
) -> EventMetricTotal:
    """The dialogue's own activity as counted from events (meetings held, participants,
    countries represented, activities hosted), by host country and year, with the total over
    the filter."""
    return await EventMetricService(session, outbox).total(metric, country, year)
