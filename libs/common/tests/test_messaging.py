"""Outbox, relay, inbox and the in-process bus together, on SQLite."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy import event as sa_event

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
        # Marked sent once the bus acknowledged them (just after it, in its own transaction).
        await eventually(lambda: _unsent_is(database, 0))
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


class StatementLog:
    """The SQL statements ``database`` runs, as they are sent."""

    def __init__(self, database: Database) -> None:
        self.statements: list[str] = []
        sa_event.listen(database.engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(" ".join(statement.split()))

    def reads_of_envelopes(self) -> list[str]:
        return [s for s in self.statements if s.startswith("SELECT") and "outbox.envelope" in s]


async def caught_up(relay: OutboxRelay) -> bool:
    return relay.caught_up


@asynccontextmanager
async def caught_up_relay(
    database: Database, bus: InMemoryBus, **options: float
) -> AsyncIterator[OutboxRelay]:
    """A running relay past its first poll: from here on, commits take its fast path."""
    relay = OutboxRelay(database, tables.outbox, bus, **options)
    relay.start()
    try:
        await eventually(lambda: caught_up(relay))
        yield relay
    finally:
        await relay.stop()


async def test_a_committed_event_is_published_without_reading_it_back(database: Database) -> None:
    bus = InMemoryBus()
    async with caught_up_relay(database, bus, poll_interval_s=3600):
        log = StatementLog(database)
        async with database.transaction() as session:
            await Outbox(tables.outbox, "/test").add(session, event("a"))
        await eventually(lambda: _published(bus, 1))
        await eventually(lambda: _unsent_is(database, 0))
    assert log.reads_of_envelopes() == []
    assert [e.subject for e in bus.log["meetings.events"]] == ["a"]


async def _unsent_is(database: Database, count: int) -> bool:
    return await unsent(database) == count


async def test_events_of_a_rolled_back_transaction_never_reach_the_relay(
    database: Database,
) -> None:
    """A session that wrote events, rolled back, then committed other work: only what committed
    is published."""
    bus = InMemoryBus()
    outbox = Outbox(tables.outbox, "/test")
    async with caught_up_relay(database, bus, poll_interval_s=3600):
        async with database.sessionmaker() as session:
            await outbox.add(session, event("rolled back"))
            await session.rollback()
            await outbox.add(session, event("committed"))
            await session.commit()
        await eventually(lambda: _published(bus, 1))
        # Published in commit order: had the first reached the relay, it would be ahead.
        async with database.transaction() as session:
            await outbox.add(session, event("next"))
        await eventually(lambda: _published(bus, 2))
    assert [e.subject for e in bus.log["meetings.events"]] == ["committed", "next"]


async def test_the_poll_publishes_rows_no_fast_path_holds_once_past_the_grace(
    database: Database,
) -> None:
    """Rows another replica or a crash left behind: written straight into the table, so this
    relay's fast path never saw them. A relay with no grace publishes them at its next poll."""
    bus = InMemoryBus()
    async with caught_up_relay(database, bus, poll_interval_s=0.01, fast_path_grace_s=0):
        left = event("left by another replica")
        async with database.sessionmaker() as session:
            await session.execute(
                tables.outbox.insert().values(
                    event_id=left.id,
                    topic=left.topic,
                    event_type=left.type,
                    envelope=left.to_json(),
                )
            )
            await session.commit()
        await eventually(lambda: _published(bus, 1))
    assert await unsent(database) == 0


async def test_after_a_failed_publish_older_events_go_out_before_newer_ones(
    database: Database,
) -> None:
    bus = FlakyBus(failures=1)
    outbox = Outbox(tables.outbox, "/test")
    async with caught_up_relay(database, bus, poll_interval_s=3600, max_backoff_s=0.1):
        async with database.transaction() as session:
            await outbox.add(session, event("first"))
        await eventually(lambda: _failed_once(bus))
        async with database.transaction() as session:
            await outbox.add(session, event("second"))
        await eventually(lambda: _published(bus, 2))
    assert [e.subject for e in bus.log["meetings.events"]] == ["first", "second"]
    assert await unsent(database) == 0


async def _failed_once(bus: "FlakyBus") -> bool:
    return bus.failures == 0


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
