"""The soak's load: a fixed rate of requests through the gateway, mixed as the dashboard team and
the partners use the platform, each answer counted per endpoint.

The load is open-loop: requests start on a fixed schedule whether or not earlier ones have
answered, so a platform that slows down meets the same demand (a closed loop would back off and
hide the slowdown)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from bench.load import percentile
from bench.scenarios import COUNTRIES, result_rows
from bench.stack import ADMIN_KEY

REQUEST_TIMEOUT_S = 30.0
# Beyond this many requests in flight the platform is not keeping up; further starts are counted
# as shed (a failure of the run) instead of piling up in this process.
MAX_IN_FLIGHT = 400
ROWS_PER_IMPORT = 25
GOAL_TITLES = [f"Priority goal {number}" for number in range(1, 7)]


@dataclass
class Tally:
    """Answers per endpoint: status counts, latencies of the answered, transport errors."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    transport_errors: Counter[str] = field(default_factory=Counter)
    shed: int = 0

    def record(self, endpoint: str, status: int | None, elapsed_s: float, error: str = "") -> None:
        if status is None:
            self.transport_errors[f"{endpoint}: {error}"] += 1
            return
        self.statuses[endpoint][status] += 1
        self.latencies_ms[endpoint].append(elapsed_s * 1000)

    @property
    def server_errors(self) -> int:
        return sum(n for counts in self.statuses.values() for s, n in counts.items() if s >= 500)

    @property
    def failures(self) -> int:
        """What fails the soak: server errors, no answer at all, requests the load had to shed."""
        return self.server_errors + sum(self.transport_errors.values()) + self.shed

    def by_status(self) -> dict[int, int]:
        total: Counter[int] = Counter()
        for counts in self.statuses.values():
            total.update(counts)
        return dict(sorted(total.items()))

    def percentiles(self) -> dict[str, dict[str, float]]:
        return {
            endpoint: {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p99_ms": round(percentile(values, 99), 1),
            }
            for endpoint, values in sorted(self.latencies_ms.items())
        }


@dataclass(frozen=True)
class Keys:
    """Several keys per kind of caller, so the gateway's per-key rate limit is not what the soak
    measures."""

    readers: list[str]
    secretariat: list[str]
    member_bg: str
    partner_iom: str


