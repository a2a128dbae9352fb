"""Outbox, relay, inbox and the in-process bus together, on SQLite."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Column, Integer, String, Table, func, select

from bp_common.db import Database
from bp_common.events.bus import RetryPolicy
from bp_common.events.envelope import CloudEvent
from bp_common.events.inbox import InboxDispatcher
from bp_common.events.memory_bus import InMemoryBus
from bp_common.events.outbox import Outbox, OutboxRelay
from bp_common.events.store import messaging_tables
from bp_common.orm import new_metadata
from bp_common.testing import eventually

metadata = new_metadata()
tables = messaging_tables(metadata)
counter = Table(
    "counter", metadata, Column("name", String(20), primary_key=True), Column("value", Integer)
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/test.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield db
    await db.dispose()


def event(subject: str = "m1", event_type: str = "meetings.meeting.held.v1") -> CloudEvent:
    return CloudEvent(type=event_type, source="/test", subject=subject, data={"n": 1})


async def _published(bus: InMemoryBus, count: int) -> bool:
    return len(bus.log["meetings.events"]) >= count


async def unsent(db: Database) -> int:
    async with db.sessionmaker() as session:
        statement = select(func.count()).where(tables.outbox.c.sent_at.is_(None))
        return int(await session.scalar(statement) or 0)


async def test_relay_publishes_committed_events_once_and_marks_them_sent(
    database: Database,
) -> None:
    bus = InMemoryBus()
    outbox = Outbox(tables.outbox, "/test")
    # A poll far beyond the wait below: the rows can only arrive because the commit woke it.
    relay = OutboxRelay(database, tables.outbox, bus, poll_interval_s=3600)
    relay.start()
    try:
        async with database.transaction() as session:
            await outbox.add(session, event("a"), event("b"))
        await eventually(lambda: _published(bus, 2))
        assert [e.subject for e in bus.log["meetings.events"]] == ["a", "b"]
        assert await unsent(database) == 0
        assert await relay.publish_pending() == 0
    finally:
        await relay.stop()


async def test_rolled_back_transaction_emits_nothing(database: Database) -> None:
    outbox = Outbox(tables.outbox, "/test")

    async def failing_change() -> None:
        async with database.transaction() as session:
            await outbox.add(session, event())
            raise RuntimeError("the business change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await unsent(database) == 0


class FlakyBus(InMemoryBus):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, events: list[CloudEvent]) -> None:  # type: ignore[override]
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        await super().publish(events)


async def test_relay_keeps_rows_while_the_bus_fails_and_delivers_later(database: Database) -> None:
    bus = FlakyBus(failures=2)
    relay = OutboxRelay(database, tables.outbox, bus, poll_interval_s=0.05, max_backoff_s=0.1)
    async with database.transaction() as session:
        await Outbox(tables.outbox, "/test").add(session, event())
    relay.start()
    try:
        await eventually(lambda: _published(bus, 1))
    finally:
        await relay.stop()
    assert len(bus.log["meetings.events"]) == 1
    async with database.sessionmaker() as session:
        attempts = await session.scalar(select(tables.outbox.c.attempts))
    assert attempts == 2


async def increment(session, evt: CloudEvent) -> None:  # type: ignore[no-untyped-def]
    current = await session.scalar(select(counter.c.value).where(counter.c.name == "held"))
    if current is None:
        await session.execute(counter.insert().values(name="held", value=1))
    else:
        await session.execute(counter.update().values(value=current + 1))


async def held_count(db: Database) -> int:
    async with db.sessionmaker() as session:
        return int(await session.scalar(select(counter.c.value)) or 0)


async def test_inbox_applies_a_redelivered_event_once(database: Database) -> None:
    dispatcher = InboxDispatcher(
        database, tables.inbox, "indicators", {"meetings.meeting.held.v1": increment}
    )
    held = event()
    await dispatcher(held)
    await dispatcher(held)
    await dispatcher(event("m2"))
    assert await held_count(database) == 2


async def test_a_failing_handler_rolls_back_its_inbox_claim(database: Database) -> None:
    calls = 0

    async def fails_once(session, evt: CloudEvent) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        await increment(session, evt)
        if calls == 1:
            raise RuntimeError("transient")

    dispatcher = InboxDispatcher(
        database, tables.inbox, "indicators", {"meetings.meeting.held.v1": fails_once}
    )
    held = event()
    with pytest.raises(RuntimeError):
        await dispatcher(held)
    assert await held_count(database) == 0  # the effect rolled back with the claim
    await dispatcher(held)  # so the redelivery is applied, once
    await dispatcher(held)
    assert await held_count(database) == 1


async def test_memory_bus_dead_letters_a_poison_event_and_keeps_flowing() -> None:
    bus = InMemoryBus(RetryPolicy(max_attempts=3, backoff_s=0))
    seen: list[str] = []
    attempts: dict[str, int] = {}

    async def handler(evt: CloudEvent) -> None:
        attempts[evt.subject] = attempts.get(evt.subject, 0) + 1
        if evt.subject == "poison":
            raise ValueError("cannot handle this")
        seen.append(evt.subject)

    bus.subscribe(["meetings.events"], "g", handler)
    await bus.start()
    try:
        await bus.publish([event("before"), event("poison"), event("after")])
        await bus.wait_idle()
    finally:
        await bus.stop()
    assert seen == ["before", "after"]
    assert attempts["poison"] == 3
    [letter] = bus.dead_letters
    assert letter.topic == "meetings.events.dlq"
    assert letter.event.subject == "poison"
    assert dict(letter.headers)["dlq_error"] == b"ValueError"


async def test_an_unreachable_database_spends_no_attempt_and_dead_letters_nothing() -> None:
    bus = InMemoryBus(RetryPolicy(max_attempts=2, backoff_s=0.001, outage_backoff_max_s=0.01))
    calls = 0
    handled: list[str] = []

    async def handler(evt: CloudEvent) -> None:
        nonlocal calls
        calls += 1
        if calls <= 5:  # more failures than max_attempts, all of them "database unreachable"
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        handled.append(evt.subject)

    bus.subscribe(["meetings.events"], "g", handler)
    await bus.start()
    try:
        await bus.publish([event("held")])
        await bus.wait_idle()
    finally:
        await bus.stop()
    assert handled == ["held"]
    assert calls == 6
    assert bus.dead_letters == []


async def test_a_consumer_stopped_during_an_outage_redelivers_the_event_later() -> None:
    bus = InMemoryBus(RetryPolicy(max_attempts=1, backoff_s=0.001, outage_backoff_max_s=0.01))
    database_up = False
    handled: list[str] = []

    async def handler(evt: CloudEvent) -> None:
        if not database_up:
            raise ConnectionRefusedError(111, "Connection refused")
        handled.append(evt.subject)

    bus.subscribe(["meetings.events"], "g", handler)
    await bus.start()
    await bus.publish([event("held")])
    await asyncio.sleep(0.05)  # several tries against the "down" database
    await bus.stop()
    assert handled == []
    assert bus.dead_letters == []

    database_up = True
    await bus.start()
    try:
        await bus.wait_idle()
    finally:
        await bus.stop()
    assert handled == ["held"]


async def test_memory_bus_replays_the_log_to_a_late_consumer_group() -> None:
    bus = InMemoryBus()
    await bus.start()
    await bus.publish([event("1"), event("2")])
    seen: list[str] = []

    async def handler(evt: CloudEvent) -> None:
        seen.append(evt.subject)

    bus.subscribe(["meetings.events"], "late", handler)
    await bus.wait_idle()
    await bus.stop()
    assert seen == ["1", "2"]


async def test_the_in_memory_bus_reports_each_groups_lag() -> None:
    bus = InMemoryBus()
    handled: list[str] = []

    async def handler(event: CloudEvent) -> None:
        handled.append(event.id)

    bus.subscribe(["meetings.events"], "calendar", handler)
    bus.subscribe(["meetings.events", "plan.events"], "other", handler)
    await bus.publish([event("a"), event("b")])
    assert await bus.lag("calendar") == {"meetings.events": 2}
    assert await bus.lag("other") == {"meetings.events": 2, "plan.events": 0}
    await bus.start()
    try:
        await bus.wait_idle()
    finally:
        await bus.stop()
    assert await bus.lag("calendar") == {"meetings.events": 0}
    assert len(handled) == 4
