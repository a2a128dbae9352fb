"""Hosting events on ``plan.events``; an accepted offer is announced as
``plan.activity.hosted.v1`` by the activities context."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from bp_common.events.contract import Event, Examples
from bp_common.types import CountryCode
from plan_api.hosting.models import OfferStatus


class HostingOfferedV1(Event):
    """A state offered to host an activity (through the API or at a meeting)."""

    type: ClassVar[str] = "plan.hosting.offered.v1"
    subject_field: ClassVar[str] = "offer_id"
    key_field: ClassVar[str] = "activity_id"
    examples: ClassVar[Examples] = (
        {
            "offer_id": "9d2b3c4f-6a7e-4f10-8b2c-3d4e5f607182",
            "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
            "plan_id": "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20",
            "country": "BG",
            "year": 2020,
            "note": "Sofia, second quarter",
            "status": "offered",
        },
    )

    offer_id: uuid.UUID
    activity_id: uuid.UUID
    plan_id: uuid.UUID
    country: CountryCode
    year: int | None = Field(description="The year offered, else the activity's.")
    note: str | None
    status: OfferStatus


EVENTS = (HostingOfferedV1,)
