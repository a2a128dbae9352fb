"""Events of the rollups on ``indicators.events``."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples


class RollupGroupV1(BaseModel):
    """One group of a rollup: null where the group is not broken down by that dimension."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goal: int | None
    country: str | None
    year: int | None


class RollupUpdatedV1(Event):
    """The rollups of an indicator changed (results imported, event-fed metrics counted): one
    event per indicator, naming the groups whose values changed."""

    type: ClassVar[str] = "indicators.rollup.updated.v1"
    subject_field: ClassVar[str] = "indicator"
    key_field: ClassVar[str] = "indicator"
    examples: ClassVar[Examples] = (
        {
            "indicator": "RES-1.1",
            "groups": [
                {"goal": 1, "country": "TR", "year": 2020},
                {"goal": 1, "country": None, "year": 2020},
            ],
        },
    )

    indicator: str = Field(description="The indicator's code.")
    groups: list[RollupGroupV1]


EVENTS = (RollupUpdatedV1,)
