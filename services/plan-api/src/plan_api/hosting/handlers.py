"""An ``offer_to_host`` intervention at a meeting becomes a hosting offer by the delegation's
country for the intervention's year (else the activity's)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import TypeAdapter, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import EventReader
from bp_common.events.envelope import CloudEvent
from bp_common.types import CountryCode, LongText, Year
from plan_api.base import handler_outbox
from plan_api.hosting.service import HostingService
from plan_api.proceedings.models import RecordKind
from plan_api.proceedings.repository import MeetingRecordNewsRepository

logger = logging.getLogger(__name__)

_COUNTRY: TypeAdapter[str] = TypeAdapter(CountryCode)


class OfferToHostPayload(EventReader):
    """The fields of meetings-api's intervention an offer needs: an ``offer_to_host`` naming a
    plan activity concerns plan-api, an offer to host something else does not. It becomes a
    hosting offer by the delegation's country for ``year`` (else the activity's); an
    organisation's offer is ignored (hosts are states)."""

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    delegation: str
    delegation_type: Literal["state", "organisation"]
    activity_id: uuid.UUID
    year: Year | None = None
    text: LongText | None = None

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        return data.get("kind") == "offer_to_host" and data.get("activity_id") is not None

    @field_validator("text", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def offered_country(payload: OfferToHostPayload) -> str | None:
    """The offering state; None for an organisation's offer (hosts are states)."""
    if payload.delegation_type != "state":
        logger.info(
            "offer to host by organisation %s ignored: hosts are states", payload.delegation
        )
        return None
    return _COUNTRY.validate_python(payload.delegation)


async def on_offer_to_host(
    session: AsyncSession, payload: OfferToHostPayload, event: CloudEvent
) -> None:
    # A recorded intervention is at its first revision; a correction or withdrawal heard
    # before (a re-driven dead letter) wins.
    if not await MeetingRecordNewsRepository(session).heard(
        payload.intervention_id, RecordKind.INTERVENTION, 1
    ):
        return
    country = offered_country(payload)
    if country is None:
        return
    await HostingService(session, handler_outbox).offer_from_meeting(
        payload.activity_id,
        country,
        payload.year,
        payload.text,
        meeting_id=payload.meeting_id,
        intervention_id=payload.intervention_id,
    )
