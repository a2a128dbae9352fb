"""Events of the rollups on ``indicators.events``."""

from __future__ import annotations

import uuid
from datetime import datetime
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


class SnapshotRowV1(BaseModel):
    """An indicator's value for one goal and year when the meeting was held."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: str = Field(description="The indicator's code.")
    title: str = Field(description="The indicator's title then.")
    goal: int
    year: int
    value: float
    target: float | None = Field(description="The indicator's target for the year, if any.")
    progress: float | None = Field(
        description="(value - baseline) / (target - baseline); 1 = target reached."
    )


class RollupSnapshotTakenV1(Event):
    """A meeting was held: the rollups by goal x indicator x year as they stood then, frozen for
    good (the results as presented at the meeting). Once per meeting; a replay or a later import
    never sends another."""

    type: ClassVar[str] = "indicators.rollup.snapshot_taken.v1"
    subject_field: ClassVar[str] = "meeting_id"
    key_field: ClassVar[str] = "meeting_id"
    examples: ClassVar[Examples] = (
        {
            "meeting_id": "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098",
            "taken_at": "2019-12-05T16:00:00Z",
            "rows": [
                {
                    "indicator": "BP-1.1",
                    "title": "Meetings of the dialogue held",
                    "goal": 1,
                    "year": 2019,
                    "value": 1.0,
                    "target": 6.0,
                    "progress": 0.1667,
                },
            ],
        },
    )

    meeting_id: uuid.UUID = Field(description="The meeting held.")
    taken_at: datetime = Field(description="When the meeting was announced held.")
    rows: list[SnapshotRowV1]


EVENTS = (RollupUpdatedV1, RollupSnapshotTakenV1)
