"""Hosting events on ``plan.events``; an accepted offer is announced as
``plan.activity.hosted.v1`` by the activities context."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self

from pydantic import Field

from bp_common.events.contract import Event, Examples
from bp_common.types import CountryCode
from bp_common.withdrawals import withdrawal_of
from plan_api.hosting.models import HostingOffer, OfferStatus

INTERVENTION_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
MEETING_ID = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"


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
        {
            "offer_id": "9d2b3c4f-6a7e-4f10-8b2c-3d4e5f607182",
            "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
            "plan_id": "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20",
            "country": "BG",
            "year": 2020,
            "note": "Bulgaria offers to host the training in Sofia.",
            "status": "offered",
            "intervention_id": INTERVENTION_ID,
            "meeting_id": MEETING_ID,
            "revision": 1,
        },
    )

    offer_id: uuid.UUID
    activity_id: uuid.UUID
    plan_id: uuid.UUID
    country: CountryCode
    year: int | None = Field(description="The year offered, else the activity's.")
    note: str | None
    status: OfferStatus
    intervention_id: uuid.UUID | None = Field(
        default=None, description="The meeting's offer_to_host intervention that made it, if any."
    )
    meeting_id: uuid.UUID | None = Field(default=None, description="The meeting it was made at.")
    revision: int | None = Field(default=None, description="The offer's revision (its ETag).")


class HostingWithdrawnV1(Event):
    """A hosting offer was withdrawn (by the offering state or the Secretariat, or because the
    intervention that made it was withdrawn or corrected): it stays as a tombstone. An accepted
    offer is never withdrawn."""

    type: ClassVar[str] = "plan.hosting.withdrawn.v1"
    subject_field: ClassVar[str] = "offer_id"
    key_field: ClassVar[str] = "activity_id"
    examples: ClassVar[Examples] = (
        {
            "offer_id": "9d2b3c4f-6a7e-4f10-8b2c-3d4e5f607182",
            "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
            "plan_id": "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20",
            "country": "BG",
            "year": 2020,
            "reason": "Recorded under the wrong delegation.",
            "withdrawn_by": "secretariat",
            "intervention_id": INTERVENTION_ID,
            "meeting_id": MEETING_ID,
            "revision": 2,
        },
    )

    offer_id: uuid.UUID
    activity_id: uuid.UUID
    plan_id: uuid.UUID
    country: CountryCode
    year: int
    reason: str
    withdrawn_by: str
    intervention_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None
    revision: int

    @classmethod
    def of(cls, offer: HostingOffer, plan_id: uuid.UUID) -> Self:
        """``plan_id``: its activity's."""
        return cls(
            offer_id=offer.id,
            activity_id=offer.activity_id,
            plan_id=plan_id,
            country=offer.country,
            year=offer.year,
            intervention_id=offer.intervention_id,
            meeting_id=offer.meeting_id,
            revision=offer.revision,
            **withdrawal_of(offer, cls),
        )


EVENTS = (HostingOfferedV1, HostingWithdrawnV1)
