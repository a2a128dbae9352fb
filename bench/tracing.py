"""The cost of tracing: the same stack run three times, with tracing off, on sampling 10 % of
traces, and on at 100 %, measuring the gateway's read throughput and the import rate.

Traced runs export over OTLP/HTTP to a sink in this process, which accepts and counts what it
is sent: the cost measured is the platform's (spans made, batched, serialised and posted), not
a collector's."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import scenarios
from bench.stack import running_stack
from bp_common.observability.metrics import serving

PREFIXES = ("GATEWAY", "MEETINGS", "PLAN", "INDICATORS")
# None: tracing off (the default: nothing instrumented).
MODES: dict[str, float | None] = {"off": None, "sampled 10%": 0.1, "sampled 100%": 1.0}


class OtlpSink:
    """Accepts OTLP/HTTP trace exports and counts their bytes."""

    def __init__(self) -> None:
        self.exports = 0
        self.bytes = 0

    async def receive(self, request: Request) -> Response:
        self.bytes += len(await request.body())
        self.exports += 1
        return Response(b"", media_type="application/x-protobuf")


@contextlib.asynccontextmanager
async def otlp_sink(port: int) -> AsyncIterator[OtlpSink]:
    sink = OtlpSink()
    app = Starlette(routes=[Route("/v1/traces", sink.receive, methods=["POST"])])
    async with serving(app, "127.0.0.1", port):
        yield sink


def tracing_env(ratio: float | None, endpoint: str) -> dict[str, str]:
    if ratio is None:
        return {f"{prefix}_TRACING_EXPORTER": "none" for prefix in PREFIXES}
    env: dict[str, str] = {}
    for prefix in PREFIXES:
        env[f"{prefix}_TRACING_EXPORTER"] = "otlp"
        env[f"{prefix}_TRACING_OTLP_ENDPOINT"] = endpoint
        env[f"{prefix}_TRACING_SAMPLE_RATIO"] = str(ratio)
    return env


async def tracing_cost(
    run_dir: Path, port_base: int, *, batches: int = 3, rows: int = 10_000
) -> dict[str, Any]:
    """For each mode, a fresh stack: gateway reads/s (and p50/p99) and import rows/s."""
    sink_port = port_base + 50
    endpoint = f"http://127.0.0.1:{sink_port}/v1/traces"
    report: dict[str, Any] = {}
    async with otlp_sink(sink_port) as sink:
        for mode, ratio in MODES.items():
            exported_before = sink.bytes
            async with running_stack(
                run_dir / mode.replace(" ", "-").replace("%", ""),
                port_base=port_base,
                rate_limited=False,
                **tracing_env(ratio, endpoint),
            ) as stack:
                gateway = stack.url("gateway")
                async with httpx.AsyncClient(base_url=gateway, timeout=300) as client:
                    await scenarios.setup_results_framework(client)
                    key = await scenarios.partner_key(client, "IOM")
                    imports = await scenarios.timed_imports(
                        client, key, batches, rows, first_seed=1
                    )
                reads = await scenarios.gateway_overhead(stack)
            report[mode] = {
                "gateway_rps": reads["gateway"]["rps"],
                "gateway_p50_ms": reads["gateway"]["p50_ms"],
                "gateway_p99_ms": reads["gateway"]["p99_ms"],
                "import_rows_per_s": imports["median_rows_per_s"],
                "exported_kib": round((sink.bytes - exported_before) / 1024, 1),
            }
    off = report["off"]
    for mode in MODES:
        figures = report[mode]
        figures["gateway_rps_vs_off"] = round(figures["gateway_rps"] / off["gateway_rps"], 3)
        figures["import_vs_off"] = round(figures["import_rows_per_s"] / off["import_rows_per_s"], 3)
    return report
