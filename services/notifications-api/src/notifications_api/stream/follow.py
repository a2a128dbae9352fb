"""What an open stream sends, apart from HTTP: the log's events after a position, as they are
stored, and a heartbeat comment when it has been quiet. The clock and the source are
parameters, so the timing is tested without waiting for it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi.sse import ServerSentEvent

from notifications_api.stream.hub import StreamedEvent

BATCH = 200
HEARTBEAT = "heartbeat"
Clock = Callable[[], float]


class Source(Protocol):
    def signal(self) -> Any:
        """A token set by the next commit that stores events (taken before reading)."""

    async def read_after(self, position: int, limit: int) -> Sequence[StreamedEvent]: ...

    async def wait(self, signal: Any, at_most_s: float) -> None:
        """Until ``signal`` is set, or at most ``at_most_s`` (less: the poll interval)."""


@dataclass
class Heartbeat:
    """A comment is owed ``interval_s`` after the last thing sent."""

    interval_s: float
    clock: Clock = time.monotonic
    last_sent: float = field(init=False)

    def __post_init__(self) -> None:
        self.last_sent = self.clock()

    def sent(self) -> None:
        self.last_sent = self.clock()

    def due(self) -> bool:
        return self.remaining_s() <= 0

    def remaining_s(self) -> float:
        return max(0.0, self.interval_s - (self.clock() - self.last_sent))


async def follow(
    source: Source,
    position: int,
    message_of: Callable[[StreamedEvent], ServerSentEvent | None],
    heartbeat: Heartbeat,
) -> AsyncIterator[ServerSentEvent]:
    """The messages of the events stored after ``position`` (``message_of``: None for one the
    client does not get), forever; a heartbeat whenever nothing was sent for its interval."""
    while True:
        signal = source.signal()
        rows = await source.read_after(position, BATCH)
        for row in rows:
            position = row.seq
            message = message_of(row)
            if message is not None:
                yield message
                heartbeat.sent()
        if len(rows) < BATCH:
            if heartbeat.due():
                yield ServerSentEvent(comment=HEARTBEAT)
                heartbeat.sent()
            await source.wait(signal, heartbeat.remaining_s())
