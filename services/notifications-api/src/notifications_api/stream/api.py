"""The live stream: Server-Sent Events from the log, resumable exactly with Last-Event-ID."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from bp_common.app import IdentityDep, runtime_of
from bp_common.errors import InvalidInput
from bp_common.observability import metrics
from notifications_api.access import Listener, may_hear
from notifications_api.base import SERVICE_NAME
from notifications_api.event_log import repository
from notifications_api.patterns import check_patterns, matches_any
from notifications_api.settings import NotificationsSettings
from notifications_api.stream.follow import Heartbeat, follow
from notifications_api.stream.hub import StreamedEvent, StreamHub

router = APIRouter(prefix="/v1/stream", tags=["stream"])
RESET = "reset"


def _position(last_event_id: str | None) -> int | None:
    if last_event_id is None or last_event_id == "":
        return None
    if not last_event_id.isdigit() or len(last_event_id) > 18:
        raise InvalidInput(
            "Last-Event-ID is not an id this stream sent.", code="invalid_last_event_id"
        )
    return int(last_event_id)


@dataclass(frozen=True)
class Subscription:
    patterns: list[str]
    resume_after: int | None


async def _subscription(
    types: Annotated[str, Query(max_length=2000)] = "*",
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> Subscription:
    """Checked before the answer starts: a refusal is still a problem, not a broken stream."""
    patterns = [p.strip() for p in types.split(",") if p.strip()]
    return Subscription(check_patterns(patterns, ["query", "types"]), _position(last_event_id))


@router.get("", response_class=EventSourceResponse)
async def stream(
    request: Request,
    identity: IdentityDep,
    subscription: Annotated[Subscription, Depends(_subscription)],
) -> AsyncIterator[ServerSentEvent]:
    """The events the key may hear, as they are stored: each message's `id` is its position
    (send it back as `Last-Event-ID` to resume right after it), its `event` the CloudEvents
    type, its `data` the CloudEvent (JSON). `types`: comma-separated types or patterns.
    A position older than the retention starts with a `reset` message: reload, then follow.
    A comment line after 15 s without a message keeps idle connections open."""
    patterns, resume_after = subscription.patterns, subscription.resume_after
    listener = Listener.of(identity)
    runtime = runtime_of(request)
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    hub = runtime.worker(StreamHub)
    async with runtime.database.sessionmaker() as session:
        newest = await repository.last_seq(session)
        oldest = await repository.oldest_retained_seq(session)
    reset = resume_after is not None and (
        resume_after > newest or (oldest is not None and resume_after + 1 < oldest)
    )
    position = newest if resume_after is None or reset else resume_after

    def message_of(event: StreamedEvent) -> ServerSentEvent | None:
        if not matches_any(patterns, event.type) or not may_hear(listener, event.type, event.data):
            return None
        return ServerSentEvent(id=str(event.seq), event=event.type, raw_data=event.raw)

    clients = metrics.STREAM_CLIENTS.labels(SERVICE_NAME)
    sent = metrics.STREAM_EVENTS.labels(SERVICE_NAME)
    clients.inc()
    try:
        if reset:
            yield ServerSentEvent(
                event=RESET,
                id=str(position),
                data={"reason": "Last-Event-ID is no longer retained; reload, then follow."},
            )
        heartbeat = Heartbeat(settings.stream_heartbeat_s)
        async for message in follow(hub, position, message_of, heartbeat):
            if message.id is not None:
                sent.inc()
            yield message
    finally:
        # Also when the client goes: the framework cancels this generator.
        clients.dec()
