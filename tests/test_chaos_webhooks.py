"""The fault scenarios' webhook receiver (chaos/webhooks.py) on its own: what it counts as lost,
applied twice and redelivered, from signed deliveries made as notifications-api makes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from chaos import webhooks
from chaos.webhooks import Receiver, account_webhooks
from notifications_api.webhooks.signing import new_secret, signature_headers

from .conftest import free_port


async def deliver(client: httpx.AsyncClient, secret: str, webhook_id: str, event_id: str) -> int:
    body = orjson.dumps({"specversion": "1.0", "id": event_id, "type": "t"}).decode()
    headers = signature_headers(webhook_id, body, [secret], datetime.now(UTC))
    response = await client.post("/hook", content=body, headers=headers)
    return response.status_code


async def test_the_receiver_dedupes_on_webhook_id_and_counts_lost_and_doubled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def nothing_pending(_: Any) -> int:
        return 0

    monkeypatch.setattr(webhooks, "pending_deliveries", nothing_pending)
    port = free_port()
    async with (
        webhooks.receiving(port) as receiver,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        receiver.secret = new_secret()
        once, redelivered, doubled, lost = (str(uuid.uuid4()) for _ in range(4))
        first_id = str(uuid.uuid4())
        assert await deliver(client, receiver.secret, str(uuid.uuid4()), once) == 204
        assert await deliver(client, receiver.secret, first_id, redelivered) == 204
        assert await deliver(client, receiver.secret, first_id, redelivered) == 204  # again
        for _ in range(2):  # one event, two deliveries: the receiver cannot tell
            assert await deliver(client, receiver.secret, str(uuid.uuid4()), doubled) == 204
        assert await deliver(client, new_secret(), str(uuid.uuid4()), once) == 401
        account = await account_webhooks(
            None,  # type: ignore[arg-type]
            receiver,
            [once, redelivered, doubled, lost],
            within_s=0,
        )
    assert isinstance(receiver, Receiver)
    assert (account.expected, account.applied) == (4, 3)
    assert account.lost == [lost]
    assert account.doubled == [doubled]
    assert account.redelivered == 1
    assert account.refused == 1
