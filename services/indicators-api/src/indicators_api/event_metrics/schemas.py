from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bp_common.events.contract import EventReader
from bp_common.types import CountryCode, Quarter
from indicators_api.event_metrics.models import EventMetric
from indicators_api.fields import ReportingYear


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


# -- what this service reads of other services' events; anything else is ignored ------------

# A headcount; a list of attendees counts as its length.
Count = Annotated[
    int, BeforeValidator(lambda v: len(v) if isinstance(v, list) else v), Field(ge=0, le=10**9)
]


class Attendance(BaseModel):
    participants: Count = 0
    countries: Count = 0


# plan-api's activity revision, meetings-api's meeting revision; news without one is older
# than any other.
Revision = Annotated[int, Field(ge=0, lt=2**31)]


class MeetingHeld(EventReader):
    """A meeting held counts once for its country and month, with its participants and the
    countries represented; a correction of its attendance (a delegation list corrected after
    it was held, ``meetings.meeting.attendance_corrected.v1``) replaces those two, unless news
    of a later revision of the meeting was applied."""

    meeting_id: str = Field(min_length=1, max_length=64)
    starts_on: date
    country: CountryCode
    attendance: Attendance | None = None
    revision: Revision = 0


class Activity(EventReader):
    """The activity as one of plan-api's news of it stands (every one carries all of it):
    ``activities_hosted`` counts 1 per accepted host country in the activity's year and quarter
    as its latest news has them, so the count moves with the activity and follows new hosts.
    News at a revision already applied, heard again or late, changes nothing."""

    activity_id: str = Field(min_length=1, max_length=64)
    year: ReportingYear
    quarter: Quarter | None = None
    host_countries: list[CountryCode]
    status: str | None = None
    revision: Revision = 0


class ActivityCancelled(EventReader):
    """A cancelled activity's hosts no longer count, for good."""

    activity_id: str = Field(min_length=1, max_length=64)
    revision: Revision


@dataclass(frozen=True, slots=True)
class Fact:
    """One thing the dialogue did, as counted by a metric (value 1 per meeting held, or its
    headcount), in a host country and period."""

    metric: EventMetric
    source_id: str
    country: str
    year: int
    period: str
    period_key: int
    value: float
