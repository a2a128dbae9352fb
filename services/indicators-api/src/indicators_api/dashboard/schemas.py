from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from bp_common.events.contract import EventReader
from bp_common.types import CountryCode
from indicators_api.event_metrics.schemas import Attendance, Revision

# -- the answer ---------------------------------------------------------------------------------


class NextMeeting(BaseModel):
    id: str
    title: str
    starts_on: date
    city: str
    country: str


class MeetingsSummary(BaseModel):
    held: int
    planned: int
    cancelled: int
    participants: int = Field(description="Participants of the meetings held, summed.")
    next_meeting: NextMeeting | None = Field(description="The next planned meeting.")


class PlanSummary(BaseModel):
    plan_id: str
    title: str
    period: str
    current_version: int | None
    version_status: str | None
    endorsed_version: int | None
    activities_by_status: dict[str, int]
    activities_by_host: dict[str, int]


class ResultsSummary(BaseModel):
    results: int
    organisations: int
    indicators_on_track: int = Field(description="Latest year with a target: target reached.")
    indicators_off_track: int = Field(description="Latest year with a target: not reached yet.")
    indicators_without_data: int


class DashboardSummary(BaseModel):
    generated_at: datetime
    as_of: datetime | None = Field(
        description="The time of the latest event the figures include; null before the first."
    )
    meetings: MeetingsSummary | None
    plan: PlanSummary | None = Field(description="The latest plan; null before the first one.")
    results: ResultsSummary | None
    unavailable: list[str] = Field(
        description="Parts that could not be read. The summary is one read model fed by events, "
        "so it answers whole (possibly behind, see `as_of`) even while a service is down."
    )


# -- what the read model reads of the events; anything else is ignored -------------------------

Text = Annotated[str, Field(max_length=300)]


class MeetingNews(EventReader):
    """Every meeting event carries the whole meeting as it now stands."""

    meeting_id: str = Field(min_length=1, max_length=64)
    revision: Revision = 0
    status: str = Field(max_length=16)
    title: Text
    starts_on: date
    city: str = Field(max_length=120)
    country: CountryCode
    attendance: Attendance | None = None


class ActivityNews(EventReader):
    """Every activity event carries the whole activity as it now stands."""

    activity_id: str = Field(min_length=1, max_length=64)
    plan_id: str = Field(min_length=1, max_length=64)
    revision: Revision = 0
    status: str = Field(max_length=16)
    host_countries: list[CountryCode]


class PlanCreated(EventReader):
    plan_id: uuid.UUID
    title: Text
    period_start: int
    period_end: int


class VersionCirculated(EventReader):
    plan_id: uuid.UUID
    version: int = Field(ge=1)
    status: str = Field(max_length=16)


class PlanEndorsed(EventReader):
    plan_id: uuid.UUID
    title: Text
    version: int = Field(ge=1)
    period_start: int
    period_end: int


class ResultsImported(EventReader):
    organisation: str = Field(min_length=1, max_length=40)
    created: int = Field(ge=0)


class RollupUpdated(EventReader):
    indicator: str = Field(min_length=1, max_length=50)
