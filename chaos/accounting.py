"""Sent, arrived, lost and applied twice.

- *sent*: the events of acknowledged writes, read from the producers' outbox tables by the
  writes' request ids (each envelope carries the request id that caused it);
- *on the broker*: the event ids read back from the topics, from offset 0 to their end;
- *arrived*: the inbox rows of each consumer group (``SELECT event_id FROM inbox WHERE
  consumer_group = ...``), for the events whose type the group has a handler for;
- *lost*: sent minus arrived, per group (and sent minus on the broker);
- *applied twice*: read-model values above what the acknowledged writes imply, duplicate inbox
  rows (impossible by the primary key, still counted), and derived events (a consumer's own
  outbox rows) beyond one per fact."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError

from bp_common.events.envelope import topic_for_type
from chaos import exports
from chaos.broker import committed_offsets, group_lag, read_topic, topic_ids
from chaos.stack import GROUP, ChaosError, Stack, log, pg_connection
from chaos.workload import (
    EVENT_FED,
    HELD_INDICATOR,
    HOSTED_INDICATOR,
    REPORTED,
    Activity,
    Ledger,
    Meeting,
    Write,
)
from indicators_api.app import SPEC as INDICATORS
from indicators_api.results.events import ResultsImportedV1
from indicators_api.rollups.events import RollupUpdatedV1
from meetings_api.app import SPEC as MEETINGS
from meetings_api.meetings.events import (
    DelegationCorrectedV1,
    DelegationWithdrawnV1,
    MeetingAttendanceCorrectedV1,
    MeetingHeldV1,
    MeetingScheduledV1,
)
from meetings_api.proceedings.events import InterventionRecordedV1, InterventionWithdrawnV1
from notifications_api.app import SPEC as NOTIFICATIONS
from plan_api.activities.events import ActivityHostedV1, ActivityProposedV1, ActivityUpdatedV1
from plan_api.app import SPEC as PLAN
from plan_api.hosting.events import HostingOfferedV1

PRODUCERS = ("meetings-api", "plan-api", "indicators-api")
# Every consumer group: the producers', and notifications-api's, which stores every event and
# queues its webhook deliveries.
CONSUMERS = (*PRODUCERS, "notifications-api")
# The event types each consumer group has a handler for (an event of another type on a topic it
# reads is skipped without an inbox row): taken from the services themselves.
HANDLED: dict[str, frozenset[str]] = {
    "meetings-api": frozenset(MEETINGS.handlers),
    "plan-api": frozenset(PLAN.handlers),
    "indicators-api": frozenset(INDICATORS.handlers),
    "notifications-api": frozenset(NOTIFICATIONS.handlers),
}
TOPICS = ("meetings.events", "plan.events", "indicators.events")
# What each acknowledged write must have put in its outbox (the producers' own event classes).
EVENTS_OF_WRITE = {
    "meeting.create": (MeetingScheduledV1.type,),
    "meeting.hold": (MeetingHeldV1.type,),
    "activity.create": (ActivityProposedV1.type,),
    "offer.create": (HostingOfferedV1.type, ActivityUpdatedV1.type),
    "offer.accept": (ActivityHostedV1.type,),
    "intervention.record": (InterventionRecordedV1.type,),
    "intervention.withdraw": (InterventionWithdrawnV1.type,),
    "delegation.correct": (DelegationCorrectedV1.type, MeetingAttendanceCorrectedV1.type),
    "delegation.withdraw": (DelegationWithdrawnV1.type, MeetingAttendanceCorrectedV1.type),
    "results.import": (ResultsImportedV1.type, RollupUpdatedV1.type),
}
ROLLUP_UPDATED = RollupUpdatedV1.type
# A failure that leaves the outcome open: the request may have committed before its answer was
# lost (the upstream process died, or the gateway gave up waiting). Any other failure says that
# nothing was stored, so a trace of it is a violation.
AMBIGUOUS_STATUSES = (None, 502, 504)


@dataclass(frozen=True)
class SentEvent:
    event_id: str
    topic: str
    event_type: str
    subject: str
    request_id: str | None
    sent: bool


async def outbox_of_requests(stack: Stack, request_ids: list[str]) -> list[SentEvent]:
    found: list[SentEvent] = []
    for service in PRODUCERS:
        async with pg_connection(stack.database(service)) as connection:
            rows = await connection.fetch(
                "SELECT event_id, topic, event_type, envelope->>'subject' AS subject,"
                " envelope->>'requestid' AS request_id, sent_at IS NOT NULL AS sent"
                " FROM outbox WHERE envelope->>'requestid' = ANY($1::text[])",
                request_ids,
            )
        found += [SentEvent(**dict(row)) for row in rows]
    return found


async def derived_events(stack: Stack) -> Counter[str]:
    """Rollup updates the indicators consumer wrote itself (no request), per indicator."""
    async with pg_connection(stack.database("indicators-api")) as connection:
        rows = await connection.fetch(
            "SELECT envelope->>'subject' AS subject, count(*) AS n FROM outbox"
            " WHERE event_type = $1 AND envelope->>'requestid' IS NULL GROUP BY 1",
            ROLLUP_UPDATED,
        )
    return Counter({row["subject"]: int(row["n"]) for row in rows})


async def inbox_ids(database: str, group: str, event_ids: list[str]) -> set[str]:
    async with pg_connection(database) as connection:
        rows = await connection.fetch(
            "SELECT event_id FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::text[])",
            group,
            event_ids,
        )
    return {row["event_id"] for row in rows}


async def duplicate_inbox_rows(database: str) -> int:
    async with pg_connection(database) as connection:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM (SELECT consumer_group, event_id FROM inbox"
                " GROUP BY 1, 2 HAVING count(*) > 1) AS d"
            )
        )


async def unsent_rows(stack: Stack) -> int:
    total = 0
    for service in PRODUCERS:
        async with pg_connection(stack.database(service)) as connection:
            total += int(
                await connection.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            )
    return total


# -- quiescence -----------------------------------------------------------------------------------


def group_topics(service: str) -> list[str]:
    return sorted({topic_for_type(t) for t in HANDLED[service]})


async def wait_quiescent(
    stack: Stack, within_s: float, groups: Mapping[str, str] | None = None
) -> float:
    """Until every outbox row is published and every consumer group has committed the end of
    its topics; returns the seconds waited. ``groups``: logical group -> service (default: the
    stack's four)."""
    groups = groups or {GROUP[s]: s for s in CONSUMERS}
    started = time.monotonic()
    deadline = started + within_s
    last = ""
    while True:
        try:
            unsent = await unsent_rows(stack)
            lags = {
                group: await group_lag(
                    stack.namespace + group,
                    [stack.namespace + t for t in group_topics(service)],
                )
                for group, service in groups.items()
            }
            if unsent == 0 and not any(lags.values()):
                return time.monotonic() - started
            last = f"unsent outbox rows {unsent}, lag {lags}"
        except (OSError, asyncpg.PostgresError, KafkaError, ChaosError, TimeoutError) as exc:
            last = f"not measurable yet: {exc!r}"
        if time.monotonic() > deadline:
            raise ChaosError(f"not quiescent after {within_s:.0f}s: {last}")
        await asyncio.sleep(1)


# -- failed requests ------------------------------------------------------------------------------


@dataclass
class Failures:
    """The scenario's failed requests: those that left no trace, those whose outcome was open and
    that did commit (adopted into the ledger), and violations (a trace after an answer that
    said nothing was stored)."""

    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    clean: int = 0
    committed_unacknowledged: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    # Request ids of failed writes that committed: their events count as sent.
    adopted: set[str] = field(default_factory=set)


def _status_label(write: Write) -> str:
    return f"{write.status or 'no answer'}{f' {write.code}' if write.code else ''}"


async def reconcile_failures(stack: Stack, ledger: Ledger, writes: list[Write]) -> Failures:
    failed = [w for w in writes if not w.ok]
    report = Failures(total=len(failed))
    report.by_status.update(_status_label(w) for w in failed)
    if not failed:
        return report
    traces: dict[str, list[SentEvent]] = {}
    for event in await outbox_of_requests(stack, [w.request_id for w in failed]):
        traces.setdefault(event.request_id or "", []).append(event)
    # Belt and braces beside the outbox: the business rows themselves.
    titles = {
        ledger.attempted_meetings[w.request_id][0]: w.request_id
        for w in failed
        if w.kind == "meeting.create"
    }
    rows = {
        row.external_id: w.request_id
        for w in failed
        if w.kind == "results.import"
        for row in ledger.attempted_rows[w.request_id]
    }
    stored: set[str] = set()
    async with pg_connection(stack.database("meetings-api")) as connection:
        found = await connection.fetch(
            "SELECT title FROM meeting WHERE title = ANY($1::text[])", list(titles)
        )
        stored |= {titles[r["title"]] for r in found}
    async with pg_connection(stack.database("indicators-api")) as connection:
        found = await connection.fetch(
            "SELECT external_id FROM result WHERE external_id = ANY($1::text[])", list(rows)
        )
        stored |= {rows[r["external_id"]] for r in found}
    for write in failed:
        events = traces.get(write.request_id, [])
        if not events and write.request_id not in stored:
            report.clean += 1
            continue
        label = f"{write.kind} {write.request_id} ({_status_label(write)})"
        if write.request_id in stored and not events:
            report.violations.append(f"{label}: business rows stored without their events")
        elif write.status in AMBIGUOUS_STATUSES:
            report.committed_unacknowledged.append(label)
        else:
            report.violations.append(f"{label}: stored though the answer said it was not")
        report.adopted.add(write.request_id)
        adopt(ledger, write, events)
    return report


def adopt(ledger: Ledger, write: Write, events: list[SentEvent]) -> None:
    """A write that committed without an answer is part of the platform's state: expect it."""
    if write.kind == "meeting.create":
        _, country, year = ledger.attempted_meetings[write.request_id]
        for event in events:
            ledger.meetings.setdefault(
                event.subject, Meeting(event.subject, country, year, write.scenario)
            )
    elif write.kind == "meeting.hold" and write.aggregate in ledger.meetings:
        ledger.meetings[write.aggregate].held = True
    elif write.kind == "activity.create":
        for event in events:
            ledger.activities.setdefault(
                event.subject, Activity(event.subject, "", 0, 0, write.scenario)
            )
    elif write.kind == "offer.create" and write.aggregate in ledger.activities:
        ledger.activities[write.aggregate].offered = True
    elif write.kind == "offer.accept" and write.aggregate in ledger.activities:
        ledger.activities[write.aggregate].hosted = True
    elif write.kind == "results.import":
        for row in ledger.attempted_rows[write.request_id]:
            ledger.results[row.external_id] = row
    elif write.kind in ("delegation.correct", "delegation.withdraw"):
        meeting_id, participants, countries = ledger.attempted_attendance[write.request_id]
        meeting = ledger.meetings[meeting_id]
        meeting.participants, meeting.countries = participants, countries


# -- the events of a scenario ---------------------------------------------------------------------


@dataclass
class Delivery:
    """One consumer group's account of a scenario's events."""

    expected: int = 0
    arrived: int = 0
    lost: list[str] = field(default_factory=list)


@dataclass
class EventAccount:
    writes: int = 0
    acknowledged: int = 0
    sent: int = 0
    sent_by_topic: Counter[str] = field(default_factory=Counter)
    missing_at_source: list[str] = field(default_factory=list)
    not_on_broker: list[str] = field(default_factory=list)
    redelivered_on_broker: int = 0
    groups: dict[str, Delivery] = field(default_factory=dict)
    duplicate_inbox_rows: int = 0
    # The ids of the events sent (what the webhook receiver must apply once each).
    sent_ids: list[str] = field(default_factory=list)

    @property
    def deliveries(self) -> int:
        return sum(d.expected for d in self.groups.values())

    @property
    def lost(self) -> int:
        return (
            len(self.missing_at_source)
            + len(self.not_on_broker)
            + sum(len(d.lost) for d in self.groups.values())
        )


async def account_events(stack: Stack, writes: list[Write], adopted: set[str]) -> EventAccount:
    """``writes``: the scenario's; ``adopted``: request ids of failed writes that committed
    nevertheless, whose events count as sent too."""
    counted = [w for w in writes if w.ok or w.request_id in adopted]
    account = EventAccount(writes=len(writes), acknowledged=sum(w.ok for w in writes))
    sent = await outbox_of_requests(stack, [w.request_id for w in counted])
    account.sent = len(sent)
    account.sent_ids = [e.event_id for e in sent]
    account.sent_by_topic.update(e.topic for e in sent)
    by_request: dict[str, list[SentEvent]] = {}
    for event in sent:
        by_request.setdefault(event.request_id or "", []).append(event)
    for write in counted:
        types = {e.event_type for e in by_request.get(write.request_id, [])}
        if write.kind in EVENTS_OF_WRITE and not set(EVENTS_OF_WRITE[write.kind]) <= types:
            account.missing_at_source.append(f"{write.kind} {write.request_id}")
    on_broker: Counter[str] = Counter()
    for topic in TOPICS:
        on_broker.update(await topic_ids(stack.namespace + topic))
    account.not_on_broker = [e.event_id for e in sent if e.event_id not in on_broker]
    account.redelivered_on_broker = sum(
        on_broker[e.event_id] - 1 for e in sent if on_broker[e.event_id] > 1
    )
    for service in CONSUMERS:
        expected = [e.event_id for e in sent if e.event_type in HANDLED[service]]
        arrived = await inbox_ids(stack.database(service), GROUP[service], expected)
        account.groups[GROUP[service]] = Delivery(
            expected=len(expected),
            arrived=len(arrived),
            lost=sorted(set(expected) - arrived),
        )
        account.duplicate_inbox_rows += await duplicate_inbox_rows(stack.database(service))
    return account


# -- the read models against the ledger -----------------------------------------------------------


@dataclass
class ModelCheck:
    """Per read model: values below what the writes imply (lost), above (applied twice),
    present without a write (unexpected)."""

    compared: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not (self.lost or self.doubled or self.unexpected)


def _compare(
    check: ModelCheck, name: str, expected: Mapping[Any, Any], actual: Mapping[Any, Any]
) -> None:
    for key in expected.keys() | actual.keys():
        check.compared += 1
        want, have = expected.get(key), actual.get(key)
        if want == have:
            continue
        label = f"{name} {key}: expected {want}, found {have}"
        if want is None:
            check.unexpected.append(label)
        elif isinstance(want, int | float) and isinstance(have, int | float):
            (check.doubled if have > want else check.lost).append(label)
        else:
            check.lost.append(label)


def expected_counts(ledger: Ledger) -> dict[str, Counter[tuple[str, int]]]:
    held = [m for m in ledger.meetings.values() if m.held]
    participants: Counter[tuple[str, int]] = Counter()
    countries: Counter[tuple[str, int]] = Counter()
    for m in held:
        participants[(m.country, m.year)] += m.participants
        countries[(m.country, m.year)] += m.countries
    return {
        "meetings_held": Counter((m.country, m.year) for m in held),
        # The attendance each held meeting last had (corrected ones included), by host.
        "participants": participants,
        "countries_represented": countries,
        "activities_hosted": Counter(
            (a.country, a.year) for a in ledger.activities.values() if a.hosted
        ),
    }


async def check_read_models(stack: Stack, ledger: Ledger) -> dict[str, ModelCheck]:
    counts = expected_counts(ledger)
    indicators_url, meetings_url = stack.url("indicators-api"), stack.url("meetings-api")
    checks: dict[str, ModelCheck] = {}

    # Event metrics: one fact per meeting held (its attendance as last corrected: 0 without
    # delegations) and per activity hosted, by host country and year.
    metrics = (await exports.event_metrics(indicators_url)).items
    check = checks.setdefault("event_metrics", ModelCheck())
    for metric in exports.EVENT_METRICS:
        source = "activities_hosted" if metric == "activities_hosted" else "meetings_held"
        want: dict[Any, float] = dict.fromkeys(counts[source], 0.0)
        want |= {key: float(n) for key, n in counts[metric].items()}
        have = {
            (r["country"], r["year"]): float(r["value"]) for r in metrics if r["metric"] == metric
        }
        _compare(check, metric, want, have)

    # Rollups: reported indicators add up the acknowledged rows; event-fed ones count facts.
    codes = [*REPORTED, *EVENT_FED]
    rows = (await exports.rollups(indicators_url, codes)).items
    want_rollups: Counter[tuple[str, int, str, int]] = Counter()
    for row in ledger.results.values():
        want_rollups[(row.indicator, REPORTED[row.indicator], row.country, row.year)] += row.value
    for (code, goal, _), source in (
        (HELD_INDICATOR, "meetings_held"),
        (HOSTED_INDICATOR, "activities_hosted"),
    ):
        for (country, year), n in counts[source].items():
            want_rollups[(code, goal, country, year)] += n
    have_rollups = {
        (r["indicator"], r["goal"], r["country"], r["year"]): float(r["value"]) for r in rows
    }
    _compare(
        checks.setdefault("rollups", ModelCheck()),
        "rollup",
        {k: float(v) for k, v in want_rollups.items()},
        have_rollups,
    )

    # Calendar: every meeting and activity once, in the state of its last acknowledged write.
    entries = (await exports.calendar(meetings_url)).items
    want_calendar: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for m in ledger.meetings.values():
        want_calendar[m.id] = ("meeting", "held" if m.held else "planned", (m.country,))
    for a in ledger.activities.values():
        hosts = (a.country,) if a.hosted else ()
        status = "hosted" if a.hosted else "host_offered" if a.offered else "proposed"
        want_calendar[a.id] = ("activity", status, hosts)
    have_calendar = {
        str(e["id"]): (e["source"], e["status"], tuple(e["host_countries"])) for e in entries
    }
    _compare(checks.setdefault("calendar", ModelCheck()), "entry", want_calendar, have_calendar)

    # Dashboard: meetings by status and results counted as the acknowledged writes imply.
    parts = {item["part"]: item for item in (await exports.dashboard(indicators_url)).items}
    held = sum(1 for m in ledger.meetings.values() if m.held)
    want_dashboard = {
        "meetings held": held,
        "meetings planned": len(ledger.meetings) - held,
        "results": len(ledger.results),
    }
    have_dashboard = {
        "meetings held": parts["meetings"]["held"],
        "meetings planned": parts["meetings"]["planned"],
        "results": parts["results"]["results"],
    }
    _compare(checks.setdefault("dashboard", ModelCheck()), "", want_dashboard, have_dashboard)

    # Derived events: the indicators consumer announces each counted fact once.
    derived = await derived_events(stack)
    want_derived = {
        HELD_INDICATOR[0]: float(sum(counts["meetings_held"].values())),
        HOSTED_INDICATOR[0]: float(sum(counts["activities_hosted"].values())),
    }
    _compare(
        checks.setdefault("derived_events", ModelCheck()),
        "rollup.updated of",
        want_derived,
        {k: float(v) for k, v in derived.items() if k in want_derived},
    )
    return checks


def log_checks(checks: Mapping[str, ModelCheck]) -> None:
    for name, check in checks.items():
        state = "exact" if check.exact else "DIFFERENT"
        log(f"  read model {name}: {check.compared} values compared, {state}")
        for label in (check.lost + check.doubled + check.unexpected)[:5]:
            log(f"    {label}")


# -- evidence that a fault hit where it was meant to ----------------------------------------------


async def handled_beyond_commit(stack: Stack, service: str) -> int:
    """Records past the group's committed offsets whose effect is already in its inbox: those a
    crash between the database commit and the offset commit leaves to be redelivered."""
    group = stack.namespace + GROUP[service]
    committed = await committed_offsets(group)
    pending: list[str] = []
    for topic in group_topics(service):
        physical = stack.namespace + topic
        since = {tp.partition: offset for tp, offset in committed.items() if tp.topic == physical}
        pending += [m.event_id for m in await read_topic(physical, since=since) if m.event_id]
    return len(await inbox_ids(stack.database(service), GROUP[service], pending))


async def unsent_in(stack: Stack, service: str) -> int:
    async with pg_connection(stack.database(service)) as connection:
        return int(await connection.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


async def partial_writes(stack: Stack) -> list[str]:
    """Business rows without the event their transaction had to write (and the reverse): a
    write and its event commit together or not at all."""
    found: list[str] = []

    async def subjects(connection: asyncpg.Connection, event_type: str) -> set[str]:
        rows = await connection.fetch(
            "SELECT envelope->>'subject' AS s FROM outbox WHERE event_type = $1", event_type
        )
        return {row["s"] for row in rows}

    async with pg_connection(stack.database("meetings-api")) as connection:
        meetings = {r["id"] for r in await connection.fetch("SELECT id::text AS id FROM meeting")}
        held = {
            r["id"]
            for r in await connection.fetch(
                "SELECT id::text AS id FROM meeting WHERE status::text IN ('held', 'HELD')"
            )
        }
        scheduled = await subjects(connection, MeetingScheduledV1.type)
        held_events = await subjects(connection, MeetingHeldV1.type)
    found += [f"meeting {m} without its scheduled event" for m in meetings - scheduled]
    found += [f"scheduled event of a meeting not stored: {m}" for m in scheduled - meetings]
    found += [f"held meeting {m} without its held event" for m in held - held_events]
    found += [f"held event of a meeting not held: {m}" for m in held_events - held]
    async with pg_connection(stack.database("plan-api")) as connection:
        activities = {
            r["id"] for r in await connection.fetch("SELECT id::text AS id FROM activity")
        }
        proposed = await subjects(connection, ActivityProposedV1.type)
    found += [f"activity {a} without its proposed event" for a in activities - proposed]
    found += [f"proposed event of an activity not stored: {a}" for a in proposed - activities]
    return found
