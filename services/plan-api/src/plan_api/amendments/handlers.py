"""An ``amendment_request`` intervention on a plan becomes an amendment proposed by the
delegation against ``plan_version`` (else the plan's latest circulated version)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import EventReader
from bp_common.events.envelope import CloudEvent
from plan_api.amendments.schemas import AmendmentProposal
from plan_api.amendments.service import AmendmentService
from plan_api.base import handler_outbox
from plan_api.fields import Proposer, VersionNumber
from plan_api.proceedings.models import RecordKind
from plan_api.proceedings.repository import MeetingRecordNewsRepository


class AmendmentRequestPayload(EventReader):
    """The fields of meetings-api's intervention an amendment needs: an ``amendment_request``
    naming a plan concerns plan-api, one about something else does not. It becomes an
    amendment proposed by the delegation against ``plan_version`` (else the plan's latest
    circulated version)."""

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    delegation: Proposer
    plan_id: uuid.UUID
    plan_version: VersionNumber | None = None
    amendment: AmendmentProposal

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        return data.get("kind") == "amendment_request" and data.get("plan_id") is not None


async def on_amendment_request(
    session: AsyncSession, payload: AmendmentRequestPayload, event: CloudEvent
) -> None:
    # A recorded intervention is at its first revision; a correction or withdrawal heard
    # before (a re-driven dead letter) wins.
    if not await MeetingRecordNewsRepository(session).heard(
        payload.intervention_id, RecordKind.INTERVENTION, 1
    ):
        return
    await AmendmentService(session, handler_outbox).propose_from_meeting(
        payload.plan_id,
        payload.plan_version,
        payload.delegation,
        payload.amendment,
        meeting_id=payload.meeting_id,
        intervention_id=payload.intervention_id,
    )
