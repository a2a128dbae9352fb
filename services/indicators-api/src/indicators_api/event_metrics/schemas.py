from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from indicators_api.event_metrics.models import EventMetric


class EventMetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    metric: EventMetric
    country: str
    year: int
    value: float


class EventMetricTotal(BaseModel):
    metric: EventMetric
    value: float
    breakdown: list[EventMetricOut]
