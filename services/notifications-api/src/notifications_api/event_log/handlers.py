"""Every published event type is stored in the log (the stream and the history read it) and
queued for the webhook endpoints that hear it, in the transaction of its inbox claim."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.contract import EventReader, consumes, published_event_types
from bp_common.events.envelope import CloudEvent
from bp_common.events.inbox import SessionHandler
from notifications_api.event_log import repository
from notifications_api.webhooks import service as webhooks

# Set on a session that stored events: its commit wakes the open streams and the dispatcher.
EVENTS_STORED = "notifications.events_stored"


class AnyEvent(EventReader):
    """Reads no field: the event is kept and sent whole, as its producer published it."""


async def record(session: AsyncSession, _: AnyEvent, event: CloudEvent) -> None:
    if not await repository.store(session, event):
        return
    await webhooks.queue_deliveries(session, event)
    session.info[EVENTS_STORED] = True


HANDLERS: dict[str, SessionHandler] = dict.fromkeys(
    published_event_types(), consumes(AnyEvent, record)
)
