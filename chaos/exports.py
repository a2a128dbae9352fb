"""The read models, exported through the services' own API as canonical JSON (sorted keys, items
in a stable order), so a live instance and a replayed one can be compared byte for byte."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from chaos.stack import ChaosError, signed_identity

EVENT_METRICS = ("meetings_held", "participants", "countries_represented", "activities_hosted")
PAGE = 500
MAX_PAGES = 1000  # 500,000 calendar entries: far beyond any run; a bound against a cursor loop
# Fields that legitimately differ between two instances that applied the same events: the
# surrogate key a framework snapshot gets when it is inserted (a fresh uuid4). Everything else,
# including the calendar's `changed_at` and `sequence` (the event's time and the source's
# revision) and a snapshot's `endorsed_at` (the event's time), must be identical.
EXCLUDED = {"framework_snapshots": ("id",)}


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class Export:
    name: str
    items: list[dict[str, Any]]

    @property
    def body(self) -> bytes:
        return canonical(self.items)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body).hexdigest()[:16]


async def _get(client: httpx.AsyncClient, path: str, params: dict[str, Any]) -> Any:
    response = await client.get(path, params=params, headers=signed_identity())
    if response.status_code != 200:
        raise ChaosError(f"GET {client.base_url}{path}: {response.status_code} {response.text}")
    return response.json()


async def _pages(
    client: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await _get(
            client, path, params | {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        )
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items
    raise ChaosError(f"{path}: more than {MAX_PAGES} pages")


def _without(items: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k not in fields} for item in items]


async def calendar(meetings_url: str) -> Export:
    async with httpx.AsyncClient(base_url=meetings_url, timeout=60) as client:
        items = await _pages(client, "/v1/calendar", {})
    return Export("calendar", sorted(items, key=lambda e: str(e["id"])))


async def event_metrics(indicators_url: str) -> Export:
    items: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=indicators_url, timeout=60) as client:
        for metric in EVENT_METRICS:
            total = await _get(client, f"/v1/event-metrics/{metric}", {})
            items += total["breakdown"]
    key = ("metric", "country", "year")
    return Export("event_metrics", sorted(items, key=lambda r: tuple(str(r[k]) for k in key)))


async def rollups(indicators_url: str, codes: list[str]) -> Export:
    """The rollups of the given indicators, by goal, country and year."""
    items: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=indicators_url, timeout=60) as client:
        for code in sorted(codes):
            items += await _get(
                client, "/v1/rollups", {"indicator": code, "by": "goal,country,year"}
            )
    key = ("indicator", "goal", "country", "year")
    return Export("rollups", sorted(items, key=lambda r: tuple(str(r[k]) for k in key)))


async def framework_snapshots(indicators_url: str) -> Export:
    async with httpx.AsyncClient(base_url=indicators_url, timeout=60) as client:
        items = await _pages(client, "/v1/framework/snapshots", {})
    items = _without(items, EXCLUDED["framework_snapshots"])
    return Export(
        "framework_snapshots",
        sorted(items, key=lambda s: (str(s["plan_id"]), int(s["version"]))),
    )


async def dashboard(indicators_url: str) -> Export:
    """The dashboard's summary, one item per part. Not the indicators' standing: it is computed
    from the rollups of reported results too, and a replica rebuilding from the topics has no
    results (the service's own data, not a read model); `generated_at` is the time of the read."""
    async with httpx.AsyncClient(base_url=indicators_url, timeout=60) as client:
        summary = await _get(client, "/v1/dashboard/summary", {})
    results = summary["results"]
    return Export(
        "dashboard",
        [
            {"part": "as_of", "as_of": summary["as_of"]},
            {"part": "meetings", **summary["meetings"]},
            {"part": "plan", **(summary["plan"] or {})},
            {
                "part": "results",
                "results": results["results"],
                "organisations": results["organisations"],
            },
        ],
    )


async def read_models(
    meetings_url: str, indicators_url: str, event_fed_codes: list[str]
) -> dict[str, Export]:
    exports = [
        await calendar(meetings_url),
        await event_metrics(indicators_url),
        await rollups(indicators_url, event_fed_codes),
        await framework_snapshots(indicators_url),
        await dashboard(indicators_url),
    ]
    return {export.name: export for export in exports}


def first_difference(left: Export, right: Export) -> str:
    """Where two exports part, for the report."""
    if len(left.items) != len(right.items):
        return f"{len(left.items)} items against {len(right.items)}"
    for a, b in zip(left.items, right.items, strict=True):
        if canonical(a) != canonical(b):
            fields = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            differences = ", ".join(f"{f}={a.get(f)!r}/{b.get(f)!r}" for f in fields)
            return f"item {a.get('id', '')}: {differences}"
    return "identical"
