"""Consumers of other services' events that feed the dialogue-activity metrics. Each runs in the
inbox transaction, so a redelivered event is not counted twice."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.envelope import CloudEvent
from indicators_api.event_metrics.models import EventMetric
from indicators_api.event_metrics.repository import EventMetricRepository

MEETING_HELD = "meetings.meeting.held.v1"


async def on_meeting_held(session: AsyncSession, event: CloudEvent) -> None:
    data = event.data
    year = date.fromisoformat(data["starts_on"]).year
    await EventMetricRepository(session).increment(
        EventMetric.MEETINGS_HELD, data["country"], year, 1
    )


HANDLERS = {MEETING_HELD: on_meeting_held}
