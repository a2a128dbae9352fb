"""Events of the results framework on ``indicators.events``."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from indicators_api.framework.models import Indicator


class YearValueV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int
    value: float


class IndicatorCorrectedV1(Event):
    """The Secretariat corrected an indicator (title, level, direction, rule, measure,
    baseline, targets, disaggregations): the indicator as it now stands, its new revision and
    the fields changed. When the change moves its values or progress, its rollups were
    recomputed in the same transaction and `indicators.rollup.updated.v1` names every group.
    The rollup and framework snapshots taken before keep the indicator as it was then."""

    type: ClassVar[str] = "indicators.indicator.corrected.v1"
    subject_field: ClassVar[str] = "indicator"
    key_field: ClassVar[str] = "indicator"
    examples: ClassVar[Examples] = (
        {
            "indicator": "RES-1.1",
            "title": "People reached by awareness-raising campaigns",
            "level": "output",
            "goal": 1,
            "measure": "unit",
            "ascending": True,
            "aggregation": "sum",
            "cumulative": False,
            "source": "reported",
            "baseline": {"year": 2019, "value": 100.0},
            "targets": [{"year": 2020, "value": 20000.0}, {"year": 2021, "value": 45000.0}],
            "disaggregations": ["sex"],
            "revision": 3,
            "changed": ["targets"],
        },
    )

    indicator: str = Field(description="The indicator's code.")
    title: str
    level: str
    goal: int
    measure: str
    ascending: bool
    aggregation: str
    cumulative: bool
    source: str
    baseline: YearValueV1 | None
    targets: list[YearValueV1]
    disaggregations: list[str]
    revision: int = Field(ge=1, description="The indicator's revision after the correction.")
    changed: list[str] = Field(description="The fields changed, sorted.")

    @classmethod
    def of(cls, indicator: Indicator, changed: list[str]) -> Self:
        return cls(
            indicator=indicator.code,
            title=indicator.title,
            level=indicator.level,
            goal=indicator.goal,
            measure=indicator.measure,
            ascending=indicator.ascending,
            aggregation=indicator.aggregation,
            cumulative=indicator.cumulative,
            source=indicator.source,
            baseline=indicator.baseline,
            targets=indicator.targets,
            disaggregations=indicator.disaggregations,
            revision=indicator.revision,
            changed=changed,
        )


EVENTS = (IndicatorCorrectedV1,)
