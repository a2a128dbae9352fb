"""A real Prometheus (deploy/prometheus.sh, started by deploy/with-services.sh) scrapes a
distributed stack; PromQL through its HTTP API answers the consumer lag and the outbox backlog
of each service. The alerting rules pass promtool, and fire (and stay quiet) as they should."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from bp_common.observability import metrics
from bp_common.testing import eventually
from tests.conftest import free_port

from .stack import REPO, hold_a_meeting_once_ready, stack_running

ADMIN_KEY = "bp_admin_prometheus-test-key"
PROMETHEUS = ["bash", str(REPO / "deploy" / "prometheus.sh")]
RULES = REPO / "deploy" / "prometheus" / "rules.yml"


def test_the_alerting_rules_pass_promtool() -> None:
    checked = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
    # Their unit tests: each alert fires on the series that should raise it, and only then.
    tested = subprocess.run(
        ["promtool", "test", "rules", "rules_test.yml"],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


async def test_the_exposition_passes_promtool_lint() -> None:
    """Names, units and help texts as Prometheus expects them (``_total``, ``_seconds``)."""
    metrics.IMPORT_ROWS.labels("indicators", "created").inc(0)
    metrics.CONSUMER_LAG.labels("plan", "meetings.events", "0").set(0)
    exposition = await metrics.render_metrics()
    linted = await asyncio.to_thread(
        subprocess.run, ["promtool", "check", "metrics"], input=exposition, capture_output=True
    )
    assert linted.returncode == 0, (linted.stdout + linted.stderr).decode()


def prometheus_output(command: str) -> str:
    done = subprocess.run([*PROMETHEUS, command], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"Prometheus is not running ({done.stderr.strip()}); run deploy/prometheus.sh")
    return done.stdout.strip()


@pytest.fixture
async def prometheus() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=prometheus_output("url"), timeout=10) as client:
        yield client


@pytest.fixture
async def scraped_stack(
    fresh_database: Callable[[str], Awaitable[str]], namespace: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A stack on free ports, added to Prometheus's targets under the label stack=<namespace>."""
    ports = {
        name: free_port()
        for name in (
            "GATEWAY_PORT",
            "GATEWAY_METRICS_PORT",
            "MEETINGS_PORT",
            "PLAN_PORT",
            "INDICATORS_PORT",
            "NOTIFICATIONS_PORT",
        )
    }
    stack = namespace.rstrip(".")
    targets = Path(prometheus_output("targets")) / f"{stack}.json"
    processes = {
        "MEETINGS_PORT": "meetings-api",
        "PLAN_PORT": "plan-api",
        "INDICATORS_PORT": "indicators-api",
        "NOTIFICATIONS_PORT": "notifications-api",
        "GATEWAY_METRICS_PORT": "gateway",
    }
    async with stack_running(ports, fresh_database, namespace, tmp_path, ADMIN_KEY):
        # Written whole then renamed: Prometheus never reads half a file.
        staged = targets.with_suffix(".tmp")
        staged.write_bytes(
            orjson.dumps(
                [
                    {
                        "targets": [f"127.0.0.1:{ports[port]}"],
                        "labels": {"stack": stack, "process": process},
                    }
                    for port, process in processes.items()
                ]
            )
        )
        staged.rename(targets)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{ports['GATEWAY_PORT']}",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=15,
            ) as gateway:
                yield gateway, stack
        finally:
            targets.unlink(missing_ok=True)


async def query(prometheus: httpx.AsyncClient, promql: str) -> list[dict[str, Any]]:
    response = await prometheus.get("/api/v1/query", params={"query": promql})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


async def test_prometheus_answers_the_lag_and_the_backlog_of_each_service(
    scraped_stack: tuple[httpx.AsyncClient, str], prometheus: httpx.AsyncClient
) -> None:
    gateway, stack = scraped_stack

    await hold_a_meeting_once_ready(gateway)

    # The meeting's events reach the consumers, and the scrapes after that show it.
    async def applied() -> bool:
        handled = await query(
            prometheus,
            f'sum by (group) (bp_event_handler_duration_seconds_count{{stack="{stack}"}})',
        )
        return "indicators" in {series["metric"]["group"] for series in handled}

    await eventually(applied, within_s=90, every_s=0.5)

    services = {"meetings", "plan", "indicators", "notifications"}

    def labelled(series: list[dict[str, Any]], label: str) -> set[str]:
        return {one["metric"][label] for one in series}

    # Each service's backlog, and the lag per topic and partition of each consumer group, once
    # a scrape of each process has answered since they started consuming.
    async def every_service_reported() -> bool:
        backlog = await query(prometheus, f'bp_outbox_pending_rows{{stack="{stack}"}}')
        lag = await query(prometheus, f'bp_consumer_lag_messages{{stack="{stack}"}}')
        return labelled(backlog, "service") == services and labelled(lag, "group") == services

    await eventually(every_service_reported, within_s=90, every_s=0.5)
    backlog = await query(prometheus, f'bp_outbox_pending_rows{{stack="{stack}"}}')
    assert all(float(series["value"][1]) >= 0 for series in backlog)
    age = await query(prometheus, f'bp_outbox_oldest_pending_age_seconds{{stack="{stack}"}}')
    assert labelled(age, "service") == services

    # Every partition once the consumer has fetched from each (a partition it has not fetched
    # has no high watermark yet), and the gateway's requests once a scrape followed them: each
    # process is scraped on its own schedule, so both are waited for, not assumed.
    async def lag_of_every_partition() -> bool:
        lag = await query(
            prometheus,
            f'bp_consumer_lag_messages{{stack="{stack}",group="indicators",'
            'topic="meetings.events"}',
        )
        return sorted(labelled(lag, "partition")) == ["0", "1", "2"] and all(
            float(series["value"][1]) >= 0 for series in lag
        )

    await eventually(lag_of_every_partition, within_s=90, every_s=0.5)

    # The gateway's own metrics port is scraped too: what it forwarded counts under the template
    # the service matched, not under its catch-all route.
    async def gateway_routes() -> set[str]:
        requests = await query(
            prometheus,
            f'bp_http_requests_total{{stack="{stack}",process="gateway",service="gateway"}}',
        )
        return labelled(requests, "route")

    wanted = {"/v1/meetings", "/v1/meetings/{meeting_id}/hold", "/readyz"}

    async def forwarded_requests_scraped() -> bool:
        return await gateway_routes() >= wanted

    await eventually(forwarded_requests_scraped, within_s=90, every_s=0.5)
    assert "/v1/{path:path}" not in await gateway_routes()
    processes = await query(prometheus, f'up{{stack="{stack}"}}')
    every_process = {"gateway", "indicators-api", "meetings-api", "plan-api", "notifications-api"}
    assert labelled(processes, "process") == every_process
