"""Activity events on ``plan.events``. Each carries the whole activity as it now stands, so a
consumer may keep only the latest news of it (by ``revision``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from bp_common.types import CountryCode
from plan_api.activities.models import Activity, ActivityKind, ActivityStatus

ACTIVITY_EXAMPLE: dict[str, Any] = {
    "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
    "plan_id": "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20",
    "title": "Regional training on return counselling",
    "goal": 3,
    "kind": "training",
    "working_group": "Silk Routes",
    "year": 2020,
    "quarter": 2,
    "starts_on": "2020-05-12",
    "ends_on": "2020-05-14",
    "status": "scheduled",
    "host_countries": ["BG"],
    "revision": 4,
}
UNDATED = {"starts_on": None, "ends_on": None, "quarter": None, "working_group": None}


class ActivityV1(Event):
    """The activity as every activity event carries it."""

    subject_field: ClassVar[str] = "activity_id"
    key_field: ClassVar[str] = "activity_id"

    activity_id: uuid.UUID
    plan_id: uuid.UUID
    title: str
    goal: int = Field(description="The number of the plan's priority goal.")
    kind: ActivityKind
    working_group: str | None
    year: int
    quarter: int | None = Field(ge=1, le=4)
    starts_on: date | None
    ends_on: date | None
    status: ActivityStatus
    host_countries: list[CountryCode] = Field(description="The accepted hosts.")
    revision: int = Field(
        ge=0, description="Grows with every change: a consumer ignores older news."
    )

    @classmethod
    def of(cls, activity: Activity, **extra: Any) -> ActivityV1:
        return cls(
            activity_id=activity.id,
            plan_id=activity.plan_id,
            title=activity.title,
            goal=activity.goal,
            kind=activity.kind,
            working_group=activity.working_group,
            year=activity.year,
            quarter=activity.quarter,
            starts_on=activity.starts_on,
            ends_on=activity.ends_on,
            status=activity.status,
            host_countries=list(activity.host_countries),
            revision=activity.revision,
            **extra,
        )


class PreviousDatesV1(BaseModel):
    """The dates before the change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_on: date | None
    ends_on: date | None


class ActivityProposedV1(ActivityV1):
    """An activity was added to the plan (by the Secretariat or an accepted amendment)."""

    type: ClassVar[str] = "plan.activity.proposed.v1"
    examples: ClassVar[Examples] = (
        {**ACTIVITY_EXAMPLE, **UNDATED, "status": "proposed", "host_countries": []},
    )


class ActivityHostedV1(ActivityV1):
    """A host's offer was accepted: the activity is hosted (another host may join later)."""

    type: ClassVar[str] = "plan.activity.hosted.v1"
    examples: ClassVar[Examples] = (
        {
            **ACTIVITY_EXAMPLE,
            **UNDATED,
            "status": "hosted",
            "offer_id": "9d2b3c4f-6a7e-4f10-8b2c-3d4e5f607182",
            "country": "BG",
            "intervention_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        },
    )

    offer_id: uuid.UUID = Field(description="The accepted hosting offer.")
    country: CountryCode | None = Field(default=None, description="The host accepted.")
    intervention_id: uuid.UUID | None = Field(
        default=None,
        description="The meeting's offer_to_host intervention that made the accepted offer, if "
        "any: from now on it is final.",
    )


class ActivityScheduledV1(ActivityV1):
    """The activity got dates or new dates (an edit, or the meeting carrying it out was
    scheduled or rescheduled), whatever else changed with them."""

    type: ClassVar[str] = "plan.activity.scheduled.v1"
    examples: ClassVar[Examples] = (ACTIVITY_EXAMPLE,)


class ActivityUpdatedV1(ActivityV1):
    """Any change other than the dates: an edit (through the API or an accepted amendment), or
    the status when a host comes on offer (proposed -> host_offered) or the last offer is
    declined (back to proposed)."""

    type: ClassVar[str] = "plan.activity.updated.v1"
    examples: ClassVar[Examples] = (
        {**ACTIVITY_EXAMPLE, "changed": ["title"]},
        {**ACTIVITY_EXAMPLE, **UNDATED, "status": "host_offered", "changed": ["status"]},
    )

    changed: list[str] = Field(
        description="The fields changed; may name fields this payload does not carry "
        "(description, lead)."
    )


class ActivityUnscheduledV1(ActivityV1):
    """The meeting that was to carry the activity out was cancelled, or now carries out another
    one: the activity loses its dates and goes back to hosted, host_offered or proposed."""

    type: ClassVar[str] = "plan.activity.unscheduled.v1"
    examples: ClassVar[Examples] = (
        {
            **ACTIVITY_EXAMPLE,
            "starts_on": None,
            "ends_on": None,
            "status": "hosted",
            "meeting_id": "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098",
            "previous": {"starts_on": "2020-05-12", "ends_on": "2020-05-14"},
        },
    )

    meeting_id: uuid.UUID = Field(description="The meeting that no longer carries it out.")
    previous: PreviousDatesV1


class ActivityCancelledV1(ActivityV1):
    """The activity was cancelled; it never changes again."""

    type: ClassVar[str] = "plan.activity.cancelled.v1"
    examples: ClassVar[Examples] = ({**ACTIVITY_EXAMPLE, "status": "cancelled", "revision": 5},)


class ActivityHeldV1(ActivityV1):
    """The meeting carrying out the activity was held; it never changes again."""

    type: ClassVar[str] = "plan.activity.held.v1"
    examples: ClassVar[Examples] = (
        {
            **ACTIVITY_EXAMPLE,
            "status": "held",
            "meeting_id": "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098",
        },
    )

    meeting_id: uuid.UUID = Field(description="The meeting held.")


EVENTS: tuple[type[Event], ...] = (
    ActivityProposedV1,
    ActivityHostedV1,
    ActivityScheduledV1,
    ActivityUpdatedV1,
    ActivityUnscheduledV1,
    ActivityCancelledV1,
    ActivityHeldV1,
)
