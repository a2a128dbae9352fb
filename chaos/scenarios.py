"""The seven fault scenarios. Each runs a stream of writes through the gateway, does its harm,
brings everything back, waits until every outbox is published and every consumer group has
committed the end of its topics, then accounts for the events of its acknowledged writes and
checks the read models against everything acknowledged since the run began."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bp_common.events.redrive import redrive
from chaos import exports
from chaos.accounting import (
    account_events,
    check_read_models,
    group_topics,
    handled_beyond_commit,
    inbox_ids,
    partial_writes,
    reconcile_failures,
    unsent_in,
    wait_quiescent,
)
from chaos.broker import Message, end_offsets, group_members, read_topic, send_raw
from chaos.report import ScenarioResult
from chaos.stack import (
    GROUP,
    KAFKA,
    PREFIX,
    SERVICES,
    ChaosError,
    Infrastructure,
    Stack,
    create_databases,
    drop_databases,
    log,
    pg_connection,
    process_gone,
    signed_identity,
    sqlalchemy_url,
)
from chaos.webhooks import Receiver, account_webhooks
from chaos.workload import (
    EVENT_FED,
    Ledger,
    ResultRow,
    Setup,
    Stream,
    Write,
    Writer,
    plan_payload,
)
from plan_api.versions.events import PlanEndorsedV1

PROBLEM_JSON = "application/problem+json"
CRASH_WINDOW_S = 15


@dataclass(frozen=True)
class Sizes:
    """How long each scenario writes, and where its faults strike."""

    workers: int
    broker_s: tuple[float, float, float]  # writing before the kill, broker down, after restart
    consumer_stream_s: float
    consumer_crash_after: int  # records handled before the hook exits
    consumer_services: tuple[str, ...]
    relay_stream_s: float
    relay_crash_after: int  # outbox rows read before the hook exits
    relay_services: tuple[str, ...]
    replica_s: tuple[float, float]  # writing with two replicas, then after the kill
    database_s: tuple[float, float, float]  # writing before the stop, down, after the start
    poison_stream_s: float
    quiesce_s: float = 240
    # Whether writes go on while the broker restarts (its recovery of every partition on the
    # machine takes a minute): the reduced test pauses them to stay short.
    write_while_broker_starts: bool = True


ALL = ("meetings-api", "plan-api", "indicators-api")
# Sized for this 2-core machine (~110-160 acknowledged writes/s through the gateway, a broker
# that takes about a minute to recover after a SIGKILL): over 20,000 events under scenarios 1-4,
# about 8 minutes in all, well within the 15 allowed.
FULL = Sizes(
    workers=8,
    broker_s=(10, 5, 10),
    consumer_stream_s=30,
    consumer_crash_after=300,
    consumer_services=(*ALL, "notifications-api"),
    relay_stream_s=30,
    relay_crash_after=120,
    relay_services=ALL,
    replica_s=(10, 20),
    database_s=(5, 4, 10),
    poison_stream_s=8,
)
QUICK = Sizes(
    workers=6,
    broker_s=(4, 3, 4),
    consumer_stream_s=16,
    consumer_crash_after=150,
    consumer_services=("indicators-api", "notifications-api"),
    relay_stream_s=16,
    relay_crash_after=60,
    relay_services=("meetings-api",),
    replica_s=(6, 14),
    database_s=(4, 3, 6),
    poison_stream_s=4,
    quiesce_s=180,
)


@dataclass
class Run:
    stack: Stack
    infra: Infrastructure
    writer: Writer
    ledger: Ledger
    setup: Setup
    sizes: Sizes
    # The partner's webhook receiver (chaos/webhooks.py), subscribed to the domain's events.
    receiver: Receiver | None = None
    last_seed: int = 0

    def seed(self) -> int:
        """Each stream its own seed: the runs are repeatable, the streams differ."""
        self.last_seed += 1
        return self.last_seed


# -- shared steps ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def streaming(run: Run, result: ScenarioResult) -> AsyncIterator[Stream]:
    """The stream of writes for the body of the block; stopped whatever happens in it."""
    run.writer.scenario = result.name
    stream = Stream(run.writer, run.setup, workers=run.sizes.workers, seed=run.seed()).start()
    try:
        yield stream
    finally:
        seconds = await stream.stop()
        writes = run.ledger.of(result.name)
        result.facts["stream"] = (
            f"{run.sizes.workers} writers for {seconds:.1f}s: {len(writes)} requests, "
            f"{sum(w.ok for w in writes) / max(seconds, 0.001):.0f} acknowledged/s"
        )


async def settle_and_account(run: Run, result: ScenarioResult, started: float) -> ScenarioResult:
    """Wait for quiescence, then sent / arrived / lost / doubled and the read models."""
    try:
        waited = await wait_quiescent(run.stack, run.sizes.quiesce_s)
        result.facts["settled after the writes stopped (s)"] = round(waited, 1)
    except ChaosError as exc:
        result.problems.append(str(exc))
    writes = run.ledger.of(result.name)
    result.failures = await reconcile_failures(run.stack, run.ledger, writes)
    result.events = await account_events(run.stack, writes, result.failures.adopted)
    result.checks = await check_read_models(run.stack, run.ledger)
    if run.receiver is not None:
        result.webhooks = await account_webhooks(
            run.stack, run.receiver, result.events.sent_ids, run.sizes.quiesce_s
        )
    result.duration_s = time.monotonic() - started
    result.judge()
    return result


def latency_ms(writes: list[Write]) -> str:
    times = sorted((w.ended - w.started) * 1000 for w in writes)
    if not times:
        return "-"
    return f"p50 {times[len(times) // 2]:.0f} ms, p95 {times[int(len(times) * 0.95)]:.0f} ms"


async def wait_for(
    check: Callable[[], Awaitable[bool]], within_s: float, what: str, every_s: float = 0.5
) -> float:
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within_s:
            raise ChaosError(f"{what}: not within {within_s:.0f}s")
        await asyncio.sleep(every_s)
    return time.monotonic() - started


async def crash_and_restart(
    run: Run,
    result: ScenarioResult,
    hook: str,
    services: tuple[str, ...],
    crash_after: int,
    stream_s: float,
    evidence: Callable[[str], Awaitable[int]],
    evidence_label: str,
) -> None:
    """Restart ``services`` armed with the crash ``hook`` and write while they crash. At each
    crash, before any restart, measure the ``evidence`` that it fell in the gap it aims at;
    restart the crashed ones (``stack.sh start``, without the hook) once all have crashed, or
    CRASH_WINDOW_S after the first (a restart in between would revive a service whose crash has
    not been seen yet, and lose its evidence)."""
    stack = run.stack
    # Armed before the stream starts: a graceful stop answers the requests in progress.
    for service in services:
        await stack.stop_service(service)
    await stack.start(**{f"{PREFIX[s]}_{hook}": str(crash_after) for s in services})
    armed_at = time.monotonic()
    armed = {s: stack.pid(s) or 0 for s in services}  # the armed processes, not the pid files
    crashed: dict[str, str] = {}
    down_since: float | None = None
    try:
        async with streaming(run, result):
            deadline = time.monotonic() + stream_s
            while time.monotonic() < deadline or down_since is not None:
                for service in services:
                    if service not in crashed and process_gone(armed[service]):
                        seen = await evidence(service)
                        crashed[service] = (
                            f"after {time.monotonic() - armed_at:.1f}s, {evidence_label} {seen}"
                        )
                        log(f"  {service} crashed ({crashed[service]})")
                        down_since = down_since or time.monotonic()
                if down_since is not None and (
                    len(crashed) == len(services)
                    or time.monotonic() - down_since > CRASH_WINDOW_S
                    or time.monotonic() > deadline
                ):
                    log("  restarting the crashed services without the hook")
                    await stack.start()
                    down_since = None
                await asyncio.sleep(0.2)
    finally:
        # A hook that has not fired must not stay armed for the next scenario.
        for service in services:
            if service not in crashed:
                await stack.stop_service(service)
        if not all(stack.alive(s) for s in SERVICES):
            await stack.start()
    result.facts["crashes"] = crashed
    for service in services:
        if service not in crashed:
            result.problems.append(f"the crash hook of {service} never fired (stream too short?)")


# -- 1. broker hard bounce ------------------------------------------------------------------------


async def broker_bounce(run: Run) -> ScenarioResult:
    result = ScenarioResult(1, "broker", "Broker hard bounce (SIGKILL while writing, restart)")
    started = time.monotonic()
    before_s, outage_s, after_s = run.sizes.broker_s
    async with streaming(run, result) as stream:
        await asyncio.sleep(before_s)
        killed = time.monotonic()
        await run.infra.kafka("kill")
        log("  broker killed (SIGKILL)")
        try:
            await asyncio.sleep(outage_s)
        finally:
            if not run.sizes.write_while_broker_starts:
                stream.pause()
            await run.infra.kafka("start")
            stream.resume()
        back = time.monotonic()
        log(f"  broker back after {back - killed:.1f}s")
        await asyncio.sleep(after_s)
    writes = run.ledger.of(result.name)
    before = [w for w in writes if w.started < killed and w.ok]
    during = [w for w in writes if killed <= w.started < back]
    result.facts |= {
        "broker down (kill to ready) (s)": round(back - killed, 1),
        "writes while it was down": f"{sum(w.ok for w in during)} acknowledged of {len(during)}",
        "latency before / while down": (
            f"{latency_ms(before)} / {latency_ms([w for w in during if w.ok])}"
        ),
    }
    return await settle_and_account(run, result, started)


# -- 2. consumer hard bounce ----------------------------------------------------------------------


async def consumer_crash(run: Run) -> ScenarioResult:
    result = ScenarioResult(
        2, "consumer", "Consumer killed between its DB commit and offset commit"
    )
    started = time.monotonic()

    async def evidence(service: str) -> int:
        return await handled_beyond_commit(run.stack, service)

    await crash_and_restart(
        run,
        result,
        "CRASH_BEFORE_OFFSET_COMMIT_AFTER",
        run.sizes.consumer_services,
        run.sizes.consumer_crash_after,
        run.sizes.consumer_stream_s,
        evidence,
        "records applied but not committed (to be redelivered):",
    )
    return await settle_and_account(run, result, started)


# -- 3. relay crash -------------------------------------------------------------------------------


async def relay_crash(run: Run) -> ScenarioResult:
    result = ScenarioResult(
        3, "relay", "Producer killed between its commit and the relay's publish"
    )
    started = time.monotonic()

    async def evidence(service: str) -> int:
        return await unsent_in(run.stack, service)

    await crash_and_restart(
        run,
        result,
        "CRASH_BEFORE_OUTBOX_PUBLISH_AFTER",
        run.sizes.relay_services,
        run.sizes.relay_crash_after,
        run.sizes.relay_stream_s,
        evidence,
        "committed outbox rows left unpublished:",
    )
    return await settle_and_account(run, result, started)


# -- 4. two replicas, one killed ------------------------------------------------------------------


async def replica_kill(run: Run) -> ScenarioResult:
    result = ScenarioResult(4, "replicas", "Two replicas of indicators-api, one SIGKILLed")
    started = time.monotonic()
    stack = run.stack
    group = stack.namespace + GROUP["indicators-api"]
    replica = stack.instance("indicators-api", stack.base_port + 13, "indicators-api-replica")
    await replica.start()
    members: dict[str, list[str]] = {}
    # Every topic the group reads has 3 partitions (the bus's default).
    partitions = 3 * len(group_topics("indicators-api"))

    async def members_are(count: int) -> bool:
        nonlocal members
        with contextlib.suppress(Exception):
            members = await group_members(group)
        # Settled: that many members, each owning partitions, every partition of its topics owned.
        owned = sum(len(p) for p in members.values())
        return len(members) == count and all(members.values()) and owned == partitions

    try:
        async with streaming(run, result):
            joined = await wait_for(lambda: members_are(2), 60, "the second replica joining")
            before = dict(members)
            await asyncio.sleep(run.sizes.replica_s[0])
            killed = time.monotonic()
            await replica.kill()
            log("  replica killed (SIGKILL)")
            moved = await wait_for(lambda: members_are(1), 60, "partitions moving to the survivor")
            log(f"  partitions moved after {moved:.1f}s")
            await asyncio.sleep(run.sizes.replica_s[1])
        writes = run.ledger.of(result.name)
        result.facts |= {
            "replica joined the group after (s)": round(joined, 1),
            "assignment with two replicas": [", ".join(p) for p in before.values()],
            "partitions moved to the survivor after (s)": round(moved, 1),
            "assignment after the kill": [", ".join(p) for p in members.values()],
            "acknowledged after the kill": sum(w.ok for w in writes if w.started >= killed),
        }
    finally:
        await replica.stop()
    return await settle_and_account(run, result, started)


# -- 6. database restart under load --------------------------------------------------------------


async def database_restart(run: Run) -> ScenarioResult:
    result = ScenarioResult(6, "database", "PostgreSQL stopped and restarted under load")
    started = time.monotonic()
    dlq_marks = {t: await end_offsets(run.stack.namespace + t) for t in DLQ_TOPICS}
    async with streaming(run, result):
        await asyncio.sleep(run.sizes.database_s[0])
        stopping = time.monotonic()
        try:
            # A restart with its downtime made explicit: stop (-m fast: sessions are cut, their
            # transactions rolled back), stay down a moment, start.
            await run.infra.postgres("stop")
            log(f"  PostgreSQL stopped; down for {run.sizes.database_s[1]:.0f}s")
            await asyncio.sleep(run.sizes.database_s[1])
        finally:
            await run.infra.postgres("start")
        back = time.monotonic()
        log(f"  PostgreSQL back after {back - stopping:.1f}s")
        await asyncio.sleep(run.sizes.database_s[2])
    writes = run.ledger.of(result.name)
    failed = [w for w in writes if not w.ok]
    unclean = [w for w in failed if w.status != 503 or not w.content_type.startswith(PROBLEM_JSON)]
    after = sorted((w for w in writes if w.started >= back), key=lambda w: w.started)
    first_ok = next((w for w in after if w.ok), None)
    result.facts |= {
        "database unavailable (stop -m fast to ready) (s)": round(back - stopping, 1),
        "failed requests": dict(Counter(f"{w.status} {w.code}" for w in failed)),
        "first acknowledged write after the restart (s)": (
            round(first_ok.ended - back, 2) if first_ok else "none"
        ),
        "after the restart": f"{sum(w.ok for w in after)} acknowledged of {len(after)}",
    }
    if unclean:
        result.problems.append(
            f"{len(unclean)} requests did not fail cleanly (503 problem+json), e.g. "
            + ", ".join(f"{w.kind} -> {w.status} {w.code} {w.content_type}" for w in unclean[:3])
        )
    if not any(w.ok for w in after[len(after) // 2 :]):
        result.problems.append("the services did not recover: no write succeeded after it")
    # Consumers whose transactions failed while the database was down: did they give up on
    # valid events (dead letters)? Counted, then re-driven so that the run can go on.
    try:
        await wait_quiescent(run.stack, run.sizes.quiesce_s)
    except ChaosError as exc:
        result.problems.append(str(exc))
    letters = await dead_letters_since(run.stack, dlq_marks)
    if letters:
        early = await account_events(run.stack, [w for w in writes if w.ok], set())
        result.facts["dead-lettered while the database was down"] = dict(
            Counter(
                f"{m.headers.get('dlq_group', b'').decode()}: "
                f"{m.headers.get('dlq_error', b'').decode()}"
                for m in letters
            )
        )
        result.facts["events missing from the inboxes before the re-drive"] = early.lost
        result.problems.append(
            f"consumers dead-lettered {len(letters)} valid events because the database was "
            "briefly unavailable (a transient error handled as a poison message); the read "
            "models lack them until someone re-drives them"
        )
        await redrive_all(run, result)
    await settle_and_account(run, result, started)
    partial = await partial_writes(run.stack)
    result.facts["writes stored without their events (or the reverse)"] = len(partial)
    if partial:
        result.problems.append(f"partial writes: {partial[:3]}")
    return result


DLQ_TOPICS = ("meetings.events.dlq", "plan.events.dlq")


async def dead_letters_since(stack: Stack, marks: dict[str, dict[int, int]]) -> list[Message]:
    letters: list[Message] = []
    for topic in DLQ_TOPICS:
        letters += await read_topic(stack.namespace + topic, since=marks.get(topic))
    return letters


async def redrive_all(run: Run, result: ScenarioResult) -> None:
    moved = {
        topic: await asyncio.wait_for(redrive(KAFKA, run.stack.namespace + topic), 120)
        for topic in DLQ_TOPICS
    }
    result.facts["re-driven"] = moved


# -- 7. poison messages and bad input -------------------------------------------------------------


# Who reads each topic (and so dead-letters a message nobody can read).
READERS = {
    "meetings.events": {"meetings", "plan", "indicators"},
    "plan.events": {"meetings", "indicators"},
}
POISON = b"\x00not a cloudevent"


async def poison_and_bad_input(run: Run) -> ScenarioResult:
    result = ScenarioResult(7, "poison", "Poison messages, bad input, dead letters re-driven")
    started = time.monotonic()
    stack = run.stack
    marks = {t: await end_offsets(stack.namespace + t) for t in DLQ_TOPICS}
    poisons: dict[str, str] = {}  # origin position "partition:offset" -> topic
    async with streaming(run, result):
        await asyncio.sleep(2)
        for topic in READERS:
            for partition in range(3):
                key = f"chaos-poison-{topic}-{partition}".encode()
                offset = await send_raw(stack.namespace + topic, partition, key, POISON)
                poisons[f"{topic}@{partition}:{offset}"] = topic
        log(f"  {len(poisons)} malformed messages sent, one on each partition")
        # The stream goes on: its events land behind the poison on every partition.
        await asyncio.sleep(run.sizes.poison_stream_s)
    await wait_quiescent(stack, run.sizes.quiesce_s)

    # Every reader dead-letters each poison exactly once, and moves on.
    letters = await dead_letters_since(stack, marks)
    seen: Counter[tuple[str, str]] = Counter()
    for letter in letters:
        origin = letter.headers.get("dlq_origin", b"").decode()
        position = f"{origin}@{letter.headers.get('dlq_position', b'').decode()}"
        if position in poisons:
            seen[(position, letter.headers.get("dlq_group", b"").decode())] += 1
            if letter.headers.get("dlq_error") != b"MalformedEvent":
                result.problems.append(f"poison {position}: dlq_error {letter.headers}")
    expected = {(p, g) for p, topic in poisons.items() for g in READERS[topic]}
    missing = expected - set(seen)
    twice = [k for k, n in seen.items() if n > 1]
    result.facts["poison dead letters"] = f"{sum(seen.values())} (expected {len(expected)})"
    if missing or twice:
        result.problems.append(f"poison letters missing {sorted(missing)[:3]}, twice {twice[:3]}")

    await bad_input(run, result)
    await fix_and_redrive(run, result, marks)
    return await settle_and_account(run, result, started)


async def bad_input(run: Run, result: ScenarioResult) -> None:
    """Refused requests answer a problem and store nothing; an import keeps its valid rows and
    reports the others."""
    writer = run.writer
    refusals: list[tuple[str, str, dict[str, Any] | None, bytes | None]] = [
        ("meeting.create.invalid", "/v1/meetings", {"title": "", "country": "XXX"}, None),
        ("meeting.create.malformed", "/v1/meetings", None, b'{"title": "unfinished'),
        ("meeting.hold.unknown", f"/v1/meetings/{uuid.uuid4()}/hold", None, None),
        ("offer.accept.unknown", f"/v1/hosting-offers/{uuid.uuid4()}/accept", None, None),
    ]
    refused: list[Write] = []
    for kind, path, body, content in refusals:
        write, _ = await writer.call(kind, "POST", path, json=body, content=content)
        refused.append(write)
        if write.ok or write.status is None or write.status >= 500:
            result.problems.append(f"{kind}: answered {write.status}, expected a 4xx")
        elif not write.content_type.startswith(PROBLEM_JSON):
            result.problems.append(f"{kind}: {write.content_type}, not a problem document")
    # One valid row among invalid ones: the valid one is stored, the others reported.
    request_id = writer.next_request_id()
    valid = ResultRow(f"{request_id}-valid", "CHAOS-P0", "CHAOS-R1", 2021, 2, "HU", 7)
    invalid = [
        valid.payload() | {"external_id": f"{request_id}-unknown-project", "project": "NOPE"},
        valid.payload() | {"external_id": f"{request_id}-bad-period", "period": "2021-Q9"},
        valid.payload() | {"external_id": f"{request_id}-bad-country", "country": "XX"},
    ]
    write, answer = await writer.call(
        "results.import",
        "POST",
        "/v1/results/import",
        json={"organisation": "IOM", "results": [valid.payload(), *invalid]},
        request_id=request_id,
    )
    if not write.ok or answer["created"] != 1 or answer["rejected"] != len(invalid):
        result.problems.append(f"mixed import answered {write.status} {answer}")
    else:
        write.aggregate = str(answer["import_id"])
        run.ledger.results[valid.external_id] = valid
    async with pg_connection(run.stack.database("indicators-api")) as connection:
        stored = await connection.fetchval(
            "SELECT count(*) FROM result WHERE external_id = ANY($1::text[])",
            [r["external_id"] for r in invalid],
        )
    result.facts["bad input"] = (
        f"{len(refused)} refused requests ({', '.join(str(w.status) for w in refused)}), "
        f"{len(invalid)} invalid import rows reported and {stored} of them stored"
    )
    if stored:
        result.problems.append(f"{stored} rejected import rows were stored")


async def fix_and_redrive(
    run: Run, result: ScenarioResult, marks: dict[str, dict[int, int]]
) -> None:
    """A valid event a handler cannot apply yet: a meeting's endorsement of a plan version that is
    not circulated. plan-api retries it, dead-letters it; once the version is circulated (the
    fix), a re-drive applies it, once."""
    writer, stack = run.writer, run.stack
    plan = await writer.required(
        "plan.create", "POST", "/v1/plans", plan_payload("Chaos endorsement")
    )
    plan_id = str(plan["id"])
    activity = await writer.hosted_activity(plan_id, "HU", 2023, 2, goal=1, tag="endorsed")
    meeting = await writer.held_meeting("HU", 2023, 5)
    if activity is None or not activity.hosted or meeting is None or not meeting.held:
        raise ChaosError("could not prepare the endorsement")
    decision_write, _ = await writer.call(
        "decision.record",
        "POST",
        f"/v1/meetings/{meeting.id}/decisions",
        json={
            "kind": "endorsement",
            "text": "Endorses the plan",
            "plan_id": plan_id,
            "plan_version": 1,
        },
        aggregate=meeting.id,
    )
    if not decision_write.ok:
        raise ChaosError(f"decision refused: {decision_write.status} {decision_write.code}")
    async with pg_connection(stack.database("meetings-api")) as connection:
        event_id = await connection.fetchval(
            "SELECT event_id FROM outbox WHERE envelope->>'requestid' = $1",
            decision_write.request_id,
        )

    async def dead_lettered() -> bool:
        return any(
            m.event_id == event_id and m.headers.get("dlq_group") == b"plan"
            for m in await dead_letters_since(stack, marks)
        )

    waited = await wait_for(dead_lettered, 60, "the endorsement reaching the dead letters")
    applied_before = await inbox_ids(stack.database("plan-api"), "plan", [event_id])
    # The fix: circulate version 1.
    await writer.required("version.circulate", "POST", f"/v1/plans/{plan_id}/versions")
    await redrive_all(run, result)

    async def endorsed() -> bool:
        async with httpx.AsyncClient(base_url=stack.url("plan-api"), timeout=10) as client:
            answer = await client.get(f"/v1/plans/{plan_id}/versions/1", headers=signed_identity())
        return answer.status_code == 200 and answer.json().get("status") == "endorsed"

    applied = await wait_for(endorsed, 60, "the re-driven endorsement being applied")
    await wait_quiescent(stack, run.sizes.quiesce_s)
    async with pg_connection(stack.database("plan-api")) as connection:
        endorsed_events = await connection.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = $1 AND envelope->>'subject' = $2",
            PlanEndorsedV1.type,
            plan_id,
        )
        claims = await connection.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group = 'plan' AND event_id = $1", event_id
        )
    result.facts["endorsement before its version"] = (
        f"dead-lettered by plan after {waited:.1f}s (applied before the fix: "
        f"{len(applied_before)}), applied {applied:.1f}s after the re-drive; inbox claims "
        f"{claims}, plan.endorsed events {endorsed_events}"
    )
    if applied_before or claims != 1 or endorsed_events != 1:
        result.problems.append(
            f"endorsement: applied before the fix {len(applied_before)}, claims {claims}, "
            f"plan.endorsed events {endorsed_events} (expected 0, 1, 1)"
        )


# -- 5. replay into empty read stores -------------------------------------------------------------


async def replay(run: Run) -> ScenarioResult:
    """Fresh databases and other consumer groups read every topic from offset 0; the exports of
    their read models must equal the live ones byte for byte."""
    result = ScenarioResult(5, "replay", "Replay from offset 0 into empty read stores")
    started = time.monotonic()
    stack = run.stack
    await wait_quiescent(stack, run.sizes.quiesce_s)
    suffix = uuid.uuid4().hex[:6]
    instances = {}
    groups: dict[str, str] = {}
    for service, offset in (("meetings-api", 21), ("indicators-api", 23)):
        database = f"chaos_replay_{GROUP[service]}_{suffix}"
        await create_databases([database])
        stack.extra_databases.append(database)
        group = f"{GROUP[service]}-replay-{suffix}"
        groups[group] = service
        instance = stack.instance(
            service,
            stack.base_port + offset,
            f"{service}-replay",
            DATABASE_URL=sqlalchemy_url(database),
            CONSUMER_GROUP=group,
            # What its handlers announce while rebuilding was announced live already.
            OUTBOX_RELAY="false",
        )
        await instance.migrate()
        instances[service] = (instance, database)
    # The indicators' definitions are the service's own data, not a read model: restored as is
    # (before its consumer starts, so every fact meets the indicators it feeds, as live).
    await copy_table(stack.database("indicators-api"), instances["indicators-api"][1], "indicator")
    live = await exports.read_models(
        stack.url("meetings-api"), stack.url("indicators-api"), sorted(EVENT_FED)
    )
    try:
        for instance, _ in instances.values():
            await instance.start()
        waited = await wait_quiescent(stack, run.sizes.quiesce_s, groups)
        replayed = await exports.read_models(
            instances["meetings-api"][0].url,
            instances["indicators-api"][0].url,
            sorted(EVENT_FED),
        )
        counts = {}
        for group, service in groups.items():
            async with pg_connection(instances[service][1]) as connection:
                counts[group] = await connection.fetchval(
                    "SELECT count(*) FROM inbox WHERE consumer_group = $1", group
                )
    finally:
        for instance, _ in instances.values():
            await instance.stop()
        await drop_databases([database for _, database in instances.values()])
        stack.extra_databases.clear()
    rate = sum(counts.values()) / max(waited, 0.001)
    result.facts |= {
        "events applied by the replay": f"{counts} in {waited:.1f}s ({rate:.0f}/s)",
        "excluded from the comparison": exports.EXCLUDED,
    }
    for name, export in live.items():
        other = replayed[name]
        same = export.body == other.body
        result.facts[f"export {name}"] = f"{len(export.items)} items, sha256 {export.digest} " + (
            "identical" if same else f"DIFFERENT from replay {other.digest}"
        )
        if not same:
            result.problems.append(f"{name}: {exports.first_difference(export, other)}")
    result.duration_s = time.monotonic() - started
    return result


async def copy_table(source: str, target: str, table: str) -> None:
    async with pg_connection(source) as reader, pg_connection(target) as writer:
        rows = await reader.fetch(f'SELECT * FROM "{table}"')
        if rows:
            await writer.copy_records_to_table(
                table, records=[tuple(r.values()) for r in rows], columns=list(rows[0].keys())
            )


SCENARIOS: dict[str, Callable[[Run], Awaitable[ScenarioResult]]] = {
    "broker": broker_bounce,
    "consumer": consumer_crash,
    "relay": relay_crash,
    "replicas": replica_kill,
    "database": database_restart,
    "poison": poison_and_bad_input,
    "replay": replay,
}
