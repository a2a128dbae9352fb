"""The bus interface, and the delivery rules both implementations share: bounded retries of a
handler, then the dead-letter topic, so one poison message never blocks its partition; but an
unreachable database is waited out, never blamed on the event."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bp_common.db import is_connection_problem, without_checkout_ping
from bp_common.events.envelope import CloudEvent

logger = logging.getLogger(__name__)

EventHandler = Callable[[CloudEvent], Awaitable[None]]

# Headers a dead letter carries beside the original message.
DLQ_ERROR_HEADER = "dlq_error"
DLQ_ERROR_DETAIL_HEADER = "dlq_error_detail"
DLQ_ORIGIN_HEADER = "dlq_origin"
DLQ_GROUP_HEADER = "dlq_group"
# Where the original message was, so a re-drive sends each original once even when several
# consumer groups dead-lettered it.
DLQ_POSITION_HEADER = "dlq_position"


@dataclass(frozen=True)
class Subscription:
    topics: tuple[str, ...]
    group: str
    handler: EventHandler


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_s: float = 0.2
    # Longest pause between two tries while the database is unreachable.
    outage_backoff_max_s: float = 5.0


class EventBus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """Return once every event is acknowledged by the bus; raise if any is not."""
        ...

    def subscribe(self, topics: Sequence[str], group: str, handler: EventHandler) -> None: ...

    async def healthy(self) -> bool: ...

    async def partition_lag(self, group: str) -> dict[tuple[str, int], int]:
        """Messages not yet committed by ``group``, per (logical topic, partition), as far as this
        process can tell: the partitions its own consumers hold."""
        ...

    async def lag(self, group: str) -> dict[str, int]:
        """:meth:`partition_lag` summed per topic."""
        ...


def lag_per_topic(partition_lag: dict[tuple[str, int], int]) -> dict[str, int]:
    lag: dict[str, int] = {}
    for (topic, _partition), behind in partition_lag.items():
        lag[topic] = lag.get(topic, 0) + behind
    return lag


async def handle_with_retries(
    handler: EventHandler, event: CloudEvent, policy: RetryPolicy
) -> BaseException | None:
    """Run ``handler``; return the last error once ``policy.max_attempts`` are spent, else None.

    A database that cannot be reached (restart, failover, network) spends no attempt: the event
    is retried with a capped backoff until the database answers or the consumer is cancelled,
    whose offset then stays uncommitted. Otherwise an outage would dead-letter valid events."""
    attempt = 0
    outage_pause = policy.backoff_s
    while True:
        try:
            # A dropped connection is retried below: the checkout ping would only slow every event.
            with without_checkout_ping():
                await handler(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_connection_problem(exc):
                logger.warning(
                    "database unavailable while handling %s %s; retrying in %.1fs: %r",
                    event.type,
                    event.id,
                    outage_pause,
                    exc,
                )
                await asyncio.sleep(outage_pause)
                outage_pause = min(max(outage_pause * 2, 0.05), policy.outage_backoff_max_s)
                continue
            attempt += 1
            logger.warning(
                "handler failed for %s %s (attempt %d/%d): %r",
                event.type,
                event.id,
                attempt,
                policy.max_attempts,
                exc,
            )
            if attempt >= policy.max_attempts:
                return exc
            await asyncio.sleep(policy.backoff_s * 2 ** (attempt - 1))
        else:
            return None


def error_headers(
    error: BaseException, origin: str, group: str, position: str = ""
) -> list[tuple[str, bytes]]:
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    return [
        (DLQ_ERROR_HEADER, type(error).__name__.encode()),
        (DLQ_ERROR_DETAIL_HEADER, detail[:2000].encode()),
        (DLQ_ORIGIN_HEADER, origin.encode()),
        (DLQ_GROUP_HEADER, group.encode()),
        (DLQ_POSITION_HEADER, position.encode()),
    ]
