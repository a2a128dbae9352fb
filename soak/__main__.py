"""``make soak``: the distributed stack under a fixed mixed load for a set time.

    uv run python -m soak [--minutes 10] [--rate 40]

Demo data first, then ``rate`` requests per second through the gateway (reads of every list the
dashboard uses; one in ten a write: a meeting created and held, a hosting offer made and
accepted, a partner's result import), spread over several keys. Reports requests by status,
p50/p99 per endpoint and the resident memory of every process sampled each 10 s; writes
``var/soak/report-<time>.json``. Exits 1 on any 5xx, any request without an answer, any request
the load had to shed, or a platform process whose memory grew more than 10 % after warm-up."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.__main__ import machine
from bench.scenarios import setup_results_framework
from bench.stack import ADMIN_KEY, REPO, running_stack
from bpctl.demo import load_demo
from soak.load import REQUEST_TIMEOUT_S, Load, create_plan, issue_keys
from soak.memory import MemorySampler

console = Console()
PORT_BASE = int(os.environ.get("BP_SOAK_PORT_BASE", "29000"))


async def soak(minutes: float, rate: float, readers: int, writers: int) -> dict[str, Any]:
    run_dir = REPO / "var" / "soak" / f"stack-{PORT_BASE}"
    # The gateway's own per-key limits stay on (unlike the benchmarks): the load spreads over
    # enough keys to stay under them.
    async with (
        running_stack(run_dir, port_base=PORT_BASE, rate_limited=True) as stack,
        httpx.AsyncClient(
            base_url=stack.url("gateway"),
            timeout=REQUEST_TIMEOUT_S,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        ) as client,
    ):
        console.log("demo data, a results framework, the soak's keys and plan")
        await load_demo(client, ADMIN_KEY, within_s=60)
        await setup_results_framework(client)
        keys = await issue_keys(client, readers, writers)
        plan_id = await create_plan(client)
        load = Load(client, keys, plan_id, rate=rate)
        sampler = MemorySampler(stack)
        stop_sampling = asyncio.Event()
        sampling = asyncio.create_task(sampler.run(stop_sampling))
        console.log(f"{rate:g} requests/s for {minutes:g} min")
        started = time.monotonic()
        await load.run(minutes * 60)
        elapsed = time.monotonic() - started
        stop_sampling.set()
        await sampling
    tally = load.tally
    growth = sampler.growth()
    return {
        "machine": machine(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": minutes,
        "rate_per_s": rate,
        "achieved_per_s": round(sum(tally.by_status().values()) / elapsed, 1),
        "keys": {"readers": readers, "writers": writers},
        "by_status": tally.by_status(),
        "server_errors": tally.server_errors,
        "transport_errors": dict(tally.transport_errors),
        "shed": tally.shed,
        "endpoints": tally.percentiles(),
        "memory": growth,
        "memory_samples_mib": sampler.samples,
        "passed": tally.failures == 0 and not any(v["grew"] for v in growth.values()),
    }


def show(report: dict[str, Any]) -> None:
    endpoints = Table(title=f"{report['rate_per_s']:g} requests/s for {report['minutes']:g} min")
    for column in ("endpoint", "requests", "p50 ms", "p99 ms"):
        endpoints.add_column(column, justify="left" if column == "endpoint" else "right")
    for endpoint, figures in report["endpoints"].items():
        endpoints.add_row(
            endpoint, str(figures["requests"]), str(figures["p50_ms"]), str(figures["p99_ms"])
        )
    console.print(endpoints)
    console.print(
        f"by status {report['by_status']}; server errors {report['server_errors']}; "
        f"no answer {sum(report['transport_errors'].values())}; shed {report['shed']}; "
        f"achieved {report['achieved_per_s']}/s"
    )
    memory = Table(title="resident memory (MiB): start, after warm-up (end of first quarter), end")
    for column in ("process", "start", "warm", "end", "growth", "verdict"):
        memory.add_column(column, justify="left" if column == "process" else "right")
    for name, figures in report["memory"].items():
        verdict = "grew" if figures["grew"] else ("ok" if figures["judged"] else "not judged")
        memory.add_row(
            name,
            str(figures["start_mib"]),
            str(figures["after_warm_up_mib"]),
            str(figures["end_mib"]),
            f"{figures['growth']:+.1%}",
            verdict,
        )
    console.print(memory)
    console.print("[green]PASSED[/]" if report["passed"] else "[red]FAILED[/]")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 10)))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", 40)))
    parser.add_argument("--readers", type=int, default=4, help="viewer keys the reads rotate on")
    parser.add_argument("--writers", type=int, default=2, help="secretariat keys for the writes")
    args = parser.parse_args()
    if args.minutes <= 0 or args.rate <= 0:
        parser.error("--minutes and --rate must be positive")
    report = asyncio.run(soak(args.minutes, args.rate, args.readers, args.writers))
    show(report)
    out_dir = REPO / "var" / "soak"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"report-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2))
    console.log(f"report: {out}")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
