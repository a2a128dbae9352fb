"""A meeting's ``endorsement`` decision on a plan endorses the version it names."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import EventReader
from bp_common.events.envelope import CloudEvent
from plan_api.base import handler_outbox
from plan_api.fields import VersionNumber
from plan_api.proceedings.models import RecordKind
from plan_api.proceedings.repository import MeetingRecordNewsRepository
from plan_api.versions.service import VersionService


class EndorsementPayload(EventReader):
    """The fields of meetings-api's decision an endorsement needs: only an ``endorsement`` of a
    plan concerns plan-api, which endorses ``plan_version`` (else the plan's latest version);
    the same decision heard again changes nothing."""

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    plan_id: uuid.UUID
    plan_version: VersionNumber | None = None

    @classmethod
    def concerns(cls, data: Mapping[str, Any]) -> bool:
        return data.get("kind") == "endorsement" and data.get("plan_id") is not None


async def on_decision_recorded(
    session: AsyncSession, payload: EndorsementPayload, event: CloudEvent
) -> None:
    # A recorded decision is at its first revision; a correction or withdrawal heard before
    # (this event re-driven from the dead letters) wins.
    if not await MeetingRecordNewsRepository(session).heard(
        payload.decision_id, RecordKind.DECISION, 1
    ):
        return
    await VersionService(session, handler_outbox).endorse_from_decision(
        payload.plan_id, payload.plan_version, payload.meeting_id, decision_id=payload.decision_id
    )
