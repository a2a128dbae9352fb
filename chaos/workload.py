"""The writes the scenarios make through the gateway, and the ledger of what was acknowledged.

Every request carries its own ``X-Request-Id``: the services stamp it on the events they write
(``requestid`` of the envelope), so the events of an acknowledged write are found in the
producers' outboxes by that id, and a failed request is shown to have left no trace when no
outbox row carries it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.stack import ADMIN_KEY, ChaosError

COUNTRIES = ["AF", "PK", "IQ", "TR", "BG", "HU", "RS", "MK", "AZ", "LV", "GE", "AM"]
YEARS = list(range(2019, 2025))
GOAL_TITLES = [
    "Irregular migration, return, readmission and reintegration, smuggling networks",
    "Legal migration and mobility",
    "Integration of migrants, counteracting discrimination, racism and xenophobia",
    "Migration and development",
    "Trafficking in persons",
    "International protection",
]
ORGANISATION = "IOM"
PROJECTS = [f"CHAOS-P{n}" for n in range(4)]
# Reported indicators (one per goal, summed) and the two fed by events.
REPORTED = {f"CHAOS-R{goal}": goal for goal in range(1, 7)}
HELD_INDICATOR = ("CHAOS-HELD", 1, "meetings_held")
HOSTED_INDICATOR = ("CHAOS-HOSTED", 2, "activities_hosted")
EVENT_FED = {code: goal for code, goal, _ in (HELD_INDICATOR, HOSTED_INDICATOR)}
ROWS_PER_IMPORT = 25
# A failed request is followed by a short pause: a dead upstream answers at once, and a writer
# spinning on it would starve the 2 cores the rest of the platform needs.
PAUSE_AFTER_FAILURE_S = 0.2
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Write:
    """One request and its answer (``status`` None: no answer at all)."""

    scenario: str
    request_id: str
    kind: str
    status: int | None
    content_type: str = ""
    code: str | None = None
    aggregate: str | None = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Meeting:
    id: str
    country: str
    year: int
    scenario: str
    held: bool = False
    # Its attendance as last acknowledged (a corrections flow lists delegations, then corrects
    # them once the meeting is held): what the event-fed participants and countries count.
    participants: int = 0
    countries: int = 0


@dataclass
class Activity:
    id: str
    country: str
    year: int
    quarter: int
    scenario: str
    offer_id: str | None = None
    offered: bool = False  # a host on offer: the activity is host_offered until accepted
    hosted: bool = False


@dataclass(frozen=True)
class ResultRow:
    external_id: str
    project: str
    indicator: str
    year: int
    quarter: int
    country: str
    value: int

    def payload(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "project": self.project,
            "indicator": self.indicator,
            "period": f"{self.year}-Q{self.quarter}",
            "country": self.country,
            "value": self.value,
        }


@dataclass
class Ledger:
    """What the platform acknowledged, across the scenarios of a run."""

    writes: list[Write] = field(default_factory=list)
    meetings: dict[str, Meeting] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    results: dict[str, ResultRow] = field(default_factory=dict)
    # What a failed request tried to write, to look for its trace (and adopt it if it committed).
    attempted_rows: dict[str, list[ResultRow]] = field(default_factory=dict)
    attempted_meetings: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    # A correction of a held meeting's delegations: the meeting and the attendance it makes.
    attempted_attendance: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    def of(self, scenario: str) -> list[Write]:
        return [w for w in self.writes if w.scenario == scenario]


@dataclass
class Setup:
    """What the stream writes under: the plan of the activities (its plan id)."""

    plan_id: str


def problem_code(response: httpx.Response) -> str | None:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            code = body.get("code")
            return str(code) if code is not None else None
    return None


class Writer:
    """Writes through the gateway, recording every request in the ledger."""

    def __init__(self, gateway_url: str, ledger: Ledger, *, prefix: str = "chaos") -> None:
        self.client = httpx.AsyncClient(
            base_url=gateway_url,
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=REQUEST_TIMEOUT_S,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self.ledger = ledger
        self.prefix = prefix
        self.scenario = "setup"
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        await self.client.aclose()

    def next_request_id(self) -> str:
        return f"{self.prefix}.{self.scenario}.{next(self._ids)}"

    async def call(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        aggregate: str | None = None,
        request_id: str | None = None,
        if_match: str | None = None,
    ) -> tuple[Write, Any]:
        request_id = request_id or self.next_request_id()
        write = Write(self.scenario, request_id, kind, None, aggregate=aggregate)
        write.started = time.monotonic()
        headers = {"X-Request-Id": request_id}
        if if_match is not None:
            headers["If-Match"] = if_match
        if content is not None:
            headers["content-type"] = "application/json"
        body: Any = None
        try:
            response = await self.client.request(
                method, path, json=json, content=content, headers=headers
            )
        except httpx.HTTPError:
            pass  # no answer: not acknowledged
        else:
            write.status = response.status_code
            write.content_type = response.headers.get("content-type", "")
            if write.ok:
                with contextlib.suppress(ValueError):
                    body = response.json()
            else:
                write.code = problem_code(response)
        write.ended = time.monotonic()
        self.ledger.writes.append(write)
        if not write.ok:
            await asyncio.sleep(PAUSE_AFTER_FAILURE_S)
        return write, body

    async def required(self, kind: str, method: str, path: str, json: Any = None) -> Any:
        """A setup write that must succeed."""
        write, body = await self.call(kind, method, path, json=json)
        if not write.ok:
            raise ChaosError(f"{method} {path}: {write.status} {write.code}")
        return body

    # -- set-up -----------------------------------------------------------------------------

    async def setup(self) -> Setup:
        """Projects and indicators the imports and the events feed, and the plan of the
        activities."""
        self.scenario = "setup"
        for code in PROJECTS:
            await self.required(
                "project.create",
                "POST",
                "/v1/projects",
                {
                    "code": code,
                    "title": f"Chaos project {code}",
                    "implementing_organisations": [ORGANISATION],
                    "countries": COUNTRIES,
                    "goals": [1, 2, 3, 4, 5, 6],
                    "starts_on": "2019-01-01",
                    "ends_on": "2024-12-31",
                },
            )
        indicators = [(code, goal, "reported") for code, goal in REPORTED.items()]
        for code, goal, source in [*indicators, HELD_INDICATOR, HOSTED_INDICATOR]:
            await self.required(
                "indicator.create",
                "POST",
                "/v1/indicators",
                {
                    "code": code,
                    "title": f"Chaos indicator {code}",
                    "level": "output",
                    "goal": goal,
                    "measure": "unit",
                    "aggregation": "sum",
                    "cumulative": False,
                    "targets": [{"year": year, "value": 1000} for year in YEARS],
                    "source": source,
                },
            )
        plan = await self.required("plan.create", "POST", "/v1/plans", plan_payload("Chaos plan"))
        return Setup(plan_id=str(plan["id"]))

    # -- the flows of the stream --------------------------------------------------------------

    async def meeting_flow(self, rng: random.Random) -> None:
        """Schedule a meeting, then hold it: ``scheduled`` and ``held`` events."""
        await self.held_meeting(rng.choice(COUNTRIES), rng.choice(YEARS), rng.randint(1, 12))

    async def held_meeting(
        self,
        country: str,
        year: int,
        month: int,
        delegations: list[tuple[str, int]] | None = None,
    ) -> Meeting | None:
        request_id = self.next_request_id()
        title = f"Chaos meeting {request_id}"
        self.ledger.attempted_meetings[request_id] = (title, country, year)
        created, body = await self.call(
            "meeting.create",
            "POST",
            "/v1/meetings",
            json=meeting_payload(title, country, year, month),
            request_id=request_id,
        )
        if not created.ok:
            return None
        meeting = Meeting(str(body["id"]), country, year, self.scenario)
        created.aggregate = meeting.id
        self.ledger.meetings[meeting.id] = meeting
        if delegations:
            # The list publishes nothing until the meeting is held: a meeting whose list was
            # not acknowledged is left planned, so no attendance is counted that is not known.
            listed, _ = await self.call(
                "meeting.delegations",
                "PUT",
                f"/v1/meetings/{meeting.id}/delegations",
                json=[{"participant": p, "headcount": n} for p, n in delegations],
                aggregate=meeting.id,
            )
            if not listed.ok:
                return meeting
            meeting.participants = sum(n for _, n in delegations)
            meeting.countries = len(delegations)
        held, _ = await self.call(
            "meeting.hold", "POST", f"/v1/meetings/{meeting.id}/hold", aggregate=meeting.id
        )
        meeting.held = held.ok
        return meeting

    async def corrections_flow(self, rng: random.Random) -> None:
        """A meeting held with two state delegations, then its record corrected: an
        intervention recorded and withdrawn, the host's headcount corrected and the other
        delegation withdrawn (``attendance_corrected`` events the participants and countries
        represented follow)."""
        country = rng.choice(COUNTRIES)
        guest = rng.choice([c for c in COUNTRIES if c != country])
        meeting = await self.held_meeting(
            country,
            rng.choice(YEARS),
            rng.randint(1, 12),
            delegations=[(country, rng.randint(1, 9)), (guest, 1)],
        )
        if meeting is None or not meeting.held:
            return
        path = f"/v1/meetings/{meeting.id}"
        recorded, intervention = await self.call(
            "intervention.record",
            "POST",
            f"{path}/interventions",
            json={"delegation": country, "kind": "statement", "text": f"Said at {meeting.id}."},
            aggregate=meeting.id,
        )
        if recorded.ok:
            await self.call(
                "intervention.withdraw",
                "DELETE",
                f"/v1/interventions/{intervention['id']}?reason=Recorded+by+mistake.",
                aggregate=meeting.id,
                if_match='"1"',
            )
        headcount = rng.randint(10, 20)
        await self.correct_attendance(
            meeting,
            "delegation.correct",
            "PATCH",
            f"{path}/delegations/{country}",
            json={"headcount": headcount},
            attendance=(headcount + 1, 2),
        )
        await self.correct_attendance(
            meeting,
            "delegation.withdraw",
            "DELETE",
            f"{path}/delegations/{guest}?reason=Did+not+attend.",
            attendance=(meeting.participants - 1, meeting.countries - 1),
        )

    async def correct_attendance(
        self,
        meeting: Meeting,
        kind: str,
        method: str,
        path: str,
        *,
        attendance: tuple[int, int],
        json: Any = None,
    ) -> None:
        """One correction of a held meeting's delegation list, made on its current ETag."""
        current = None
        with contextlib.suppress(httpx.HTTPError):
            current = await self.client.get(path.split("?")[0])
        if current is None or not current.is_success:
            return  # not read: no correction attempted
        request_id = self.next_request_id()
        self.ledger.attempted_attendance[request_id] = (meeting.id, *attendance)
        write, _ = await self.call(
            kind,
            method,
            path,
            json=json,
            aggregate=meeting.id,
            request_id=request_id,
            if_match=current.headers["ETag"],
        )
        if write.ok:
            meeting.participants, meeting.countries = attendance

    async def hosting_flow(self, rng: random.Random, plan_id: str) -> None:
        """Propose an activity, offer to host it, accept: ``proposed``, ``offered``, ``hosted``."""
        await self.hosted_activity(
            plan_id,
            rng.choice(COUNTRIES),
            rng.randint(2020, 2024),
            rng.randint(1, 4),
            goal=rng.randint(1, 6),
            tag=f"{rng.getrandbits(48):x}",
        )

    async def hosted_activity(
        self, plan_id: str, country: str, year: int, quarter: int, *, goal: int, tag: str
    ) -> Activity | None:
        created, body = await self.call(
            "activity.create",
            "POST",
            f"/v1/plans/{plan_id}/activities",
            json={
                "title": f"Chaos activity {self.scenario} {tag}",
                "goal": goal,
                "kind": "meeting",
                "year": year,
                "quarter": quarter,
            },
        )
        if not created.ok:
            return None
        activity = Activity(str(body["id"]), country, year, quarter, self.scenario)
        created.aggregate = activity.id
        self.ledger.activities[activity.id] = activity
        offered, offer = await self.call(
            "offer.create",
            "POST",
            f"/v1/activities/{activity.id}/hosting-offers",
            json={"country": country},
            aggregate=activity.id,
        )
        if not offered.ok:
            return activity
        activity.offer_id = str(offer["id"])
        activity.offered = True
        accepted, _ = await self.call(
            "offer.accept",
            "POST",
            f"/v1/hosting-offers/{activity.offer_id}/accept",
            aggregate=activity.id,
        )
        activity.hosted = accepted.ok
        return activity

    async def import_flow(self, rng: random.Random) -> None:
        """Import a batch of fresh result rows: ``results.imported`` and ``rollup.updated``."""
        request_id = self.next_request_id()
        rows = [
            ResultRow(
                external_id=f"{request_id}-{index}",
                project=rng.choice(PROJECTS),
                indicator=rng.choice(list(REPORTED)),
                year=rng.choice(YEARS),
                quarter=rng.randint(1, 4),
                country=rng.choice(COUNTRIES),
                value=rng.randint(1, 100),
            )
            for index in range(ROWS_PER_IMPORT)
        ]
        self.ledger.attempted_rows[request_id] = rows
        write, body = await self.call(
            "results.import",
            "POST",
            "/v1/results/import",
            json={"organisation": ORGANISATION, "results": [r.payload() for r in rows]},
            request_id=request_id,
        )
        if write.ok:
            write.aggregate = str(body["import_id"])
            if body["created"] != len(rows):
                raise ChaosError(f"import {request_id} rejected rows: {body['errors'][:3]}")
            for row in rows:
                self.ledger.results[row.external_id] = row


