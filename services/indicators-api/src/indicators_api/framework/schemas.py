from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bp_common.events.contract import EventReader
from bp_common.types import BodyBool, GoalNumber, unclearable
from indicators_api.codelists import Dimension
from indicators_api.fields import MAX_VALUE, Code, ReportingYear, UniqueList, unique
from indicators_api.framework.models import Aggregation, Level, Measure, Source


class YearValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: ReportingYear
    # Strict: a JSON number (true/false or text are refused, not read as 1/0 or parsed).
    value: float = Field(ge=-MAX_VALUE, le=MAX_VALUE, strict=True)


class IndicatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    title: str = Field(min_length=1, max_length=300)
    level: Level
    goal: GoalNumber
    measure: Measure
    ascending: BodyBool = Field(default=True, description="Whether higher values are better.")
    aggregation: Aggregation
    cumulative: BodyBool = Field(
        default=False,
        description="Values are running totals: over time the latest period counts, not a sum.",
    )
    baseline: YearValue | None = None
    targets: list[YearValue] = []
    source: Source = Field(
        default=Source.REPORTED,
        description="`reported` by partners' imports; any other source is fed by events.",
    )
    disaggregations: UniqueList[Dimension] = []

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        unique([target.year for target in self.targets])
        values = [t.value for t in self.targets] + ([self.baseline.value] if self.baseline else [])
        if self.measure is Measure.QUALITATIVE and values:
            raise ValueError("a qualitative indicator has no numeric baseline or targets")
        if self.measure is Measure.PERCENTAGE and any(not 0 <= v <= 100 for v in values):
            raise ValueError("percentages lie between 0 and 100")
        if self.measure is Measure.UNIT and any(v < 0 for v in values):
            raise ValueError("counts are not negative")
        if self.source is not Source.REPORTED and (
            self.measure is not Measure.UNIT or self.disaggregations
        ):
            raise ValueError("an event-fed indicator counts units and is not disaggregated")
        self.targets.sort(key=lambda target: target.year)
        return self


# What identifies an indicator or decides what feeds it: never corrected (a new indicator is).
IMMUTABLE = {
    "code": "names the indicator in results and in the frozen snapshots",
    "goal": "results are reported for it under its goal (by projects that have that goal)",
    "source": "reported results and the events feeding an indicator are not interchangeable",
}


class IndicatorUpdate(BaseModel):
    """Fields to correct; a field left out is kept, ``null`` clears the baseline. `targets`
    replaces the list. Code, goal and source never change: create another indicator."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=300)] | None = unclearable()
    level: Level | None = unclearable()
    measure: Measure | None = unclearable()
    ascending: BodyBool | None = unclearable()
    aggregation: Aggregation | None = unclearable()
    cumulative: BodyBool | None = unclearable()
    baseline: YearValue | None = None
    targets: list[YearValue] | None = unclearable()
    disaggregations: UniqueList[Dimension] | None = unclearable()

    @model_validator(mode="before")
    @classmethod
    def _identity_is_kept(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, why in IMMUTABLE.items():
                if name in data:
                    raise ValueError(f"{name} never changes: it {why}; create a new indicator")
        return data

    # Validators run on given values only: these refuse an explicit null for a required field.
    @field_validator(
        "title",
        "level",
        "measure",
        "ascending",
        "aggregation",
        "cumulative",
        "targets",
        "disaggregations",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be changed but not cleared")
        return value


class IndicatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    title: str
    level: Level
    goal: int
    measure: Measure
    ascending: bool
    aggregation: Aggregation
    cumulative: bool
    baseline: YearValue | None
    targets: list[YearValue]
    source: Source
    disaggregations: list[Dimension]
    created_at: datetime
    updated_at: datetime


class IndicatorFilters(BaseModel):
    goal: int | None = None
    level: Level | None = None
    source: Source | None = None


class GoalOut(BaseModel):
    number: int
    title: str | None = None


class FrameworkGoal(GoalOut):
    indicators: list[IndicatorOut]


class FrameworkOut(BaseModel):
    """The current framework: the endorsed plan's goals (1..6, untitled, before any
    endorsement) with their indicators."""

    plan_id: uuid.UUID | None
    version: int | None
    endorsed_at: datetime | None
    goals: list[FrameworkGoal]


class SnapshotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    plan_id: uuid.UUID
    version: int
    title: str
    meeting_id: uuid.UUID | None
    endorsed_at: datetime
    goals: list[GoalOut]
    indicators: list[IndicatorOut]


class PlanEndorsed(EventReader):
    """What this service reads of ``plan.endorsed.v1``: the framework's goals follow the
    endorsed plan."""

    plan_id: uuid.UUID
    title: str
    version: int
    meeting_id: uuid.UUID | None = None
    goals: list[GoalOut]
