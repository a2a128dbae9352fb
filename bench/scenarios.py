"""The four measurements, each through the public API of a running distributed stack."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import orjson
import pycountry

from bench.load import closed_loop, summary
from bench.stack import ADMIN_KEY, PG_URL, Stack
from bp_common.security import Identity, Role
from bp_common.settings import DEV_IDENTITY_SECRET
from bp_common.testing import IdentityHeaders, eventually

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
COUNTRIES = ["AF", "PK", "IQ", "TR", "BG", "HU", "RS", "MK", "AZ", "LV", "GE", "AM"]
GOALS = [
    "Irregular migration, return, readmission and reintegration, smuggling networks",
    "Legal migration and mobility",
    "Integration of migrants, counteracting discrimination, racism and xenophobia",
    "Migration and development",
    "Trafficking in persons",
    "International protection",
]


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else None


# -- 1. result import throughput ------------------------------------------------------------------


async def setup_results_framework(
    client: httpx.AsyncClient, projects: int = 4
) -> list[dict[str, Any]]:
    """Projects implemented by IOM in the Silk Routes countries, and one indicator per goal."""
    created = []
    for number in range(projects):
        project = {
            "code": f"BENCH-{number}",
            "title": f"Benchmark project {number}",
            "donor": "EU",
            "budget": {"amount": 12_000_000, "currency": "EUR"},
            "implementing_organisations": ["IOM", "ICMPD"],
            "countries": COUNTRIES,
            "goals": [1, 2, 3, 4, 5, 6],
            "starts_on": "2019-01-01",
            "ends_on": "2024-12-31",
        }
        created.append(_ok(await client.post("/v1/projects", json=project, headers=ADMIN)))
    for goal in range(1, 7):
        indicator = {
            "code": f"BENCH-IND-{goal}",
            "title": f"People reached under goal {goal}",
            "level": "output",
            "goal": goal,
            "measure": "unit",
            "ascending": True,
            "aggregation": ["sum", "mean", "max", "latest", "sum", "sum"][goal - 1],
            "cumulative": False,
            "baseline": {"year": 2019, "value": 0},
            "targets": [{"year": year, "value": 10_000} for year in range(2019, 2025)],
            "source": "reported",
        }
        _ok(await client.post("/v1/indicators", json=indicator, headers=ADMIN))
    return created


def result_rows(count: int, *, seed: int, prefix: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        year = rng.randint(2019, 2024)
        rows.append(
            {
                "external_id": f"{prefix}-{index}",
                "project": f"BENCH-{rng.randrange(4)}",
                "indicator": f"BENCH-IND-{rng.randint(1, 6)}",
                "period": f"{year}-Q{rng.randint(1, 4)}",
                "country": rng.choice(COUNTRIES),
                "value": rng.randint(0, 500),
            }
        )
    return rows


def import_body(rows: list[dict[str, Any]]) -> bytes:
    """Encoded before the clock starts: the benchmark's own JSON encoding (15-20 ms per 10k
    rows) is not the platform's cost."""
    return orjson.dumps({"results": rows})


async def import_rows(client: httpx.AsyncClient, key: str, body: bytes) -> dict[str, Any]:
    response = await client.post(
        "/v1/results/import",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=300,
    )
    report: dict[str, Any] = _ok(response)
    return report


async def partner_key(client: httpx.AsyncClient, organisation: str) -> str:
    issued = await client.post(
        "/v1/api-keys",
        json={"name": f"{organisation} bench", "role": "partner", "organisation": organisation},
        headers=ADMIN,
    )
    key: str = _ok(issued)["key"]
    return key


