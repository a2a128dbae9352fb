"""indicators-api on SQLite and the in-process bus, driven through its HTTP API (identities as
the gateway signs them) and by events published on the bus as the other services would.

The same tests run on PostgreSQL (COPY, advisory locks, JSONB) with a server URL in
``INDICATORS_TEST_POSTGRES``, e.g. ``postgresql://budapest:budapest@127.0.0.1:5432``: each test
then gets a throwaway database, dropped afterwards."""

from __future__ import annotations

import calendar
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bp_common.events.envelope import CloudEvent
from bp_common.events.memory_bus import InMemoryBus
from bp_common.security import Role
from bp_common.testing import deliver, drop_database, identity_headers, running, settle
from indicators_api.app import create_app
from indicators_api.settings import IndicatorsSettings

SECRETARIAT = identity_headers(Role.SECRETARIAT)
VIEWER = identity_headers(Role.VIEWER)

PROJECT = {
    "code": "IMM-SR",
    "title": "Improving Migration Management in the Silk Routes Region",
    "donor": "European Union",
    "budget": {"amount": 12000000, "currency": "EUR"},
    "implementing_organisations": ["ICMPD", "IOM"],
    "countries": ["AF", "PK", "IQ"],
    "goals": [1, 2, 5],
    "starts_on": "2019-01-01",
    "ends_on": "2023-12-31",
}


def indicator(code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "title": f"Indicator {code}",
        "level": "output",
        "goal": 1,
        "measure": "unit",
        "aggregation": "sum",
    } | overrides


