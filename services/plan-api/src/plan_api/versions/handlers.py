"""A meeting's ``endorsement`` decision on a plan endorses the version it names."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent
from plan_api.base import handler_outbox
from plan_api.fields import VersionNumber
from plan_api.versions.service import VersionService


class EndorsementPayload(BaseModel):
    """The fields of meetings-api's decision (docs/events.md) an endorsement needs."""

    model_config = ConfigDict(extra="ignore")

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    plan_id: uuid.UUID
    plan_version: VersionNumber | None = None


async def on_decision_recorded(session: AsyncSession, event: CloudEvent) -> None:
    if event.data.get("kind") != "endorsement" or event.data.get("plan_id") is None:
        return  # a decision that endorses no plan
    payload = EndorsementPayload.model_validate(event.data)
    await VersionService(session, handler_outbox).endorse_from_decision(
        payload.plan_id, payload.plan_version, payload.meeting_id
    )