async def timed_imports(
    client: httpx.AsyncClient, key: str, batches: int, rows_per_batch: int, *, first_seed: int
) -> dict[str, Any]:
    """``batches`` imports of fresh rows (all created), then one re-push (all unchanged)."""
    timings = []
    for batch in range(batches):
        rows = result_rows(rows_per_batch, seed=first_seed + batch, prefix=f"t{first_seed + batch}")
        body = import_body(rows)
        started = time.perf_counter()
        report = await import_rows(client, key, body)
        timings.append(time.perf_counter() - started)
        if report["created"] != rows_per_batch:
            raise RuntimeError(f"import rejected rows: {report['errors'][:3]}")
    body = import_body(result_rows(rows_per_batch, seed=first_seed, prefix=f"t{first_seed}"))
    repush_started = time.perf_counter()
    repush = await import_rows(client, key, body)
    repush_s = time.perf_counter() - repush_started
    median = sorted(timings)[len(timings) // 2]
    return {
        "rows_per_request": rows_per_batch,
        "requests": batches,
        "median_rows_per_s": round(rows_per_batch / median),
        "best_rows_per_s": round(rows_per_batch / min(timings)),
        "repush_unchanged": repush["unchanged"],
        "repush_rows_per_s": round(rows_per_batch / repush_s),
    }


async def fill_results(
    client: httpx.AsyncClient, key: str, stored: int, target: int
) -> tuple[int, float]:
    """Import until ``target`` results are stored; returns the count and the rows/s achieved
    (time in the requests only, not in generating and encoding the rows)."""
    elapsed = 0.0
    added = 0
    while stored + added < target:
        batch = min(10_000, target - stored - added)
        rows = result_rows(batch, seed=10_000 + stored + added, prefix=f"f{stored + added}")
        body = import_body(rows)
        started = time.perf_counter()
        added += (await import_rows(client, key, body))["created"]
        elapsed += time.perf_counter() - started
    return stored + added, (added / elapsed if added else 0.0)


def bare_records(rows_per_batch: int) -> list[tuple[object, ...]]:
    return [
        (
            "IOM",
            r["external_id"],
            r["project"],
            r["indicator"],
            r["period"],
            r["country"],
            float(r["value"]),
        )
        for r in result_rows(rows_per_batch, seed=99, prefix="bare")
    ]


# -- 2. event propagation latency -----------------------------------------------------------------


async def propagation_latency(stack: Stack, offers: int = 500) -> dict[str, Any]:
    """From accepting a hosting offer to the hosted activity in the calendar, two ways.

    ``recorded``: from times the services record themselves, read after the fact: the event's
    ``ce_time`` (stamped in plan-api's accepting transaction, kept by the calendar as
    ``changed_at``) to the calendar row's write in meetings-api's handler transaction
    (``updated_at``). The bench waits for it by polling at a slow pace, so the observation costs
    the services almost nothing: it is the platform's own figure. ``polled``: the user-visible
    one, from the accept's answer to the first read through the gateway that shows the host,
    polling every 2 ms (that observation itself costs some of the figure on two cores). Offers
    alternate between the two, so both share the machine's drift."""
    calendar_db = await asyncpg.connect(f"{PG_URL}/{stack.databases['meetings']}")
    recorded: list[float] = []
    polled: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30) as client:
            plan_id = await _propagation_plan(client)
            for index in range(offers):
                activity, country, offer_id = await _offer(client, plan_id, index)
                _ok(await client.post(f"/v1/hosting-offers/{offer_id}/accept", headers=ADMIN))
                answered = time.perf_counter()
                if index % 2:
                    await _until_hosted_in_calendar(client, activity, country, pause_s=0.002)
                    polled.append((time.perf_counter() - answered) * 1000)
                else:
                    await _until_hosted_in_calendar(client, activity, country, pause_s=0.05)
                    recorded.append(await _recorded_delay_ms(calendar_db, activity["id"]))
    finally:
        await calendar_db.close()
    return {"recorded": summary(recorded), "polled": summary(polled), "offers": offers}


async def _propagation_plan(client: httpx.AsyncClient) -> str:
    plan = _ok(
        await client.post(
            "/v1/plans",
            json={
                "title": "Benchmark plan",
                "period_start": 2020,
                "period_end": 2024,
                "goals": [{"number": n, "title": t} for n, t in enumerate(GOALS, 1)],
            },
            headers=ADMIN,
        )
    )
    return str(plan["id"])


async def _offer(
    client: httpx.AsyncClient, plan_id: str, index: int
) -> tuple[dict[str, Any], str, str]:
    """A new activity and a country's offer to host it, not yet accepted."""
    activity = _ok(
        await client.post(
            f"/v1/plans/{plan_id}/activities",
            json={
                "title": f"Thematic meeting {index}",
                "goal": index % 6 + 1,
                "kind": "meeting",
                "year": 2020 + index % 5,
                "quarter": index % 4 + 1,
            },
            headers=ADMIN,
        )
    )
    country = COUNTRIES[index % len(COUNTRIES)]
    offer = _ok(
        await client.post(
            f"/v1/activities/{activity['id']}/hosting-offers",
            json={"country": country},
            headers=ADMIN,
        )
    )
    return activity, country, str(offer["id"])


async def _recorded_delay_ms(calendar_db: asyncpg.Connection, activity_id: str) -> float:
    """The calendar entry's write minus the time of the event it applied (both UTC, one clock)."""
    delay = await calendar_db.fetchval(
        "SELECT EXTRACT(EPOCH FROM updated_at - changed_at) * 1000 FROM calendar_entry "
        "WHERE id = $1",
        uuid.UUID(activity_id),
    )
    return float(delay)