class Api:
    """The service under test, with shortcuts (tests reach helpers through this fixture)."""

    PROJECT = PROJECT
    SECRETARIAT = SECRETARIAT
    VIEWER = VIEWER

    def __init__(self, client: httpx.AsyncClient, bus: InMemoryBus) -> None:
        self.client = client
        self.bus = bus

    @staticmethod
    def indicator_body(code: str, **overrides: Any) -> dict[str, Any]:
        return indicator(code, **overrides)

    async def project(self, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/projects", json=PROJECT | overrides, headers=SECRETARIAT
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def indicator(self, code: str, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/indicators", json=indicator(code, **overrides), headers=SECRETARIAT
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def import_rows(
        self,
        rows: list[Any],
        *,
        organisation: str = "IOM",
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/results/import",
            json={"organisation": organisation, "results": rows},
            params=params,
            headers=headers or SECRETARIAT,
        )

    async def results(self, **filters: Any) -> list[dict[str, Any]]:
        """Every stored result, page by page."""
        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = filters | {"limit": 500} | ({"cursor": cursor} if cursor else {})
            page = await self.client.get("/v1/results", params=params, headers=VIEWER)
            assert page.status_code == 200, page.text
            found += page.json()["items"]
            cursor = page.json().get("next_cursor")
            if not cursor:
                return found

    async def rollups(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/rollups", params=params, headers=VIEWER)
        assert response.status_code == 200, response.text
        return list(response.json())

    async def publish(self, *events: CloudEvent) -> None:
        await deliver(self.bus, *events)

    async def settle(self) -> list[CloudEvent]:
        """Let the outbox relay publish what was committed; this service's events so far."""
        await settle(self.client._transport.app, self.bus)  # type: ignore[attr-defined]
        return list(self.bus.log["indicators.events"])


POSTGRES = os.environ.get("INDICATORS_TEST_POSTGRES")


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    if not POSTGRES:
        yield f"sqlite+aiosqlite:///{tmp_path}/indicators.db"
        return
    admin = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=10)
    name = f"t_indicators_unit_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        await drop_database(admin, name)
        await admin.close()


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    bus = InMemoryBus()
    settings = IndicatorsSettings(database_url=database_url, outbox_poll_interval_s=0.05)
    app = create_app(settings, bus=bus, migrate=True)
    async with running(app) as client:
        await bus.start()
        yield Api(client, bus)
        await bus.stop()


# -- an independent statement of the rollup rules, over stored rows -------------------------


def period_order(period: str) -> tuple[date, int]:
    """Periods in time order: by end date, then month < quarter < year."""
    year = int(period[:4])
    if len(period) == 4:
        return date(year, 12, 31), 3
    month, rank = (3 * int(period[6]), 2) if period[5] == "Q" else (int(period[5:]), 1)
    return date(year, month, calendar.monthrange(year, month)[1]), rank


def rule_value(indicator: dict[str, Any], rows: list[dict[str, Any]]) -> float:
    if indicator["measure"] == "qualitative":
        return len(rows)
    if indicator["cumulative"]:
        # Running totals: each series counts with (the sum of) its latest period's values.
        series: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            series[(row["country"], row["organisation"], row["project"])].append(row)
        points = []
        for members in series.values():
            last = max(period_order(r["period"]) for r in members)
            at_last = [r["value"] for r in members if period_order(r["period"]) == last]
            points.append((last, sum(at_last), len(at_last)))
    else:
        points = [(period_order(r["period"]), r["value"], 1) for r in rows]
    rule = indicator["aggregation"]
    if rule == "sum":
        return sum(value for _, value, _ in points)
    if rule == "mean":
        return sum(value for _, value, _ in points) / sum(count for *_, count in points)
    if rule == "max":
        return max(value for _, value, _ in points)
    last = max(order for order, _, _ in points)
    return sum(value for order, value, _ in points if order == last)


def expected_rollups(
    indicators: dict[str, dict[str, Any]], rows: list[dict[str, Any]], by: list[str]
) -> dict[tuple[Any, ...], float]:
    """``rows``: results as listed by the API, and event facts shaped alike (organisation and
    project None), each with its ``indicator``."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        indicator = indicators[row["indicator"]]
        dims = {"goal": indicator["goal"]} | row
        groups[(row["indicator"], *(dims[d] for d in by))].append(row)
    return {key: rule_value(indicators[key[0]], members) for key, members in groups.items()}


def answered_rollups(answer: list[dict[str, Any]], by: list[str]) -> dict[tuple[Any, ...], float]:
    keys = [(row["indicator"], *(row[d] for d in by)) for row in answer]
    assert len(set(keys)) == len(keys), "one row per group"
    return {key: row["value"] for key, row in zip(keys, answer, strict=True)}


# -- a results framework to report against ---------------------------------------------------

GLO_ACT = PROJECT | {
    "code": "GLO.ACT",
    "title": "Global Action against Trafficking in Persons and Smuggling of Migrants",
    "implementing_organisations": ["UNODC"],
    "countries": ["AF", "IR"],
    "goals": [5],
    "starts_on": "2018-01-01",
    "ends_on": "2022-12-31",
}
INDICATORS = [
    indicator(
        "1.SUM",
        disaggregations=["sex", "age_band"],
        baseline={"year": 2019, "value": 100},
        targets=[{"year": 2020, "value": 20000}, {"year": 2021, "value": 40000}],
    ),
    indicator(
        "1.MEAN",
        measure="percentage",
        aggregation="mean",
        targets=[{"year": 2020, "value": 60}],
    ),
    indicator("1.QUAL", measure="qualitative", aggregation="latest"),
    indicator("2.MAX", goal=2, aggregation="max", targets=[{"year": 2021, "value": 400}]),
    indicator(
        "2.LATEST",
        goal=2,
        aggregation="latest",
        ascending=False,
        baseline={"year": 2019, "value": 500},
        targets=[{"year": 2021, "value": 100}],
    ),
    indicator("5.CUM", goal=5, cumulative=True, disaggregations=["sex"]),
    indicator("5.CUMMEAN", goal=5, measure="percentage", aggregation="mean", cumulative=True),
    indicator("5.CUMMAX", goal=5, aggregation="max", cumulative=True),
    indicator("3.OTHER", goal=3),
    indicator("EV.MEET", source="meetings_held"),
]
REPORTED = ["1.SUM", "1.MEAN", "1.QUAL", "2.MAX", "2.LATEST", "5.CUM", "5.CUMMEAN", "5.CUMMAX"]


async def seed_framework(api: Api) -> dict[str, dict[str, Any]]:
    await api.project()
    await api.project(**{k: v for k, v in GLO_ACT.items() if k != "budget"})
    return {body["code"]: await api.indicator(**body) for body in INDICATORS}
