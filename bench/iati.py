"""IATI import beside the JSON import of the same rows: a generated IATI 2.03 file (about 50 MB;
``--quick``: about 2 MB) pushed through the gateway, rows/s and the services' peak memory.

    uv run python -m bench.iati [--quick]     # alone: its own stack on BP_BENCH_PORT_BASE+40

The JSON rows are the IATI file's figures, pushed as the Secretariat for another organisation
(ICMPD) in the JSON import's largest requests, so both imports create every row."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import orjson
from rich.console import Console

from bench.scenarios import ADMIN, COUNTRIES, _ok, partner_key
from bench.stack import PORT_BASE, REPO, peak_rss_mib, running_stack

console = Console()
IOM_REF = "XM-DAC-47066"
PROJECTS = 40
SEXES = ["female", "male"]
AGE_BANDS = ["0-17", "18-24", "25-59", "60+"]
PERIODS = [f"{y}-Q{q}" for y in range(2019, 2025) for q in range(1, 5)]
QUARTER_DATES = {
    1: ("01-01", "03-31"),
    2: ("04-01", "06-30"),
    3: ("07-01", "09-30"),
    4: ("10-01", "12-31"),
}
JSON_MAX_ROWS = 20_000
PLATFORM_URI = "https://budapestprocess.org/iati/indicators"


async def setup(client: httpx.AsyncClient) -> None:
    for number in range(PROJECTS):
        project = {
            "code": f"BENCH-IATI-{number}",
            "title": f"Benchmark project {number}",
            "implementing_organisations": ["IOM", "ICMPD"],
            "countries": COUNTRIES,
            "goals": [1, 2, 3, 4, 5, 6],
            "starts_on": "2019-01-01",
            "ends_on": "2024-12-31",
        }
        _ok(await client.post("/v1/projects", json=project, headers=ADMIN))
    for goal in range(1, 7):
        indicator = {
            "code": f"BENCH-IATI-IND-{goal}",
            "title": f"People reached under goal {goal}",
            "level": "output",
            "goal": goal,
            "measure": "unit",
            "aggregation": "sum",
            "disaggregations": ["sex", "age_band"],
        }
        _ok(await client.post("/v1/indicators", json=indicator, headers=ADMIN))


def figures(project: int) -> Iterator[dict[str, Any]]:
    """One project's rows: every indicator, quarter, country, sex and age band."""
    for goal, period, country, sex, age in itertools.product(
        range(1, 7), PERIODS, COUNTRIES, SEXES, AGE_BANDS
    ):
        yield {
            "project": f"BENCH-IATI-{project}",
            "indicator": f"BENCH-IATI-IND-{goal}",
            "period": period,
            "country": country,
            "disaggregation": {"sex": sex, "age_band": age},
            "value": (goal * 7 + len(country) + project) % 500,
        }


def _activity(project: int, rows: list[dict[str, Any]]) -> str:
    parts = [
        f"<iati-activity><iati-identifier>{IOM_REF}-BENCH-IATI-{project}</iati-identifier>"
        f'<reporting-org ref="{IOM_REF}" type="40"><narrative>IOM</narrative></reporting-org>'
        f"<title><narrative>Benchmark project {project}</narrative></title>"
        "<description><narrative>Benchmark</narrative></description>"
        '<participating-org role="4" ref="XM-DAC-47066"/><activity-status code="2"/>'
        '<activity-date type="1" iso-date="2019-01-01"/>'
    ]
    for indicator, by_indicator in itertools.groupby(rows, key=lambda r: r["indicator"]):
        parts.append(
            '<result type="1"><title><narrative>Outputs</narrative></title>'
            f'<indicator measure="1" ascending="1"><title><narrative>{escape(indicator)}'
            f'</narrative></title><reference vocabulary="99" code="{indicator}" '
            f'indicator-uri="{PLATFORM_URI}"/>'
        )
        for period, by_period in itertools.groupby(by_indicator, key=lambda r: r["period"]):
            year, quarter = period.split("-Q")
            start, end = QUARTER_DATES[int(quarter)]
            parts.append(
                f'<period><period-start iso-date="{year}-{start}"/>'
                f'<period-end iso-date="{year}-{end}"/>'
            )
            for row in by_period:
                slices = row["disaggregation"]
                parts.append(
                    f'<actual value="{row["value"]}">'
                    f'<dimension name="country" value="{row["country"]}"/>'
                    f'<dimension name="sex" value="{slices["sex"]}"/>'
                    f'<dimension name="age_band" value="{slices["age_band"]}"/></actual>'
                )
            parts.append("</period>")
        parts.append("</indicator></result>")
    parts.append("</iati-activity>")
    return "".join(parts)


