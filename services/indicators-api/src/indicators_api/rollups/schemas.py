from __future__ import annotations

from pydantic import BaseModel, Field


class RollupFilters(BaseModel):
    indicator: str | None = None
    goal: int | None = None
    country: str | None = None
    year: int | None = None
    organisation: str | None = None
    project: str | None = None


class RollupOut(BaseModel):
    """An indicator's value over a group of results and event facts, with its rule applied.
    Dimensions not grouped by (nor fixed by a filter) are null."""

    indicator: str
    goal: int | None = None
    country: str | None = None
    year: int | None = None
    organisation: str | None = Field(
        default=None, description="Null on the dialogue's own activity (event-fed indicators)."
    )
    project: str | None = None
    value: float = Field(description="For a qualitative indicator: the number of reports.")
    target: float | None = Field(default=None, description="The indicator's target for the year.")
    progress: float | None = Field(
        default=None, description="(value - baseline) / (target - baseline); 1 = target reached."
    )
