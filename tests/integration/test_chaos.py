"""The fault scenarios of `make chaos` (chaos/), reduced to a few thousand events: the broker
SIGKILLed while writes go on, a consumer killed between its database commit and its offset
commit, a producer killed between its commit and the relay's publish, a replica SIGKILLed,
PostgreSQL restarted under load, poison messages and a re-drive, then every read model rebuilt
from offset 0. One distributed stack (four processes, PostgreSQL, Kafka) for the module, in
that order: the replay rebuilds what the other tests went through. Each asserts nothing lost,
nothing applied twice, no trace of a failed request, and a partner's webhook receiver applying
each event once (dedupe on webhook-id); the replay, identical exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from chaos.report import ScenarioResult
from chaos.scenarios import (
    QUICK,
    Run,
    broker_bounce,
    consumer_crash,
    database_restart,
    poison_and_bad_input,
    relay_crash,
    replay,
    replica_kill,
)
from chaos.stack import Infrastructure, running_stack
from chaos.webhooks import receiving, subscribe
from chaos.workload import Ledger, Writer

# Ports of their own (make chaos uses 29000-29023, the stack test 18000-18003).
BASE_PORT = 19300
SIZES = replace(
    QUICK,
    workers=4,
    broker_s=(3, 2, 3),
    write_while_broker_starts=False,
    consumer_stream_s=8,
    consumer_crash_after=80,
    relay_stream_s=6,
    relay_crash_after=40,
    replica_s=(3, 3),
    database_s=(3, 3, 3),
    poison_stream_s=3,
)
# Generous: a SIGKILLed broker holding many partitions takes a while to recover.
pytestmark = [pytest.mark.timeout(300), pytest.mark.disruptive]


@pytest.fixture(scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    infra = Infrastructure(tmp_path_factory.mktemp("chaos") / "infrastructure.log")
    await infra.ensure_up()
    run_dir = tmp_path_factory.mktemp("chaos-stack")
    receiver_port = BASE_PORT + 50
    async with (
        running_stack(run_dir, BASE_PORT, "test") as stack,
        receiving(receiver_port) as receiver,
    ):
        ledger = Ledger()
        writer = Writer(stack.url("gateway"), ledger, prefix="test")
        try:
            await subscribe(writer.client, receiver, receiver_port)
            yield Run(stack, infra, writer, ledger, await writer.setup(), SIZES, receiver)
        finally:
            await writer.aclose()
            await infra.ensure_up()  # whatever a failed test left down


def assert_nothing_lost_or_doubled(result: ScenarioResult) -> None:
    result.print()  # the account, in the test's output
    assert result.passed, "\n".join(result.problems)
    assert result.lost == 0
    assert result.doubled == 0
    assert result.events is not None
    assert result.events.sent > 0
    # The partner's webhook receiver applied each of the scenario's events once.
    assert result.webhooks is not None
    assert result.webhooks.applied == result.webhooks.expected == result.events.sent


async def test_broker_hard_bounce_loses_nothing(run: Run) -> None:
    result = await broker_bounce(run)
    assert_nothing_lost_or_doubled(result)


async def test_consumer_killed_before_its_offset_commit_applies_nothing_twice(run: Run) -> None:
    result = await consumer_crash(run)
    assert_nothing_lost_or_doubled(result)
    assert {"indicators-api", "notifications-api"} <= set(result.facts["crashes"])


async def test_a_producer_killed_before_its_relay_publishes_loses_nothing(run: Run) -> None:
    result = await relay_crash(run)
    assert_nothing_lost_or_doubled(result)
    assert "meetings-api" in result.facts["crashes"]


async def test_a_killed_replica_hands_its_partitions_over(run: Run) -> None:
    result = await replica_kill(run)
    assert_nothing_lost_or_doubled(result)
    assert len(result.facts["assignment with two replicas"]) == 2
    assert len(result.facts["assignment after the kill"]) == 1


async def test_a_database_restart_fails_requests_cleanly_and_dead_letters_nothing(
    run: Run,
) -> None:
    result = await database_restart(run)
    assert_nothing_lost_or_doubled(result)
    assert "dead-lettered while the database was down" not in result.facts
    assert result.facts["writes stored without their events (or the reverse)"] == 0


async def test_poison_is_dead_lettered_and_a_fixed_cause_is_redriven(run: Run) -> None:
    result = await poison_and_bad_input(run)
    assert_nothing_lost_or_doubled(result)


async def test_replay_from_offset_zero_rebuilds_identical_read_models(run: Run) -> None:
    result = await replay(run)
    result.print()
    assert result.passed, "\n".join(result.problems)
    for name in ("calendar", "event_metrics", "rollups", "framework_snapshots"):
        assert "identical" in result.facts[f"export {name}"]
