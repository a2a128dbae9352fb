"""What plan-api does with meetings-api's events (docs/events.md), by event type.

Policy for every handler: an event that names nothing this service knows (no plan or activity,
an unknown one), or that the plan's state refuses (an activity already cancelled, a version
already endorsed by another meeting), is logged and skipped: retrying cannot change the answer,
and a replay must leave the state as it is. A malformed payload raises: it is retried, then
dead-lettered for someone to look at. So does an event about a known plan naming a version that
does not exist (yet): it can be re-driven from the dead letters once the version is circulated."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import DomainError
from bp_common.events.envelope import CloudEvent
from bp_common.events.inbox import SessionHandler
from plan_api.activities.handlers import (
    on_meeting_cancelled,
    on_meeting_held,
    on_meeting_scheduled,
    on_meeting_updated,
)
from plan_api.amendments.handlers import on_amendment_request
from plan_api.amendments.service import NoCirculatedVersion, UnknownVersion
from plan_api.hosting.handlers import on_offer_to_host
from plan_api.versions.handlers import on_decision_recorded
from plan_api.versions.service import VersionNotFound

logger = logging.getLogger(__name__)

MEETING_SCHEDULED = "meetings.meeting.scheduled.v1"
MEETING_RESCHEDULED = "meetings.meeting.rescheduled.v1"
MEETING_HELD = "meetings.meeting.held.v1"
MEETING_UPDATED = "meetings.meeting.updated.v1"
MEETING_CANCELLED = "meetings.meeting.cancelled.v1"
INTERVENTION_RECORDED = "meetings.intervention.recorded.v1"
DECISION_RECORDED = "meetings.decision.recorded.v1"

_AWAITING_A_VERSION = (UnknownVersion, NoCirculatedVersion, VersionNotFound)

_BY_INTERVENTION_KIND: Mapping[str, SessionHandler] = {
    "offer_to_host": on_offer_to_host,
    "amendment_request": on_amendment_request,
}


async def on_intervention_recorded(session: AsyncSession, event: CloudEvent) -> None:
    kind = event.data.get("kind")
    handler = _BY_INTERVENTION_KIND.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        await handler(session, event)


def _refusals_skipped(handler: SessionHandler) -> SessionHandler:
    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        try:
            await handler(session, event)
        except _AWAITING_A_VERSION:
            raise
        except DomainError as refusal:
            logger.info(
                "%s %s not applied: %s (%s)", event.type, event.id, refusal.code, refusal.detail
            )

    return handle


HANDLERS: Mapping[str, SessionHandler] = {
    event_type: _refusals_skipped(handler)
    for event_type, handler in {
        MEETING_SCHEDULED: on_meeting_scheduled,
        MEETING_RESCHEDULED: on_meeting_scheduled,
        MEETING_UPDATED: on_meeting_updated,
        MEETING_HELD: on_meeting_held,
        MEETING_CANCELLED: on_meeting_cancelled,
        INTERVENTION_RECORDED: on_intervention_recorded,
        DECISION_RECORDED: on_decision_recorded,
    }.items()
}
