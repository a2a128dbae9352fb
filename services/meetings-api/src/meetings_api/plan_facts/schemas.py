"""What this context reads of plan-api's events; unknown fields are ignored."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from bp_common.events.contract import EventReader


class OfferNews(EventReader):
    """``plan.hosting.offered.v1``: a hosting offer, maybe from an intervention here."""

    offer_id: uuid.UUID
    activity_id: uuid.UUID
    country: str = Field(max_length=2)
    status: str = Field(max_length=30)
    intervention_id: uuid.UUID | None = None


class ActivityHostedNews(EventReader):
    """``plan.activity.hosted.v1``: the activity got its host by accepting ``offer_id``."""

    activity_id: uuid.UUID
    offer_id: uuid.UUID | None = None
    country: str | None = Field(default=None, max_length=2)
    intervention_id: uuid.UUID | None = None

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        return data.get("offer_id") is not None


class OfferWithdrawnNews(EventReader):
    """``plan.hosting.withdrawn.v1``: the offer no longer stands."""

    offer_id: uuid.UUID


class EndorsementNews(EventReader):
    """``plan.endorsed.v1``: this version of the plan is endorsed, for good."""

    plan_id: uuid.UUID
    version: int = Field(ge=1)
