"""The Prometheus metrics move when what they count happens (in-process bus, SQLite)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, String, Table

from bp_common.db import Database
from bp_common.events.bus import RetryPolicy
from bp_common.events.envelope import CloudEvent
from bp_common.events.inbox import InboxDispatcher
from bp_common.events.memory_bus import InMemoryBus
from bp_common.events.outbox import Outbox, OutboxRelay
from bp_common.events.store import messaging_tables
from bp_common.observability import metrics
from bp_common.orm import new_metadata

metadata = new_metadata()
tables = messaging_tables(metadata)
Table("note", metadata, Column("id", String(20), primary_key=True))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield db
    await db.dispose()


def event(subject: str, event_type: str = "meetings.meeting.held.v1") -> CloudEvent:
    return CloudEvent(type=event_type, source="/test", subject=subject, data={})


async def test_a_dead_letter_and_each_failed_attempt_are_counted(database: Database) -> None:
    group = "metrics-dlq"
    bus = InMemoryBus(RetryPolicy(max_attempts=3, backoff_s=0))

    async def handler(_session: object, evt: CloudEvent) -> None:
        if evt.subject == "poison":
            raise ValueError("cannot apply")

    dispatcher = InboxDispatcher(
        database, tables.inbox, group, {"meetings.meeting.held.v1": handler}
    )
    bus.subscribe(dispatcher.topics, group, dispatcher)
    event_type = "meetings.meeting.held.v1"
    before_letters = sample("bp_events_dead_lettered_total", group=group, topic="meetings.events")
    before_failures = sample("bp_event_handler_failures_total", group=group, event_type=event_type)
    before_handled = sample(
        "bp_event_handler_duration_seconds_count", group=group, event_type=event_type
    )
    await bus.start()
    try:
        good = event("good")
        await bus.publish([good, event("poison"), good])  # the second `good` is a duplicate
        await bus.wait_idle()
    finally:
        await bus.stop()
    assert (
        sample("bp_events_dead_lettered_total", group=group, topic="meetings.events")
        - before_letters
        == 1
    )
    assert (
        sample("bp_event_handler_failures_total", group=group, event_type=event_type)
        - before_failures
        == 3
    )
    assert (
        sample("bp_event_handler_duration_seconds_count", group=group, event_type=event_type)
        - before_handled
        == 1
    )
    assert sample("bp_inbox_duplicates_skipped_total", group=group, event_type=event_type) >= 1


async def test_the_lag_is_what_the_group_has_not_applied() -> None:
    bus = InMemoryBus()
    handled: list[str] = []

    async def handler(evt: CloudEvent) -> None:
        handled.append(evt.subject)

    bus.subscribe(["meetings.events"], "lagging", handler)
    await bus.publish([event("a"), event("b"), event("c")])
    assert await bus.partition_lag("lagging") == {("meetings.events", 0): 3}
    assert await bus.partition_lag("another-group") == {}
    await bus.start()
    try:
        await bus.wait_idle()
    finally:
        await bus.stop()
    assert await bus.partition_lag("lagging") == {("meetings.events", 0): 0}


async def test_the_outbox_backlog_and_the_relay_publishes_are_measured(
    database: Database,
) -> None:
    bus = InMemoryBus()
    relay = OutboxRelay(database, tables.outbox, bus, service="metrics-relay")
    outbox = Outbox(tables.outbox, "/test")
    assert await relay.backlog() == (0, None)
    async with database.transaction() as session:
        await outbox.add(session, event("a"), event("b"))
    pending, oldest = await relay.backlog()
    assert pending == 2
    assert oldest is not None
    before = sample("bp_outbox_published_events_total", service="metrics-relay")
    assert await relay.publish_pending() == 2
    assert sample("bp_outbox_published_events_total", service="metrics-relay") - before == 2
    assert sample("bp_outbox_publish_duration_seconds_count", service="metrics-relay") >= 1
    assert await relay.backlog() == (0, None)


async def test_a_refresher_that_fails_does_not_fail_the_scrape() -> None:
    async def broken() -> None:
        raise ConnectionError("database down")

    metrics.register_refresher(broken)
    try:
        text = (await metrics.render_metrics()).decode()
    finally:
        metrics.unregister_refresher(broken)
    assert "bp_http_requests_total" in text