class Load:
    """Requests at ``rate`` per second, one in ``write_every`` starting a write flow."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        keys: Keys,
        plan_id: str,
        *,
        rate: float,
        write_every: int = 10,
        seed: int = 1,
    ) -> None:
        self.client = client
        self.keys = keys
        self.plan_id = plan_id
        self.rate = rate
        self.write_every = write_every
        self.rng = random.Random(seed)
        self.tally = Tally()
        self._ids = itertools.count(1)
        self._reader_keys = itertools.cycle(keys.readers)
        self._secretariat_keys = itertools.cycle(keys.secretariat)
        self._writes = itertools.cycle((self.meeting_held, self.offer_accepted, self.import_pushed))
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self, duration_s: float) -> None:
        """Start requests on schedule for ``duration_s``, then wait for those in flight."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        for number in itertools.count():
            due = started + number / self.rate
            if due - started >= duration_s:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                self.tally.shed += 1
                continue
            flow = next(self._writes) if number % self.write_every == 0 else self.a_read
            task = asyncio.create_task(flow())
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if self._in_flight:
            await asyncio.wait(self._in_flight)

    async def send(
        self, endpoint: str, method: str, path: str, key: str, **kwargs: Any
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(
                method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs
            )
        except httpx.HTTPError as exc:
            self.tally.record(endpoint, None, time.perf_counter() - started, type(exc).__name__)
            return None
        self.tally.record(endpoint, response.status_code, time.perf_counter() - started)
        return response

    # -- reads: every list the dashboard shows ------------------------------------------------

    async def a_read(self) -> None:
        year = self.rng.randint(2019, 2024)
        activities = f"/v1/plans/{self.plan_id}/activities"
        endpoint, path, params = self.rng.choice(
            [
                ("/v1/dashboard/summary", None, {}),
                ("/v1/meetings", None, {"limit": 20}),
                ("/v1/meetings", None, {"status": "planned", "limit": 20}),
                ("/v1/calendar", None, {"from": date(year, 1, 1), "to": date(year, 12, 31)}),
                ("/v1/rollups", None, {"by": "goal,year"}),
                ("/v1/rollups", None, {"by": "goal,country,year"}),
                ("/v1/plans", None, {}),
                ("/v1/plans/{id}/activities", activities, {"limit": 20}),
                ("/v1/results", None, {"limit": 50}),
                ("/v1/indicators", None, {}),
                ("/v1/projects", None, {}),
            ]
        )
        await self.send(
            f"GET {endpoint}", "GET", path or endpoint, next(self._reader_keys), params=params
        )

    # -- writes: the three flows that change what the dashboard shows --------------------------

    async def meeting_held(self) -> None:
        key = next(self._secretariat_keys)
        year, month = self.rng.randint(2020, 2024), self.rng.randint(1, 12)
        created = await self.send(
            "POST /v1/meetings",
            "POST",
            "/v1/meetings",
            key,
            json={
                "title": f"Soak meeting {next(self._ids)}",
                "kind": "thematic_meeting",
                "starts_on": f"{year}-{month:02d}-10",
                "ends_on": f"{year}-{month:02d}-11",
                "city": "Budapest",
                "country": self.rng.choice(COUNTRIES),
            },
        )
        if created is not None and created.status_code == 201:
            meeting_id = created.json()["id"]
            await self.send(
                "POST /v1/meetings/{id}/hold", "POST", f"/v1/meetings/{meeting_id}/hold", key
            )

    async def offer_accepted(self) -> None:
        key = next(self._secretariat_keys)
        activity = await self.send(
            "POST /v1/plans/{id}/activities",
            "POST",
            f"/v1/plans/{self.plan_id}/activities",
            key,
            json={
                "title": f"Soak activity {next(self._ids)}",
                "goal": self.rng.randint(1, 6),
                "kind": "meeting",
                "year": self.rng.randint(2020, 2024),
                "quarter": self.rng.randint(1, 4),
            },
        )
        if activity is None or activity.status_code != 201:
            return
        offer = await self.send(
            "POST /v1/activities/{id}/hosting-offers",
            "POST",
            f"/v1/activities/{activity.json()['id']}/hosting-offers",
            self.keys.member_bg,
            json={"country": "BG"},
        )
        if offer is not None and offer.status_code == 201:
            await self.send(
                "POST /v1/hosting-offers/{id}/accept",
                "POST",
                f"/v1/hosting-offers/{offer.json()['id']}/accept",
                key,
            )

    async def import_pushed(self) -> None:
        batch = next(self._ids)
        rows = result_rows(ROWS_PER_IMPORT, seed=batch, prefix=f"soak{batch}")
        await self.send(
            "POST /v1/results/import",
            "POST",
            "/v1/results/import",
            self.keys.partner_iom,
            json={"results": rows},
        )


async def issue_keys(client: httpx.AsyncClient, readers: int, writers: int) -> Keys:
    async def issue(name: str, **binding: str) -> str:
        response = await client.post(
            "/v1/api-keys",
            json={"name": f"soak {name}", **binding},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        response.raise_for_status()
        return str(response.json()["key"])

    return Keys(
        readers=[await issue(f"dashboard {n}", role="viewer") for n in range(readers)],
        secretariat=[await issue(f"secretariat {n}", role="secretariat") for n in range(writers)],
        member_bg=await issue("Bulgaria", role="member", country="BG"),
        partner_iom=await issue("IOM", role="partner", organisation="IOM"),
    )


async def create_plan(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/v1/plans",
        json={
            "title": "Soak plan",
            "period_start": 2020,
            "period_end": 2024,
            "goals": [{"number": n, "title": t} for n, t in enumerate(GOAL_TITLES, 1)],
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    response.raise_for_status()
    return str(response.json()["id"])
