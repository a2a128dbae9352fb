"""``make bench``: the distributed mode on this machine, each figure beside its baseline measured
in the same run. Prints a table and writes ``var/bench/report-<time>.json``.

    uv run python -m bench [--quick] [--only pdf]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from bench import baselines, notifications, scenarios, tracing
from bench.stack import PORT_BASE, REPO, infrastructure_peaks, peak_rss_mib, running_stack

console = Console()


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    return {
        "commit": commit,
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


async def run(quick: bool) -> dict[str, Any]:
    sizes: dict[str, Any] = {
        "large": 100_000 if quick else 1_000_000,
        "meetings": (10, 1_000 if quick else 10_000),
        "activities": (10, 200 if quick else 2_000),
        "offers": 100 if quick else 500,
        "batches": 3,
        "rows": 10_000,
        # Stream fan-out: clients connected, events in the burst.
        "stream": (20, 100) if quick else (200, 1_000),
    }
    report: dict[str, Any] = {"machine": machine(), "sizes": sizes}
    run_dir = REPO / "var" / "bench" / f"stack-{PORT_BASE}"
    async with notifications.receiving_stack(run_dir, PORT_BASE) as stack:
        async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=300) as client:
            console.log("results framework and a partner key")
            await scenarios.setup_results_framework(client)
            key = await scenarios.partner_key(client, "IOM")
            console.log("rollups with 10,000 results")
            stored, _ = await scenarios.fill_results(client, key, 0, 10_000)
            rollups_small = await scenarios.rollup_latency(client)
            plan_id = await scenarios.bench_plan(client)
            small = (sizes["meetings"][0], sizes["activities"][0])
            console.log(f"dashboard and calendar at {small[0]} meetings, {small[1]} activities")
            await scenarios.grow_meetings_and_activities(
                client, plan_id, (0, small[0]), (0, small[1])
            )
            dashboard_small = await scenarios.dashboard_latency(client)
            console.log("import throughput")
            imports = await scenarios.timed_imports(
                client, key, sizes["batches"], sizes["rows"], first_seed=1
            )
            stored += sizes["batches"] * sizes["rows"]
            console.log(f"filling to {sizes['large']:,} results")
            stored, fill_rate = await scenarios.fill_results(client, key, stored, sizes["large"])
            imports["sustained_rows_per_s_to_large"] = round(fill_rate)
            rollups_large = await scenarios.rollup_latency(client)
            large = (sizes["meetings"][1], sizes["activities"][1])
            console.log(f"growing to {large[0]:,} meetings, {large[1]:,} activities")
            await scenarios.grow_meetings_and_activities(
                client, plan_id, (small[0], large[0]), (small[1], large[1])
            )
            dashboard_large = await scenarios.dashboard_latency(client)
            console.log("a meeting's summary as PDF (100 delegations, 300 interventions)")
            report_pdf = await scenarios.report_latency(client)
        console.log("baseline: COPY into a bare table")
        copy_rate = await baselines.copy_rows_per_second(
            stack.databases["indicators"], scenarios.bare_records(sizes["rows"])
        )
        console.log("event propagation")
        propagation = await scenarios.propagation_latency(stack, sizes["offers"])
        console.log("baseline: Kafka round trips")
        kafka = await baselines.kafka_round_trips(sizes["offers"])
        console.log("notifications: webhook after commit, stream fan-out")
        webhooks_and_stream = await notifications.notifications_figures(
            stack,
            deliveries=sizes["offers"],
            clients=sizes["stream"][0],
            events=sizes["stream"][1],
            receiver_port=PORT_BASE + 60,
        )
        console.log("gateway overhead")
        gateway = await scenarios.gateway_overhead(stack)
        memory = {
            service: round(peak_rss_mib(procs), 1) for service, procs in stack.processes().items()
        }
        memory |= infrastructure_peaks()
    console.log("cost of tracing: off, sampled 10 %, sampled 100 %")
    report["tracing"] = await tracing.tracing_cost(
        REPO / "var" / "bench" / f"tracing-{PORT_BASE}", PORT_BASE, rows=sizes["rows"]
    )
    report["import"] = imports | {"baseline_copy_rows_per_s": round(copy_rate)}
    report["propagation"] = {"calendar_after_accept": propagation, "kafka_round_trip": kafka}
    report["gateway"] = gateway
    report["notifications"] = webhooks_and_stream
    report["rollups"] = {"10000_results": rollups_small, f"{sizes['large']}_results": rollups_large}
    report["dashboard"] = {"small": dashboard_small, "large": dashboard_large}
    report["report_pdf"] = report_pdf
    report["peak_rss_mib"] = memory
    report["ratios"] = {
        "import: copy rows/s / API rows/s": round(copy_rate / imports["median_rows_per_s"], 1),
        **{
            f"propagation ({how}): calendar {q} / kafka round trip {q}": round(
                propagation[how][f"{q}_ms"] / kafka[f"{q}_ms"], 1
            )
            for how in ("recorded", "polled")
            for q in ("p50", "p99")
        },
        "gateway: direct rps / gateway rps": round(
            gateway["direct"]["rps"] / gateway["gateway"]["rps"], 2
        ),
        f"rollups: p50 at {sizes['large']:,} / p50 at 10,000": round(
            rollups_large["p50_ms"] / rollups_small["p50_ms"], 2
        ),
        **{
            f"{read}: p50 large / p50 small": round(
                dashboard_large[read]["p50_ms"] / dashboard_small[read]["p50_ms"], 2
            )
            for read in dashboard_small
        },
        "webhook received after commit p50 / kafka round trip p50": round(
            webhooks_and_stream["webhook_after_commit"]["p50_ms"] / kafka["p50_ms"], 1
        ),
    }
    return report


async def run_report_pdf(quick: bool) -> dict[str, Any]:
    """The meeting summary's row alone, at the full run's size: the calendar grown as the full
    run grows it (its coming year is most of the document), then the PDF of the meeting of 100
    delegations and 300 interventions."""
    meetings, activities = (1_000, 200) if quick else (10_000, 2_000)
    report: dict[str, Any] = {
        "machine": machine(),
        "sizes": {"meetings": meetings, "activities": activities},
    }
    run_dir = REPO / "var" / "bench" / f"stack-{PORT_BASE}"
    async with (
        running_stack(run_dir) as stack,
        httpx.AsyncClient(base_url=stack.url("gateway"), timeout=300) as client,
    ):
        plan_id = await scenarios.bench_plan(client)
        console.log(f"growing to {meetings:,} meetings, {activities:,} activities")
        await scenarios.grow_meetings_and_activities(
            client, plan_id, (0, meetings), (0, activities)
        )
        console.log("a meeting's summary as PDF (100 delegations, 300 interventions)")
        report["report_pdf"] = await scenarios.report_latency(client)
    return report


def _percentiles(figures: dict[str, float]) -> str:
    return f"{figures['p50_ms']}/{figures['p95_ms']}/{figures['p99_ms']}"


def print_report(report: dict[str, Any]) -> None:
    table = Table(
        title=f"benchmarks at {report['machine']['commit']} ({report['machine']['cpus']} cores)"
    )
    table.add_column("measure")
    table.add_column("figure", justify="right")
    table.add_column("baseline", justify="right")
    table.add_column("ratio", justify="right")
    imp, prop, gw, roll = (
        report["import"],
        report["propagation"],
        report["gateway"],
        report["rollups"],
    )
    ratios = report["ratios"]
    large = next(k for k in roll if k != "10000_results")
    table.add_row(
        "import rows/s (10k-row requests)",
        f"{imp['median_rows_per_s']:,}",
        f"{imp['baseline_copy_rows_per_s']:,} (COPY)",
        f"{ratios['import: copy rows/s / API rows/s']}x",
    )
    for how in ("recorded", "polled"):
        table.add_row(
            f"calendar after accept, {how}, p50/p95/p99 ms",
            _percentiles(prop["calendar_after_accept"][how]),
            _percentiles(prop["kafka_round_trip"]) + " (Kafka)",
            "{}x / {}x".format(
                *(
                    ratios[f"propagation ({how}): calendar {q} / kafka round trip {q}"]
                    for q in ("p50", "p99")
                )
            ),
        )
    webhook, fanout = (
        report["notifications"]["webhook_after_commit"],
        report["notifications"]["stream_fanout"],
    )
    table.add_row(
        "webhook received after commit p50/p95/p99 ms",
        _percentiles(webhook),
        _percentiles(prop["kafka_round_trip"]) + " (Kafka)",
        f"{ratios['webhook received after commit p50 / kafka round trip p50']}x",
    )
    table.add_row(
        f"stream: {fanout['clients']} clients x {fanout['events']} events, p50/p95/p99 ms",
        _percentiles(fanout),
        f"{fanout['clients_with_every_event']}/{fanout['clients']} clients got every event, "
        f"{fanout['messages_doubled']} doubled; notifications-api "
        f"{fanout['notifications_rss_mib_before']} -> {fanout['notifications_peak_rss_mib']} MiB",
        "",
    )
    table.add_row(
        "read rps via gateway (p50/p99 ms)",
        f"{gw['gateway']['rps']} ({gw['gateway']['p50_ms']}/{gw['gateway']['p99_ms']})",
        f"{gw['direct']['rps']} ({gw['direct']['p50_ms']}/{gw['direct']['p99_ms']}) direct",
        f"{ratios['gateway: direct rps / gateway rps']}x",
    )
    sizes = report["sizes"]
    rollup_ratio = ratios[f"rollups: p50 at {sizes['large']:,} / p50 at 10,000"]
    table.add_row(
        "GET /v1/rollups p50 ms",
        f"{roll[large]['p50_ms']} at {large.split('_')[0]}",
        f"{roll['10000_results']['p50_ms']} at 10000",
        f"{rollup_ratio}x",
    )
    for read in report["dashboard"]["small"]:
        table.add_row(
            f"GET {read} p50 ms",
            f"{report['dashboard']['large'][read]['p50_ms']} at {sizes['meetings'][1]:,} "
            f"meetings, {sizes['activities'][1]:,} activities, {sizes['large']:,} results",
            f"{report['dashboard']['small'][read]['p50_ms']} at {sizes['meetings'][0]} meetings, "
            f"{sizes['activities'][0]} activities, 10,000 results",
            f"{ratios[f'{read}: p50 large / p50 small']}x",
        )
    pdf = report["report_pdf"]
    table.add_row(
        "meeting summary PDF p50/p95/p99 ms (100 delegations, 300 interventions)",
        _percentiles(pdf),
        f"{pdf['pdf_bytes']:,} bytes",
        "",
    )
    console.print(table)
    traced = Table(title="cost of tracing (OTLP export to a local sink)")
    for column in ("tracing", "gateway rps (p50/p99 ms)", "vs off", "import rows/s", "vs off"):
        traced.add_column(column, justify="left" if column == "tracing" else "right")
    for mode, figures in report["tracing"].items():
        traced.add_row(
            mode,
            f"{figures['gateway_rps']} ({figures['gateway_p50_ms']}/{figures['gateway_p99_ms']})",
            f"{figures['gateway_rps_vs_off']}x",
            f"{figures['import_rows_per_s']:,}",
            f"{figures['import_vs_off']}x",
        )
    console.print(traced)
    memory = Table(title="peak resident memory (MiB)")
    memory.add_column("process")
    memory.add_column("MiB", justify="right")
    for name, mib in report["peak_rss_mib"].items():
        memory.add_row(name, str(mib))
    console.print(memory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", choices=["pdf"], help="one row alone: the meeting summary PDF")
    args = parser.parse_args()
    started = time.monotonic()
    if args.only == "pdf":
        report = asyncio.run(run_report_pdf(args.quick))
        pdf = report["report_pdf"]
        console.print(
            f"meeting summary PDF p50/p95/p99 ms: {_percentiles(pdf)} ({pdf['pdf_bytes']:,} bytes)"
        )
        console.print_json(json.dumps(report))
        return
    report = asyncio.run(run(args.quick))
    report["duration_s"] = round(time.monotonic() - started, 1)
    out_dir = REPO / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"report-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2))
    print_report(report)
    console.print(f"report: {out} ({report['duration_s']} s)")


if __name__ == "__main__":
    main()