async def _until_hosted_in_calendar(
    client: httpx.AsyncClient, activity: dict[str, Any], country: str, *, pause_s: float
) -> None:
    params: dict[str, str | int] = {
        "source": "activity",
        "country": country,
        "from": f"{activity['year']}-01-01",
        "to": f"{activity['year']}-12-31",
        "limit": 500,
    }
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        page = _ok(await client.get("/v1/calendar", params=params, headers=ADMIN))
        entries = page["items"] if isinstance(page, dict) else page
        if any(e["id"] == activity["id"] and e["status"] == "hosted" for e in entries):
            return
        await asyncio.sleep(pause_s)
    raise RuntimeError(f"activity {activity['id']} not hosted in the calendar after 30 s")


# -- 3. gateway overhead --------------------------------------------------------------------------


async def gateway_overhead(
    stack: Stack, concurrency: int = 16, duration_s: float = 8
) -> dict[str, Any]:
    """The same read, through the gateway and straight to meetings-api (with a signed identity,
    as the gateway would send), same concurrency and duration, alternated to share drift."""
    # Signed at each request, as the gateway does: a token made once would expire in a long run.
    identity = IdentityHeaders(
        Identity(principal="bench", role=Role.SECRETARIAT, request_id=uuid.uuid4().hex),
        DEV_IDENTITY_SECRET,
        audience="meetings-api",
    )
    path = "/v1/meetings?limit=20"
    via_gateway = f"{stack.url('gateway')}{path}"
    direct = f"{stack.url('meetings-api')}{path}"

    async def through_gateway(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(via_gateway, headers=ADMIN)

    async def straight(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(direct, headers=identity)

    runs: dict[str, list[Any]] = {"gateway": [], "direct": []}
    for _ in range(2):
        runs["direct"].append(
            await closed_loop(straight, concurrency=concurrency, duration_s=duration_s / 2)
        )
        runs["gateway"].append(
            await closed_loop(through_gateway, concurrency=concurrency, duration_s=duration_s / 2)
        )
    result: dict[str, Any] = {}
    for name, loads in runs.items():
        latencies = [v for load in loads for v in load.latencies_ms]
        requests = sum(load.requests for load in loads)
        seconds = sum(load.duration_s for load in loads)
        result[name] = {
            "rps": round(requests / seconds, 1),
            "errors": sum(load.errors for load in loads),
        } | summary(latencies)
    result["concurrency"] = concurrency
    return result


# -- 4. rollup read scaling -----------------------------------------------------------------------


async def read_latency(
    client: httpx.AsyncClient,
    path: str,
    params: Callable[[int], dict[str, Any]] = lambda _: {},
    requests: int = 200,
) -> dict[str, float]:
    """Sequential reads of one endpoint (``params`` of the n-th request): the latency of the read
    itself, not of a queue."""
    latencies = []
    for index in range(requests):
        started = time.perf_counter()
        _ok(await client.get(path, params=params(index), headers=ADMIN))
        latencies.append((time.perf_counter() - started) * 1000)
    return summary(latencies)


async def rollup_latency(client: httpx.AsyncClient, requests: int = 200) -> dict[str, float]:
    return await read_latency(
        client,
        "/v1/rollups",
        lambda index: {"indicator": f"BENCH-IND-{index % 6 + 1}", "by": "goal,country,year"},
        requests,
    )


# -- 5. the dashboard's reads as the data grows ---------------------------------------------------

CALENDAR_YEAR = {"from": "2020-01-01", "to": "2020-12-31"}


async def _concurrently(count: int, make: Callable[[int], Awaitable[None]], workers: int) -> None:
    numbers = iter(range(count))

    async def work() -> None:
        for number in numbers:
            await make(number)

    await asyncio.gather(*(work() for _ in range(workers)))


async def grow_meetings_and_activities(
    client: httpx.AsyncClient, plan_id: str, meetings: tuple[int, int], activities: tuple[int, int]
) -> None:
    """Meetings (every other one held) and plan activities (every other one hosted) from the
    first to the second count of each, and wait until the dashboard has heard of them all."""

    async def meeting(number: int) -> None:
        rng = random.Random(number)
        year, month = rng.randint(2019, 2024), rng.randint(1, 12)
        created = _ok(
            await client.post(
                "/v1/meetings",
                json={
                    "title": f"Bench meeting {number}",
                    "kind": "thematic_meeting",
                    "starts_on": f"{year}-{month:02d}-10",
                    "ends_on": f"{year}-{month:02d}-11",
                    "city": "Budapest",
                    "country": rng.choice(COUNTRIES),
                },
                headers=ADMIN,
            )
        )
        if number % 2:
            _ok(await client.post(f"/v1/meetings/{created['id']}/hold", headers=ADMIN))

    async def activity(number: int) -> None:
        rng = random.Random(number)
        created = _ok(
            await client.post(
                f"/v1/plans/{plan_id}/activities",
                json={
                    "title": f"Bench activity {number}",
                    "goal": rng.randint(1, 6),
                    "kind": "meeting",
                    "year": rng.randint(2020, 2024),
                    "quarter": rng.randint(1, 4),
                },
                headers=ADMIN,
            )
        )
        if number % 2:
            offer = _ok(
                await client.post(
                    f"/v1/activities/{created['id']}/hosting-offers",
                    json={"country": rng.choice(COUNTRIES)},
                    headers=ADMIN,
                )
            )
            _ok(await client.post(f"/v1/hosting-offers/{offer['id']}/accept", headers=ADMIN))

    first, last = meetings
    await _concurrently(last - first, lambda n: meeting(first + n), workers=16)
    first, last = activities
    await _concurrently(last - first, lambda n: activity(first + n), workers=16)

    async def heard() -> bool:
        summary_ = _ok(await client.get("/v1/dashboard/summary", headers=ADMIN))
        counted = summary_["meetings"]["held"] + summary_["meetings"]["planned"]
        plan = summary_["plan"] or {}
        return bool(
            counted == meetings[1]
            and sum(plan.get("activities_by_status", {}).values()) == activities[1]
        )

    await eventually(heard, within_s=600, every_s=0.5)


async def bench_plan(client: httpx.AsyncClient) -> str:
    plan = _ok(
        await client.post(
            "/v1/plans",
            json={
                "title": "Benchmark plan",
                "period_start": 2020,
                "period_end": 2024,
                "goals": [{"number": n, "title": f"Goal {n}"} for n in range(1, 7)],
            },
            headers=ADMIN,
        )
    )
    return str(plan["id"])


async def dashboard_latency(client: httpx.AsyncClient) -> dict[str, dict[str, float]]:
    return {
        "dashboard_summary": await read_latency(client, "/v1/dashboard/summary"),
        "calendar_year": await read_latency(client, "/v1/calendar", lambda _: CALENDAR_YEAR),
    }


# -- 6. a meeting's summary as PDF ------------------------------------------------------------


async def large_meeting(
    client: httpx.AsyncClient, delegations: int = 100, interventions: int = 300
) -> str:
    """A held meeting of ``delegations`` states and organisations (the 11 of the registry) and
    ``interventions`` of every kind over ten agenda items."""
    meeting = _ok(
        await client.post(
            "/v1/meetings",
            json={
                "title": "Bench Senior Officials Meeting",
                "kind": "senior_officials_meeting",
                "starts_on": "2021-12-01",
                "ends_on": "2021-12-02",
                "city": "Budapest",
                "country": "HU",
            },
            headers=ADMIN,
        )
    )
    base = f"/v1/meetings/{meeting['id']}"
    organisations = ["EC", "CEU", "EEAS", "EASO", "FRONTEX", "BSEC", "ICMPD", "ILO", "IOM"]
    organisations += ["UNODC", "UNDP"]
    # Ecuador's code is the European Commission's acronym: a participant is one or the other.
    codes = [c.alpha_2 for c in pycountry.countries if c.alpha_2 not in organisations]
    states = codes[: delegations - len(organisations)]
    participants = states + organisations
    _ok(
        await client.put(
            f"{base}/delegations",
            json=[{"participant": p, "headcount": 1 + i % 4} for i, p in enumerate(participants)],
            headers=ADMIN,
        )
    )
    items = [
        _ok(
            await client.post(
                f"{base}/agenda-items",
                json={"day": 1 + n // 5, "position": 1 + n % 5, "title": f"Agenda item {n + 1}"},
                headers=ADMIN,
            )
        )["id"]
        for n in range(10)
    ]
    kinds = ["statement", "support", "commitment", "presentation", "reservation"]
    for n in range(interventions):
        body = {
            "delegation": participants[n % len(participants)],
            "kind": kinds[n % len(kinds)],
            "agenda_item_id": items[n % len(items)],
            "text": f"Intervention {n + 1}: " + "on the implementation of the plan, " * 6,
        }
        _ok(await client.post(f"{base}/interventions", json=body, headers=ADMIN))
    _ok(await client.post(f"{base}/hold", headers=ADMIN))
    return str(meeting["id"])


async def report_latency(client: httpx.AsyncClient, renders: int = 10) -> dict[str, Any]:
    """PDF of the large meeting through the gateway, one at a time, after a first render (the
    renderer's import and font set-up)."""
    meeting_id = await large_meeting(client)
    path = f"/v1/meetings/{meeting_id}/report"
    warm_up = await client.get(path, params={"format": "pdf"}, headers=ADMIN)
    warm_up.raise_for_status()
    latencies = []
    for _ in range(renders):
        started = time.perf_counter()
        (await client.get(path, params={"format": "pdf"}, headers=ADMIN)).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return summary(latencies) | {"pdf_bytes": len(warm_up.content)}
