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
    """The dashboard counts each meeting by its status as its latest news has it (by
    `revision`), sums the participants of those held and shows the next planned one."""

    meeting_id: str = Field(min_length=1, max_length=64)
    revision: Revision = 0
    status: str = Field(max_length=16)
    title: Text
    starts_on: date
    city: str = Field(max_length=120)
    country: CountryCode
    attendance: Attendance | None = None


class ActivityNews(EventReader):
    """The dashboard counts each activity of a plan by status and by accepted host (a cancelled
    one is hosted nowhere), as its latest news has it (by `revision`)."""

    activity_id: str = Field(min_length=1, max_length=64)
    plan_id: str = Field(min_length=1, max_length=64)
    revision: Revision = 0
    status: str = Field(max_length=16)
    host_countries: list[CountryCode]


class PlanCreated(EventReader):
    """The dashboard shows the latest plan (by period, then by creation)."""

    plan_id: uuid.UUID
    title: Text
    period_start: int
    period_end: int


class VersionCirculated(EventReader):
    """The dashboard shows the plan's newest version and its status."""

    plan_id: uuid.UUID
    version: int = Field(ge=1)
    status: str = Field(max_length=16)


class PlanEndorsed(EventReader):
    """The dashboard shows the endorsed version (and the plan, if it first hears of it here)."""

    plan_id: uuid.UUID
    title: Text
    version: int = Field(ge=1)
    period_start: int
    period_end: int


class ResultsImported(EventReader):
    """The dashboard counts results by reporting organisation from the rows each import
    created."""

    organisation: str = Field(min_length=1, max_length=40)
    created: int = Field(ge=0)


class ResultsWithdrawn(EventReader):
    """The dashboard takes the withdrawn results off their organisation's count (on request or
    left out of a replace import: this event announces both)."""

    organisation: str = Field(min_length=1, max_length=40)
    withdrawn: int = Field(ge=0)


class RollupUpdated(EventReader):
    """The dashboard recomputes the indicator's standing from its rollups: its latest year with
    a target and data, reached or not."""

    indicator: str = Field(min_length=1, max_length=50)
