"""``make chaos``: the fault scenarios against the distributed mode on this machine (separate
processes, real PostgreSQL and Kafka), one stack for the whole run so that the final replay
rebuilds everything the other scenarios went through. Prints each scenario's account and writes
``var/chaos/report-<time>.json``; exits non-zero if a guarantee was broken.

    uv run python -m chaos [--quick] [--only broker,consumer,...] [--base-port 29000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaos.report import ScenarioResult
from chaos.scenarios import FULL, QUICK, SCENARIOS, Run, Sizes
from chaos.stack import REPO, Infrastructure, log, running_stack
from chaos.webhooks import receiving, subscribe
from chaos.workload import Ledger, Writer

# The acceptance: this many events sent under scenarios 1-4, none lost, none applied twice.
REQUIRED_EVENTS = 10_000
NUMBERS = {
    "broker": 1,
    "consumer": 2,
    "relay": 3,
    "replicas": 4,
    "replay": 5,
    "database": 6,
    "poison": 7,
}


async def run_scenarios(
    sizes: Sizes, only: list[str], base_port: int, out_dir: Path, keep: bool
) -> list[ScenarioResult]:
    infra = Infrastructure(out_dir / "infrastructure.log")
    await infra.ensure_up()
    results: list[ScenarioResult] = []
    receiver_port = base_port + 50
    async with (
        running_stack(out_dir / "stack", base_port, "run", keep=keep) as stack,
        receiving(receiver_port) as receiver,
    ):
        ledger = Ledger()
        writer = Writer(stack.url("gateway"), ledger)
        try:
            await subscribe(writer.client, receiver, receiver_port)
            run = Run(stack, infra, writer, ledger, await writer.setup(), sizes, receiver)
            for name in only:
                log(f"-- scenario {NUMBERS[name]}: {name}")
                started = time.monotonic()
                try:
                    result = await SCENARIOS[name](run)
                except Exception as exc:  # reported, and the next scenarios still run
                    traceback.print_exc()
                    result = ScenarioResult(NUMBERS[name], name, name)
                    result.duration_s = time.monotonic() - started
                    result.problems.append(f"the scenario could not complete: {exc!r}")
                    # Whatever it left behind: the broker, the database, the four processes up.
                    await infra.ensure_up()
                    await stack.start()
                result.print()
                results.append(result)
        finally:
            await writer.aclose()
            await infra.ensure_up()  # the stack's databases are dropped on the way out
    return results


def summary(results: list[ScenarioResult]) -> dict[str, Any]:
    under_1_4 = [r for r in results if r.number <= 4 and r.events is not None]
    sent = sum(r.events.sent for r in under_1_4 if r.events)
    deliveries = sum(r.events.deliveries for r in under_1_4 if r.events)
    return {
        "events sent under scenarios 1-4": sent,
        "deliveries due under scenarios 1-4": deliveries,
        "lost": sum(r.lost for r in results),
        "applied twice": sum(r.doubled for r in results),
        "scenarios passed": f"{sum(r.passed for r in results)}/{len(results)}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short streams (a smoke run)")
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios, in this order: {','.join(SCENARIOS)}",
    )
    parser.add_argument("--base-port", type=int, default=29000)
    parser.add_argument(
        "--keep", action="store_true", help="keep the databases and topics (to look into them)"
    )
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose among {list(SCENARIOS)}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = REPO / "var" / "chaos" / stamp
    started = time.monotonic()
    results = asyncio.run(
        run_scenarios(QUICK if args.quick else FULL, only, args.base_port, out_dir, args.keep)
    )
    totals = summary(results) | {"duration_s": round(time.monotonic() - started, 1)}
    complete = not args.quick and set(only) >= {"broker", "consumer", "relay", "replicas"}
    enough = totals["events sent under scenarios 1-4"] >= REQUIRED_EVENTS
    log("== summary")
    for result in sorted(results, key=lambda r: r.number):
        sent = result.events.sent if result.events else "-"
        log(
            f"   {result.number}. {result.name:9} {'PASS' if result.passed else 'FAIL'}  "
            f"{result.duration_s:6.1f}s  sent {sent!s:>6}  lost {result.lost}  "
            f"applied twice {result.doubled}"
        )
    for key, value in totals.items():
        log(f"   {key}: {value}")
    if complete and not enough:
        log(f"   FAIL: fewer than {REQUIRED_EVENTS} events under scenarios 1-4")
    report = {
        "when": stamp,
        "sizes": "quick" if args.quick else "full",
        "summary": totals,
        "scenarios": [r.as_json() for r in sorted(results, key=lambda r: r.number)],
    }
    path = REPO / "var" / "chaos" / f"report-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
    log(f"   report: {path}")
    ok = all(r.passed for r in results) and (enough or not complete)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
