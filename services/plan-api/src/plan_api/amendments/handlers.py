"""An ``amendment_request`` intervention on a plan becomes an amendment proposed by the
delegation against ``plan_version`` (else the plan's latest circulated version)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent
from plan_api.amendments.schemas import AmendmentProposal
from plan_api.amendments.service import AmendmentService
from plan_api.base import handler_outbox
from plan_api.fields import Proposer, VersionNumber


class AmendmentRequestPayload(BaseModel):
    """The fields of meetings-api's intervention (docs/events.md) an amendment needs."""

    model_config = ConfigDict(extra="ignore")

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    delegation: Proposer
    plan_id: uuid.UUID
    plan_version: VersionNumber | None = None
    amendment: AmendmentProposal


async def on_amendment_request(session: AsyncSession, event: CloudEvent) -> None:
    if event.data.get("plan_id") is None:
        return  # a request about something other than a plan
    payload = AmendmentRequestPayload.model_validate(event.data)
    await AmendmentService(session, handler_outbox).propose_from_meeting(
        payload.plan_id,
        payload.plan_version,
        payload.delegation,
        payload.amendment,
        meeting_id=payload.meeting_id,
        intervention_id=payload.intervention_id,
    )
