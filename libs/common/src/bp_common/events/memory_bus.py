"""In-process bus for the embedded mode and fast tests: an append-only log per topic and one
cursor per consumer group, so it keeps the semantics of the Kafka bus (replay, dead letters)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bp_common.events.bus import (
    EventHandler,
    RetryPolicy,
    Subscription,
    error_headers,
    handle_with_retries,
    lag_per_topic,
)
from bp_common.events.envelope import CloudEvent, dead_letter_topic
from bp_common.observability import metrics

logger = logging.getLogger(__name__)


@dataclass
class DeadLetter:
    topic: str
    event: CloudEvent
    headers: list[tuple[str, bytes]]


@dataclass
class _Consumer:
    subscription: Subscription
    offsets: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class InMemoryBus:
    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.log: dict[str, list[CloudEvent]] = defaultdict(list)
        self.dead_letters: list[DeadLetter] = []
        self._consumers: list[_Consumer] = []
        self._running = False

    async def start(self) -> None:
        self._running = True
        for consumer in self._consumers:
            self._launch(consumer)

    async def stop(self) -> None:
        self._running = False
        for consumer in self._consumers:
            if consumer.task is not None:
                consumer.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer.task
                consumer.task = None

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        for event in events:
            self.log[event.topic].append(event)
        for consumer in self._consumers:
            if set(consumer.subscription.topics) & {e.topic for e in events}:
                consumer.idle.clear()
                consumer.wakeup.set()

    def subscribe(self, topics: Sequence[str], group: str, handler: EventHandler) -> None:
        consumer = _Consumer(Subscription(tuple(topics), group, handler))
        self._consumers.append(consumer)
        if self._running:
            self._launch(consumer)

    async def healthy(self) -> bool:
        return self._running

    async def lag(self, group: str) -> dict[str, int]:
        return lag_per_topic(await self.partition_lag(group))

    async def partition_lag(self, group: str) -> dict[tuple[str, int], int]:
        """One partition per topic here."""
        return {
            (topic, 0): len(self.log[topic]) - consumer.offsets[topic]
            for consumer in self._consumers
            if consumer.subscription.group == group
            for topic in consumer.subscription.topics
        }

    async def wait_idle(self, within_s: float = 5.0) -> None:
        """Wait until every consumer has handled everything published so far (tests, demo load)."""
        async with asyncio.timeout(within_s):
            while any(self._lagging(c) for c in self._consumers):
                await asyncio.gather(*(c.idle.wait() for c in self._consumers if self._lagging(c)))

    def _lagging(self, consumer: _Consumer) -> bool:
        return any(
            consumer.offsets[topic] < len(self.log[topic]) for topic in consumer.subscription.topics
        )

    def _launch(self, consumer: _Consumer) -> None:
        consumer.wakeup.set()
        consumer.task = asyncio.create_task(
            self._run(consumer), name=f"memory-bus:{consumer.subscription.group}"
        )

    async def _run(self, consumer: _Consumer) -> None:
        subscription = consumer.subscription
        while True:
            await consumer.wakeup.wait()
            consumer.wakeup.clear()
            for topic in subscription.topics:
                while consumer.offsets[topic] < len(self.log[topic]):
                    event = self.log[topic][consumer.offsets[topic]]
                    error = await handle_with_retries(subscription.handler, event, self.retry)
                    if error is not None:
                        self.dead_letters.append(
                            DeadLetter(
                                dead_letter_topic(topic),
                                event,
                                error_headers(error, topic, subscription.group),
                            )
                        )
                        logger.error("event %s dead-lettered by %s", event.id, subscription.group)
                        metrics.DEAD_LETTERED.labels(subscription.group, topic).inc()
                    consumer.offsets[topic] += 1
            if not self._lagging(consumer):
                consumer.idle.set()
