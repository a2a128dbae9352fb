"""Webhooks end to end: a real receiver on loopback verifies every delivery with the
``standardwebhooks`` library and applies each message once (dedupe on webhook-id)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from bp_common.testing import eventually
from notifications_api.base import messaging
from notifications_api.settings import NotificationsSettings
from notifications_api.webhooks.dispatcher import Dispatcher
from notifications_api.webhooks.models import Endpoint
from notifications_api.webhooks.service import Outcome, next_delay, signing_secrets

from .conftest import Api, Receiver, free_port, now, serve


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver, port: int) -> AsyncIterator[str]:
    async with serve(receiver.app(), port) as url:
        yield url


async def test_every_event_reaches_a_receiver_that_was_down_once(api: Api) -> None:
    receiver, port = Receiver(), free_port()
    endpoint = await api.endpoint(f"http://127.0.0.1:{port}/hook", ["meetings.meeting.*"])
    receiver.secrets = [endpoint["secret"]]
    events = [api.meeting_event(f"m-{i}") for i in range(12)]
    await api.publish(*events[:6])

    async def all_failed_twice() -> bool:
        deliveries = await api.deliveries(endpoint["id"])
        return len(deliveries) == 6 and all(len(d["attempts"]) >= 2 for d in deliveries)

    await eventually(all_failed_twice)  # the receiver is down: connection refused
    await api.publish(*events[6:])
    async with receiving(receiver, port):

        async def all_succeeded() -> bool:
            deliveries = await api.deliveries(endpoint["id"])
            return len(deliveries) == 12 and {d["status"] for d in deliveries} == {"succeeded"}

        await eventually(all_succeeded)
        deliveries = await api.deliveries(endpoint["id"])
    assert receiver.refused == 0
    # Once each, as the events were published: the structured CloudEvent.
    assert sorted(p["id"] for p in receiver.applied.values()) == sorted(e.id for e in events)
    sample = next(iter(receiver.applied.values()))
    assert sample["specversion"] == "1.0"
    assert sample["actor"] == "key-secretariat"
    first_failure = deliveries[0]["attempts"][0]
    assert first_failure["status_code"] is None
    assert first_failure["error"]
    success = deliveries[0]["attempts"][-1]
    assert success["status_code"] == 204
    assert len(receiver.headers) >= 12


async def test_replayed_events_are_neither_delivered_again_nor_renumbered(api: Api) -> None:
    receiver, port = Receiver(), free_port()
    async with receiving(receiver, port):
        endpoint = await api.endpoint(f"http://127.0.0.1:{port}/hook")
        receiver.secrets = [endpoint["secret"]]
        event = api.meeting_event("m-replay")
        await api.publish(event)
        await eventually(lambda: _succeeded(api, endpoint["id"], 1))
        history = await _history(api, "m-replay")
        # A replay: the consumer forgets its claims and reads the topic again.
        runtime = api.app.state.runtime
        async with runtime.database.transaction() as session:
            await session.execute(delete(messaging.inbox))
        await api.publish(event)
        assert await _history(api, "m-replay") == history
        assert len(await api.deliveries(endpoint["id"])) == 1
        await runtime.worker(Dispatcher).dispatch_due()
    assert receiver.received == 1


async def test_a_410_disables_the_endpoint(api: Api) -> None:
    receiver, port = Receiver(status=410), free_port()
    async with receiving(receiver, port):
        endpoint = await api.endpoint(f"http://127.0.0.1:{port}/hook")
        receiver.secrets = [endpoint["secret"]]
        await api.publish(api.meeting_event("m-gone"))

        async def disabled() -> bool:
            got = await api.client.get(f"/v1/webhooks/{endpoint['id']}", headers=api.SECRETARIAT)
            return got.json()["enabled"] is False

        await eventually(disabled)
        got = (
            await api.client.get(f"/v1/webhooks/{endpoint['id']}", headers=api.SECRETARIAT)
        ).json()
        assert got["disabled_reason"] == "gone"
        [delivery] = await api.deliveries(endpoint["id"])
        assert delivery["status"] == "failed"
        assert len(delivery["attempts"]) == 1
        assert len(delivery["attempts"][0]["response"]) == 1024  # the first KiB kept
        await api.publish(api.meeting_event("m-after"))
        assert len(await api.deliveries(endpoint["id"])) == 1
        rotate = await api.client.post(
            f"/v1/webhooks/{endpoint['id']}/rotate-secret", headers=api.SECRETARIAT
        )
        assert rotate.status_code == 409
        assert rotate.json()["code"] == "endpoint_disabled"


async def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(api: Api) -> None:
    old_only, new_only, port_a, port_b = Receiver(), Receiver(), free_port(), free_port()
    async with receiving(old_only, port_a), receiving(new_only, port_b):
        a = await api.endpoint(f"http://127.0.0.1:{port_a}/hook")
        b = await api.endpoint(f"http://127.0.0.1:{port_b}/hook")
        old_only.secrets = [a["secret"]]
        rotated_a = (
            await api.client.post(f"/v1/webhooks/{a['id']}/rotate-secret", headers=api.SECRETARIAT)
        ).json()
        rotated_b = (
            await api.client.post(f"/v1/webhooks/{b['id']}/rotate-secret", headers=api.SECRETARIAT)
        ).json()
        new_only.secrets = [rotated_b["secret"]]
        assert rotated_a["secret"] != a["secret"]
        assert rotated_a["previous_secret_expires_at"]
        await api.publish(api.meeting_event("m-rot"))
        await eventually(lambda: _succeeded(api, a["id"], 1))
        await eventually(lambda: _succeeded(api, b["id"], 1))
    assert old_only.refused == new_only.refused == 0
    assert len(old_only.headers[0]["webhook-signature"].split(" ")) == 2

    endpoint = Endpoint(secret="whsec_new", previous_secret="whsec_old")
    endpoint.previous_secret_expires_at = now() + timedelta(hours=24)
    assert signing_secrets(endpoint, now()) == ["whsec_new", "whsec_old"]
    assert signing_secrets(endpoint, now() + timedelta(hours=25)) == ["whsec_new"]


async def test_ping_and_redeliver_send_signed_messages(api: Api) -> None:
    receiver, port = Receiver(), free_port()
    async with receiving(receiver, port):
        endpoint = await api.endpoint(f"http://127.0.0.1:{port}/hook", headers=api.IOM)
        receiver.secrets = [endpoint["secret"]]
        ping = await api.client.post(f"/v1/webhooks/{endpoint['id']}/ping", headers=api.IOM)
        assert ping.status_code == 202, ping.text
        await eventually(lambda: _succeeded(api, endpoint["id"], 1))
        [delivery] = await api.deliveries(endpoint["id"], status="succeeded")
        again = await api.client.post(f"/v1/deliveries/{delivery['id']}/redeliver", headers=api.IOM)
        assert again.status_code == 202, again.text
        await eventually(lambda: _true(receiver.received == 2))
    # The same message twice: the receiver applied it once.
    assert list(receiver.applied) == [delivery["id"]]
    assert receiver.applied[delivery["id"]]["type"] == "notifications.webhook.ping.v1"


async def test_endpoints_are_managed_by_their_organisation_country_or_the_secretariat(
    api: Api,
) -> None:
    url = "https://hooks.example.org/in"
    iom = await api.endpoint(url, headers=api.IOM)
    bg = await api.endpoint(url, headers=api.BULGARIA)
    assert iom["owner"] == "test-partner"
    assert iom["organisation"] == "IOM"
    assert iom["secret"].startswith("whsec_")
    listed = await api.client.get("/v1/webhooks", headers=api.IOM)
    assert [e["id"] for e in listed.json()["items"]] == [iom["id"]]
    assert "secret" not in listed.json()["items"][0]
    everything = await api.client.get("/v1/webhooks", headers=api.SECRETARIAT)
    assert {e["id"] for e in everything.json()["items"]} == {iom["id"], bg["id"]}
    for other in (api.UNODC, api.BULGARIA):
        got = await api.client.get(f"/v1/webhooks/{iom['id']}", headers=other)
        assert got.status_code == 404
        assert got.json()["code"] == "endpoint_not_found"
        assert (
            await api.client.delete(f"/v1/webhooks/{iom['id']}", headers=other)
        ).status_code == 404
    viewer = await api.client.get("/v1/webhooks", headers=api.VIEWER)
    assert viewer.status_code == 403
    assert viewer.json()["code"] == "webhooks_not_for_viewers"
    patched = await api.client.patch(
        f"/v1/webhooks/{iom['id']}",
        json={"event_types": ["plan.*"], "enabled": False},
        headers=api.IOM,
    )
    assert patched.json()["event_types"] == ["plan.*"]
    assert patched.json()["enabled"] is False
    assert (
        await api.client.delete(f"/v1/webhooks/{iom['id']}", headers=api.SECRETARIAT)
    ).status_code == 204
    assert (await api.client.get(f"/v1/webhooks/{iom['id']}", headers=api.IOM)).status_code == 404


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"url": "not a url", "event_types": ["*"]}, "unsafe_url"),
    ({"url": "ftp://hooks.example.org/", "event_types": ["*"]}, "unsafe_url"),
    ({"url": "https://user:pw@hooks.example.org/", "event_types": ["*"]}, "unsafe_url"),
    ({"url": "https://hooks.example.org:99999/", "event_types": ["*"]}, "unsafe_url"),
    (
        {"url": "https://hooks.example.org/", "event_types": ["meetings.nothing.v1"]},
        "unknown_event_type",
    ),
    ({"url": "https://hooks.example.org/", "event_types": ["MEET*"]}, "unknown_event_type"),
    ({"url": "https://hooks.example.org/", "event_types": []}, "no_event_types"),
    ({"url": "https://hooks.example.org/", "event_types": ["*"], "x": 1}, "validation_failed"),
]


async def test_bad_input_is_a_clear_4xx_and_stores_nothing(api: Api) -> None:
    for body, code in BAD_BODIES:
        response = await api.client.post("/v1/webhooks", json=body, headers=api.SECRETARIAT)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, body
    listed = await api.client.get("/v1/webhooks", headers=api.SECRETARIAT)
    assert listed.json()["items"] == []


INTERNAL_URLS = [
    "http://hooks.example.org/in",
    "https://127.0.0.1/in",
    "https://10.1.2.3/in",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/in",
    "https://[::ffff:192.168.0.1]/in",
    "https://0.0.0.0/in",
]


async def test_the_address_guard_refuses_internal_addresses_at_registration(
    strict_api: Api,
) -> None:
    for url in INTERNAL_URLS:
        response = await strict_api.client.post(
            "/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=strict_api.SECRETARIAT
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "unsafe_url", url


async def test_a_host_resolving_to_loopback_is_refused_at_delivery(strict_api: Api) -> None:
    receiver, port = Receiver(), free_port()
    async with receiving(receiver, port):
        endpoint = await strict_api.endpoint(f"https://localhost:{port}/hook")
        await strict_api.publish(strict_api.meeting_event("m-guard"))

        async def refused() -> bool:
            deliveries = await strict_api.deliveries(endpoint["id"])
            return bool(deliveries and deliveries[0]["attempts"])

        await eventually(refused)
        [delivery] = await strict_api.deliveries(endpoint["id"])
    assert delivery["attempts"][0]["error"].startswith("refused:")
    assert "loopback" in delivery["attempts"][0]["error"]
    assert receiver.received == 0


def test_retries_follow_the_schedule_with_jitter_and_honour_retry_after() -> None:
    settings = NotificationsSettings(
        webhook_retry_schedule_s=[0, 10, 100], webhook_retry_jitter=0.1
    )
    failed = Outcome(500, 1.0)
    assert 9 <= (next_delay(1, failed, settings) or 0) <= 11
    assert 90 <= (next_delay(2, failed, settings) or 0) <= 110
    assert next_delay(3, failed, settings) is None  # the schedule is spent: given up
    assert next_delay(1, Outcome(503, 1.0, retry_after_s=60), settings) == 60
    assert not failed.succeeded
    assert not Outcome(302, 1.0).succeeded
    assert Outcome(204, 1.0).succeeded


async def _true(value: bool) -> bool:
    return value


async def _succeeded(api: Api, endpoint_id: str, count: int) -> bool:
    deliveries = await api.deliveries(endpoint_id, status="succeeded")
    return len(deliveries) == count


async def _history(api: Api, subject: str) -> list[dict[str, Any]]:
    response = await api.client.get(
        "/v1/history", params={"subject": subject}, headers=api.SECRETARIAT
    )
    return list(response.json()["items"])
