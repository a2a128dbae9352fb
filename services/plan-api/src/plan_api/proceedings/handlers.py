"""Corrections and withdrawals of a meeting's record (meetings-api's interventions and
decisions), and what follows in the plan: a withdrawn ``offer_to_host`` withdraws the hosting
offer it made, a corrected one re-makes it; a corrected ``amendment_request`` revises the pending
amendment it made, a withdrawn one withdraws it; an endorsement decision withdrawn or corrected
once it endorsed a version changes nothing (an endorsed version never changes). What was
accepted or decided meanwhile stays, with a warning in the log.

Every news of a record goes through :class:`MeetingRecordNewsRepository` first: news older than
what was applied, and any news of a record already withdrawn, change nothing, so a re-driven dead
letter or a replay in any order leaves the state as it is."""

from __future__ import annotations

import uuid

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import EventReader
from bp_common.events.envelope import CloudEvent
from plan_api.amendments.handlers import AmendmentRequestPayload
from plan_api.amendments.service import AmendmentService
from plan_api.base import handler_outbox
from plan_api.hosting.handlers import OfferToHostPayload, offered_country
from plan_api.hosting.service import HostingService
from plan_api.proceedings.models import RecordKind
from plan_api.proceedings.repository import MeetingRecordNewsRepository
from plan_api.versions.handlers import EndorsementPayload
from plan_api.versions.service import VersionService

# meetings-api's events carry no actor when a consumer made them; the record is theirs.
MEETINGS = "meetings-api"
_REVISION = Field(ge=1, lt=2**31)


class InterventionCorrection(EventReader):
    """Any corrected intervention concerns plan-api: its kind may have changed to, or away from,
    ``offer_to_host`` or ``amendment_request``. The fields those need are read as for a
    recorded one."""

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    kind: str
    revision: int = _REVISION


class InterventionWithdrawal(EventReader):
    """The hosting offer or the pending amendment the intervention made is withdrawn (an
    accepted offer, a decided amendment stay); news of it heard later changes nothing."""

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    reason: str
    revision: int = _REVISION


class DecisionCorrection(EventReader):
    """A corrected endorsement endorses as a recorded one does (read with the same fields),
    unless the decision endorsed a version already: an endorsed version never changes."""

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    kind: str
    revision: int = _REVISION


class DecisionWithdrawal(EventReader):
    """The decision will never endorse (a version it endorsed already stays endorsed)."""

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    reason: str
    revision: int = _REVISION


async def on_intervention_corrected(
    session: AsyncSession, news: InterventionCorrection, event: CloudEvent
) -> None:
    news_log = MeetingRecordNewsRepository(session)
    if not await news_log.heard(news.intervention_id, RecordKind.INTERVENTION, news.revision):
        return
    # Read before anything changes: a malformed payload is retried, never half applied.
    offer = OfferToHostPayload.read(event)
    request = AmendmentRequestPayload.read(event)
    by = event.actor or MEETINGS
    reason = f"Its intervention at the meeting was corrected (revision {news.revision})."
    await HostingService(session, handler_outbox).follow_intervention(
        news.intervention_id,
        None if offer is None else offered_country(offer),
        offer,
        by=by,
        reason=reason,
    )
    await AmendmentService(session, handler_outbox).follow_intervention(
        news.intervention_id, request, by=by, reason=reason
    )


async def on_intervention_withdrawn(
    session: AsyncSession, news: InterventionWithdrawal, event: CloudEvent
) -> None:
    news_log = MeetingRecordNewsRepository(session)
    if not await news_log.heard(
        news.intervention_id, RecordKind.INTERVENTION, news.revision, withdrawn_at=event.time
    ):
        return
    by = event.actor or MEETINGS
    reason = f"Its intervention at the meeting was withdrawn: {news.reason}"
    await HostingService(session, handler_outbox).withdraw_for_intervention(
        news.intervention_id, by=by, reason=reason
    )
    await AmendmentService(session, handler_outbox).withdraw_for_intervention(
        news.intervention_id, by=by, reason=reason
    )


async def on_decision_corrected(
    session: AsyncSession, news: DecisionCorrection, event: CloudEvent
) -> None:
    news_log = MeetingRecordNewsRepository(session)
    if not await news_log.heard(news.decision_id, RecordKind.DECISION, news.revision):
        return
    endorsement = EndorsementPayload.read(event)
    versions = VersionService(session, handler_outbox)
    if endorsement is None:
        await versions.decision_withdrawn(news.decision_id)
        return
    await versions.endorse_from_decision(
        endorsement.plan_id,
        endorsement.plan_version,
        endorsement.meeting_id,
        decision_id=endorsement.decision_id,
    )


async def on_decision_withdrawn(
    session: AsyncSession, news: DecisionWithdrawal, event: CloudEvent
) -> None:
    news_log = MeetingRecordNewsRepository(session)
    if await news_log.heard(
        news.decision_id, RecordKind.DECISION, news.revision, withdrawn_at=event.time
    ):
        await VersionService(session, handler_outbox).decision_withdrawn(news.decision_id)