def plan_payload(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "period_start": 2020,
        "period_end": 2024,
        "goals": [{"number": n, "title": t} for n, t in enumerate(GOAL_TITLES, 1)],
    }


def meeting_payload(title: str, country: str, year: int, month: int) -> dict[str, Any]:
    return {
        "title": title,
        "kind": "thematic_meeting",
        "starts_on": f"{year}-{month:02d}-10",
        "ends_on": f"{year}-{month:02d}-11",
        "city": "Chaos city",
        "country": country,
    }


@dataclass(frozen=True)
class Mix:
    """Shares of the flows in the stream (the rest: imports)."""

    meetings: float = 0.5
    hosting: float = 0.3
    corrections: float = 0.1


class Stream:
    """``workers`` concurrent writers running the flows until stopped (or ``max_s`` passed)."""

    def __init__(
        self,
        writer: Writer,
        setup: Setup,
        *,
        workers: int,
        seed: int,
        mix: Mix = Mix(),
        max_s: float = 600,
    ) -> None:
        self.writer = writer
        self.setup = setup
        self.workers = workers
        self.seed = seed
        self.mix = mix
        self.max_s = max_s
        self._stopping = asyncio.Event()
        self._going = asyncio.Event()
        self._going.set()
        self._tasks: list[asyncio.Task[None]] = []
        self.started = 0.0
        self.errors: list[BaseException] = []

    async def _work(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        deadline = time.monotonic() + self.max_s
        while not self._stopping.is_set() and time.monotonic() < deadline:
            if not self._going.is_set():  # paused: look again shortly (stop and deadline hold)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._going.wait(), 0.5)
                continue
            draw = rng.random()
            try:
                if draw < self.mix.meetings:
                    await self.writer.meeting_flow(rng)
                elif draw < self.mix.meetings + self.mix.hosting:
                    await self.writer.hosting_flow(rng, self.setup.plan_id)
                elif draw < self.mix.meetings + self.mix.hosting + self.mix.corrections:
                    await self.writer.corrections_flow(rng)
                else:
                    await self.writer.import_flow(rng)
            except ChaosError as exc:  # a broken promise of the API: stop and report it
                self.errors.append(exc)
                return

    def start(self) -> Stream:
        self.started = time.monotonic()
        self._tasks = [
            asyncio.create_task(self._work(index), name=f"chaos-writer-{index}")
            for index in range(self.workers)
        ]
        return self

    async def stop(self, within_s: float = 2 * REQUEST_TIMEOUT_S + 10) -> float:
        """Let each writer finish its request in progress; return the seconds the stream ran."""
        self._stopping.set()
        done, pending = await asyncio.wait(self._tasks, timeout=within_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                self.errors.append(error)
        if self.errors:
            raise ChaosError(f"the stream failed: {self.errors[0]!r}")
        return time.monotonic() - self.started

    def pause(self) -> None:
        """Writers finish the flow in progress, then wait for ``resume``."""
        self._going.clear()

    def resume(self) -> None:
        self._going.set()
