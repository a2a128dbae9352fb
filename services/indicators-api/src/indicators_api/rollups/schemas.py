from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import EventReader


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


class SnapshotRow(BaseModel):
    indicator: str
    title: str
    goal: int
    year: int
    value: float
    target: float | None = None
    progress: float | None = None


class RollupSnapshotOut(BaseModel):
    """The rollups by goal x indicator x year as they stood when the meeting was held."""

    model_config = ConfigDict(from_attributes=True)

    meeting_id: uuid.UUID
    taken_at: datetime = Field(description="When the meeting was announced held.")
    rows: list[SnapshotRow]


class HeldMeeting(EventReader):
    """The rollups by goal x indicator x year are frozen for the meeting held, once, after the
    meeting itself was counted; a snapshot already taken is kept (a replay never rebuilds it)."""

    meeting_id: uuid.UUID
