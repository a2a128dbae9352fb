"""What plan-api does with meetings-api's events, by event type.

Policy for every handler: an event that names nothing this service knows (no plan or activity,
an unknown one), or that the plan's state refuses (an activity already cancelled, a version
already endorsed by another meeting), is logged and skipped: retrying cannot change the answer,
and a replay must leave the state as it is. A malformed payload raises: it is retried, then
dead-lettered for someone to look at. So does an event about a known plan naming a version that
does not exist (yet): it can be re-driven from the dead letters once the version is circulated."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import DomainError
from bp_common.events.contract import Consumer, EventReader, ReadHandler, Route
from bp_common.events.envelope import CloudEvent
from plan_api.activities.handlers import (
    MeetingChange,
    MeetingPayload,
    on_meeting_cancelled,
    on_meeting_held,
    on_meeting_scheduled,
    on_meeting_updated,
)
from plan_api.amendments.handlers import AmendmentRequestPayload, on_amendment_request
from plan_api.amendments.service import NoCirculatedVersion, UnknownVersion
from plan_api.hosting.handlers import OfferToHostPayload, on_offer_to_host
from plan_api.proceedings.handlers import (
    DecisionCorrection,
    DecisionWithdrawal,
    InterventionCorrection,
    InterventionWithdrawal,
    on_decision_corrected,
    on_decision_withdrawn,
    on_intervention_corrected,
    on_intervention_withdrawn,
)
from plan_api.versions.handlers import EndorsementPayload, on_decision_recorded
from plan_api.versions.service import VersionNotFound

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=EventReader)
_AWAITING_A_VERSION = (UnknownVersion, NoCirculatedVersion, VersionNotFound)


def _refusals_skipped(handler: ReadHandler[R]) -> ReadHandler[R]:
    async def handle(session: AsyncSession, payload: R, event: CloudEvent) -> None:
        try:
            await handler(session, payload, event)
        except _AWAITING_A_VERSION:
            raise
        except DomainError as refusal:
            logger.info(
                "%s %s not applied: %s (%s)", event.type, event.id, refusal.code, refusal.detail
            )

    return handle


def _route(reader: type[R], handler: ReadHandler[R]) -> Route[R]:
    return Route(reader, _refusals_skipped(handler))


# meetings-api's events by their type strings (this service never imports meetings-api); the
# contract tests check each reader against meetings-api's published schema.
HANDLERS: Mapping[str, Consumer] = {
    "meetings.meeting.scheduled.v1": Consumer(_route(MeetingPayload, on_meeting_scheduled)),
    "meetings.meeting.rescheduled.v1": Consumer(_route(MeetingPayload, on_meeting_scheduled)),
    "meetings.meeting.updated.v1": Consumer(_route(MeetingChange, on_meeting_updated)),
    "meetings.meeting.held.v1": Consumer(_route(MeetingPayload, on_meeting_held)),
    "meetings.meeting.cancelled.v1": Consumer(_route(MeetingPayload, on_meeting_cancelled)),
    # One intervention is an offer to host or an amendment request, by its kind.
    "meetings.intervention.recorded.v1": Consumer(
        _route(OfferToHostPayload, on_offer_to_host),
        _route(AmendmentRequestPayload, on_amendment_request),
    ),
    "meetings.decision.recorded.v1": Consumer(_route(EndorsementPayload, on_decision_recorded)),
    # Corrections and withdrawals of the meeting's record: what they made in the plan follows.
    "meetings.intervention.corrected.v1": Consumer(
        _route(InterventionCorrection, on_intervention_corrected)
    ),
    "meetings.intervention.withdrawn.v1": Consumer(
        _route(InterventionWithdrawal, on_intervention_withdrawn)
    ),
    "meetings.decision.corrected.v1": Consumer(_route(DecisionCorrection, on_decision_corrected)),
    "meetings.decision.withdrawn.v1": Consumer(_route(DecisionWithdrawal, on_decision_withdrawn)),
}
