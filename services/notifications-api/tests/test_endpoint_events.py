"""Changes to webhook endpoints are events (``notifications.webhook.*.v1``): the endpoint's
history, heard only by the Secretariat and whoever manages the endpoint, never by another
organisation's webhooks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bp_common.security import Identity, Role
from bp_common.settings import DEV_IDENTITY_SECRET
from bp_common.testing import IdentityHeaders, eventually

from .conftest import Api, Receiver, free_port, serve

# Distinct principals (identity_headers names every partner key alike).
IOM_KEY = IdentityHeaders(
    Identity(principal="key-iom", role=Role.PARTNER, organisation="IOM"), DEV_IDENTITY_SECRET
)
IOM_COLLEAGUE = IdentityHeaders(
    Identity(principal="key-iom-2", role=Role.PARTNER, organisation="IOM"), DEV_IDENTITY_SECRET
)
UNODC_KEY = IdentityHeaders(
    Identity(principal="key-unodc", role=Role.PARTNER, organisation="UNODC"), DEV_IDENTITY_SECRET
)
ENDPOINT_EVENTS = ["notifications.webhook.*"]


@contextlib.asynccontextmanager
async def listening(api: Api, headers: Any) -> AsyncIterator[tuple[Receiver, dict[str, Any]]]:
    receiver, port = Receiver(), free_port()
    async with serve(receiver.app(), port):
        endpoint = await api.endpoint(f"http://127.0.0.1:{port}/hook", ENDPOINT_EVENTS, headers)
        receiver.secrets = [endpoint["secret"]]
        yield receiver, endpoint


async def history(api: Api, subject: str, headers: Any) -> list[dict[str, Any]]:
    response = await api.client.get(
        "/v1/history", params={"subject": subject, "limit": 100}, headers=headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_an_endpoints_changes_are_its_history_heard_only_by_who_manages_it(
    api: Api,
) -> None:
    async with (
        listening(api, IOM_COLLEAGUE) as (iom, iom_listener),
        listening(api, UNODC_KEY) as (unodc, unodc_listener),
    ):
        created = await api.endpoint("https://hooks.iom.example/in", headers=IOM_KEY)
        path = f"/v1/webhooks/{created['id']}"
        for call in (
            api.client.patch(path, json={"description": "Regional office"}, headers=IOM_KEY),
            api.client.post(f"{path}/rotate-secret", headers=IOM_KEY),
            api.client.patch(path, json={"enabled": False}, headers=IOM_KEY),
            api.client.delete(path, headers=api.SECRETARIAT),
        ):
            assert (await call).status_code < 300

        async def recorded() -> bool:
            return len(await history(api, created["id"], api.SECRETARIAT)) == 5

        await eventually(recorded)
        entries = await history(api, created["id"], IOM_COLLEAGUE)
        assert [e["type"] for e in entries] == [
            "notifications.webhook.created.v1",
            "notifications.webhook.updated.v1",
            "notifications.webhook.secret_rotated.v1",
            "notifications.webhook.disabled.v1",
            "notifications.webhook.deleted.v1",
        ]
        assert [e["actor"] for e in entries] == ["key-iom"] * 4 + ["test-secretariat"]
        assert entries[1]["data"]["changed"] == ["description"]
        assert entries[3]["data"]["reason"] == "by_owner"
        assert not any("whsec_" in str(e["data"]) for e in entries)
        assert await history(api, created["id"], UNODC_KEY) == []
        assert await history(api, created["id"], api.VIEWER) == []

        # The IOM colleague's webhook hears the five; UNODC's hears only about its own endpoint.
        async def delivered() -> bool:
            return len(iom.applied) == 6 and len(unodc.applied) == 1

        await eventually(delivered)
        heard = {
            p["subject"]: p["type"] for p in iom.applied.values() if p["subject"] != created["id"]
        }
        assert heard == {iom_listener["id"]: "notifications.webhook.created.v1"}
        assert [p["subject"] for p in unodc.applied.values()] == [unodc_listener["id"]]
