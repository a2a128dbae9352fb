"""The compose topology end to end, through its published ports: the Istanbul story through the
gateway; Prometheus scraping every service (asked inside its container, which is not published);
a person's token from the Keycloak container accepted by the gateway; then the broker killed and
started again under writes. `deploy/compose.sh test` (`make test-compose`) runs this file against
the containers it started, one `-k` at a time; its name keeps it out of the unit and integration
suites, which have no containers to talk to."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bp_common.testing import eventually
from bpctl.demo import load_demo
from tests.story import Gateway, check_story

REPO = Path(__file__).resolve().parents[2]
FAULT_YEAR = 2031  # no story meeting is held then


def setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this file through deploy/compose.sh test")
    return value


@pytest.fixture
def admin_key() -> str:
    return setting("ADMIN_API_KEY")


@pytest.fixture
async def gateway(admin_key: str) -> AsyncIterator[Gateway]:
    async with httpx.AsyncClient(
        base_url=setting("BP_COMPOSE_URL"),
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=15,
    ) as client:
        yield Gateway(client, admin_key)


async def compose(*args: str) -> str:
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", str(REPO / "deploy" / "compose.sh"), "compose", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


async def test_the_istanbul_story_through_the_published_port(
    gateway: Gateway, admin_key: str
) -> None:
    """Partner keys, the calendar and the rollups fed by events, as in the distributed stack."""
    demo = await load_demo(gateway.client, admin_key, within_s=90)
    await check_story(gateway.client, admin_key, demo)


# What deploy/prometheus/compose.yml scrapes: each service's port and the gateway's metrics port.
SCRAPED = {"meetings-api", "plan-api", "indicators-api", "notifications-api", "gateway"}


async def promql(expression: str) -> list[dict[str, Any]]:
    """An instant query, asked with promtool inside the Prometheus container."""
    answer = await compose(
        "exec",
        "-T",
        "prometheus",
        "promtool",
        "query",
        "instant",
        "--format=json",
        "http://127.0.0.1:9090",
        expression,
    )
    result: list[dict[str, Any]] = json.loads(answer)
    return result


def label_values(series: list[dict[str, Any]], label: str) -> dict[str, str]:
    """``{label value: sample value}`` of each series."""
    found: dict[str, str] = {}
    for one in series:
        found[one["metric"][label]] = one["value"][1]
    return found


async def test_prometheus_scrapes_every_service_and_the_gateway_by_upstream_route() -> None:
    async def every_target_up() -> bool:
        return label_values(await promql("up"), "process") == dict.fromkeys(SCRAPED, "1")

    await eventually(every_target_up, within_s=60, every_s=1)
    lag = await promql("bp_consumer_lag_messages")
    assert {"meetings", "plan", "indicators", "notifications"} <= set(label_values(lag, "group"))
    # The story went through the gateway: its requests count under the services' templates.
    forwarded = await promql('bp_http_requests_total{process="gateway",service="gateway"}')
    routes = set(label_values(forwarded, "route"))
    assert "/v1/meetings/{meeting_id}/hold" in routes, routes
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", route) for route in routes), routes
    assert "/v1/{path:path}" not in routes


def password_token(username: str) -> str:
    """A person's access token from the realm the gateway trusts (the password grant: a
    test-only convenience of the bp-dashboard client; see deploy/README.md)."""
    answer = httpx.post(
        f"{setting('BP_COMPOSE_KEYCLOAK_URL')}/realms/budapest/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "bp-dashboard",
            "username": username,
            "password": f"{username}-password",
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def test_a_keycloak_token_is_accepted_by_the_gateway() -> None:
    """The container's issuer is the address the browser uses (the published port); the gateway
    reads its keys over the compose network and forwards the person's role."""
    users = ("secretariat", "viewer")
    tokens = {user: await asyncio.to_thread(password_token, user) for user in users}
    bearer = {user: {"Authorization": f"Bearer {token}"} for user, token in tokens.items()}
    meeting = {
        "title": "Signed-in meeting",
        "kind": "working_group_meeting",
        "starts_on": f"{FAULT_YEAR + 1}-05-04",
        "ends_on": f"{FAULT_YEAR + 1}-05-05",
        "city": "Budapest",
        "country": "HU",
    }
    async with httpx.AsyncClient(base_url=setting("BP_COMPOSE_URL"), timeout=15) as client:

        async def listed_as_viewer() -> bool:
            # 503 until the gateway has read the keys (asked again at most every 30 s).
            answer = await client.get("/v1/meetings", headers=bearer["viewer"])
            assert answer.status_code in (200, 503), answer.text
            return answer.status_code == 200

        await eventually(listed_as_viewer, within_s=90, every_s=2)
        created = await client.post("/v1/meetings", headers=bearer["secretariat"], json=meeting)
        assert created.status_code == 201, created.text
        refused = await client.post("/v1/meetings", headers=bearer["viewer"], json=meeting)
        assert refused.status_code == 403, refused.text  # read-only, as a viewer's key
        header, claims, signature = tokens["viewer"].split(".")
        tampered = ".".join((header, claims, signature[::-1]))
        forged = await client.get("/v1/meetings", headers={"Authorization": f"Bearer {tampered}"})
        assert forged.status_code == 401, forged.text


async def test_nothing_is_lost_or_doubled_when_kafka_is_killed_under_writes(
    gateway: Gateway,
) -> None:
    held = 0

    async def hold_one() -> None:
        nonlocal held
        created = await gateway.client.post(
            "/v1/meetings",
            json={
                "title": f"Fault meeting {held + 1}",
                "kind": "working_group_meeting",
                "starts_on": f"{FAULT_YEAR}-03-02",
                "ends_on": f"{FAULT_YEAR}-03-03",
                "city": "Budapest",
                "country": "HU",
            },
        )
        assert created.status_code == 201, created.text
        hold = await gateway.client.post(f"/v1/meetings/{created.json()['id']}/hold")
        assert hold.status_code == 200, hold.text  # acknowledged: it must be counted once
        held += 1

    async def counted() -> float:
        rollup = await gateway.rollup("BP-MEETINGS-HELD", "country,year")
        return rollup.get(("HU", FAULT_YEAR), 0)

    before = await counted()  # a run of this test before, on the same volumes

    async def all_counted() -> bool:
        return await counted() >= before + held

    async def kafka(field: str) -> str:
        return (await compose("ps", "--all", "--format", f"{{{{.{field}}}}}", "kafka")).strip()

    for _ in range(5):
        await hold_one()
    await eventually(all_counted, within_s=60, every_s=0.5)
    assert await counted() == before + held

    await compose("kill", "kafka")  # SIGKILL: no clean shutdown, no flush
    assert await kafka("State") == "exited"
    for _ in range(10):  # acknowledged while the broker is down: kept in the outboxes
        await hold_one()
    assert await kafka("State") == "exited"
    await compose("start", "kafka")
    while await kafka("Health") != "healthy":  # and while it starts again
        await hold_one()
    for _ in range(5):
        await hold_one()

    await eventually(all_counted, within_s=180, every_s=1)
    assert await counted() == before + held  # none doubled by the producers' or consumers' retries