def write_iati_file(path: Path, target_bytes: int) -> list[dict[str, Any]]:
    """Activities until the file reaches ``target_bytes``; the rows it holds."""
    written: list[dict[str, Any]] = []
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03">')
        for project in range(PROJECTS):
            if handle.tell() >= target_bytes:
                break
            rows = list(figures(project))
            handle.write(_activity(project, rows))
            written += rows
        handle.write("</iati-activities>\n")
    return written


async def measure(client: httpx.AsyncClient, stack: Any, target_bytes: int) -> dict[str, Any]:
    await setup(client)
    key = await partner_key(client, "IOM")
    with tempfile.TemporaryDirectory() as scratch:
        document = Path(scratch) / "activities.xml"
        rows = write_iati_file(document, target_bytes)
        size = document.stat().st_size
        bodies = [
            orjson.dumps(
                {
                    "organisation": "ICMPD",
                    "results": [
                        row | {"external_id": f"json-{start + i}"}
                        for i, row in enumerate(rows[start : start + JSON_MAX_ROWS])
                    ],
                }
            )
            for start in range(0, len(rows), JSON_MAX_ROWS)
        ]
        # JSON first: the services' peak (VmHWM) only grows, so the IATI peak is read after.
        started = time.perf_counter()
        for body in bodies:
            report = _ok(
                await client.post(
                    "/v1/results/import",
                    content=body,
                    headers=ADMIN | {"content-type": "application/json"},
                    timeout=600,
                )
            )
            if report["rejected"]:
                raise RuntimeError(f"JSON import rejected rows: {report['errors'][:3]}")
        json_s = time.perf_counter() - started
        json_peak = {s: round(peak_rss_mib(p), 1) for s, p in stack.processes().items()}

        started = time.perf_counter()
        with document.open("rb") as handle:

            async def chunks() -> AsyncIterator[bytes]:
                while chunk := handle.read(1 << 20):
                    yield chunk

            report = _ok(
                await client.post(
                    "/v1/iati/import",
                    content=chunks(),
                    headers={"Authorization": f"Bearer {key}", "content-type": "application/xml"},
                    timeout=1800,
                )
            )
        iati_s = time.perf_counter() - started
        if report["created"] != len(rows):
            raise RuntimeError(
                f"IATI import: {report['created']} of {len(rows)} created, {report['errors'][:3]}"
            )
        iati_peak = {s: round(peak_rss_mib(p), 1) for s, p in stack.processes().items()}
    return {
        "iati_file_mb": round(size / 2**20, 1),
        "rows": len(rows),
        "iati_rows_per_s": round(len(rows) / iati_s),
        "json_rows_per_s": round(len(rows) / json_s),
        "json_requests": len(bodies),
        "peak_rss_mib_after_json": json_peak,
        "peak_rss_mib_after_iati": iati_peak,
    }


async def run(quick: bool) -> dict[str, Any]:
    target = (2 if quick else 50) * 2**20
    run_dir = REPO / "var" / "bench" / f"stack-iati-{PORT_BASE + 40}"
    # The gateway's whole-body cap must admit the file (until it streams with per-route limits).
    async with (
        running_stack(
            run_dir, port_base=PORT_BASE + 40, GATEWAY_MAX_BODY_BYTES=str(200 * 2**20)
        ) as stack,
        httpx.AsyncClient(base_url=stack.url("gateway"), timeout=600) as client,
    ):
        return await measure(client, stack, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 2 MB file, for a smoke run")
    args = parser.parse_args()
    report = asyncio.run(run(args.quick))
    console.print_json(json.dumps(report))


if __name__ == "__main__":
    main()
