from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from bp_common.types import CountryCode, LongText, Year
from bp_common.withdrawals import WithdrawnFields
from plan_api.hosting.models import OfferStatus


class OfferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    country: CountryCode
    year: Year | None = Field(default=None, description="Defaults to the activity's year.")
    note: LongText | None = None


class OfferOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    activity_id: uuid.UUID
    country: str
    year: int
    note: str | None
    status: OfferStatus
    decided_at: datetime | None
    meeting_id: uuid.UUID | None
    intervention_id: uuid.UUID | None
    revision: int
    created_at: datetime
