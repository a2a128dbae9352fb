import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from bp_common.security import IdentityAlgorithm, load_verification_key
from bp_common.testing import identity_key_pair, running
from gateway.app import create_gateway_app
from gateway.asgi import StreamingASGITransport
from gateway.routing import Upstream, is_report
from gateway.settings import GatewaySettings

from .conftest import AUTH, KEY, gateway_settings, upstream_clients


async def test_requests_without_a_valid_key_are_401_problems(gateway: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        response = await gateway.get("/v1/meetings", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_routes_to_the_owning_service_with_a_signed_identity(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.post(
        "/v1/results/import?dry_run=true",
        content=b'{"results": []}',
        headers=AUTH | {"x-request-id": "req-42"},
    )
    echoed = response.json()
    assert echoed["path"] == "/v1/results/import"
    assert echoed["query"] == "dry_run=true"
    assert echoed["body"] == '{"results": []}'
    assert echoed["role"] == "secretariat"
    assert echoed["request_id"] == echoed["jti"] == "req-42"
    assert echoed["saw_authorization"] is False
    assert response.headers["x-request-id"] == "req-42"


async def test_each_service_is_sent_an_identity_for_itself_alone(
    gateway: httpx.AsyncClient,
) -> None:
    """Each echo verifies the token with its own name as the audience, as the services do."""
    meetings = await gateway.get("/v1/meetings", headers=AUTH)
    indicators = await gateway.get("/v1/indicators", headers=AUTH)
    assert meetings.json()["audience"] == "meetings-api"
    assert indicators.json()["audience"] == "indicators-api"


async def test_with_eddsa_the_gateway_signs_with_its_private_key(tmp_path: Path) -> None:
    private_pem, public_pem = identity_key_pair(IdentityAlgorithm.EDDSA)
    settings = gateway_settings(
        tmp_path,
        identity_algorithm=IdentityAlgorithm.EDDSA,
        identity_private_key=SecretStr(private_pem),
    )
    public_key = load_verification_key(IdentityAlgorithm.EDDSA, public_pem)
    clients = upstream_clients(public_key, IdentityAlgorithm.EDDSA)
    async with running(create_gateway_app(settings, clients=clients)) as gateway:
        response = await gateway.get("/v1/meetings", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["audience"] == "meetings-api"


def test_with_eddsa_the_gateway_needs_its_private_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="identity_private_key is required"):
        gateway_settings(tmp_path, identity_algorithm=IdentityAlgorithm.EDDSA)


async def test_unknown_paths_are_404_problems(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["code"] == "no_such_route"


async def test_a_service_down_is_a_502_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/plans", headers=AUTH)
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unavailable"
    assert "plan" in response.json()["detail"]


async def test_a_slow_service_is_a_504_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/meetings/slow", headers=AUTH)
    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"


async def test_an_oversized_body_is_413(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/results/import", content=b"x" * 2000, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_readiness_names_the_service_that_is_down(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["plan"] is False
    assert (await gateway.get("/healthz")).status_code == 200


async def test_paths_are_forwarded_as_the_caller_encoded_them(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/meetings/%1C%C3%B5%2Fx", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["path"] == "/v1/meetings/\x1cõ/x"


@contextlib.asynccontextmanager
async def streaming_gateway(
    settings: GatewaySettings,
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A gateway reached through a transport that streams (as a network client would see it),
    and the notifications echo service behind it."""
    clients = upstream_clients()
    app = create_gateway_app(settings, clients=clients)
    transport = clients[Upstream.NOTIFICATIONS]._transport
    upstream_app = transport.app  # type: ignore[attr-defined]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=StreamingASGITransport(app), base_url="http://gateway"
        ) as client,
    ):
        yield client, upstream_app


async def test_a_stream_is_relayed_as_it_comes_without_a_total_timeout(
    settings: GatewaySettings,
) -> None:
    async with (
        streaming_gateway(settings) as (client, upstream),
        client.stream("GET", "/v1/stream", headers=AUTH) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["x-request-id"]
        chunks = answer.aiter_raw()
        async with asyncio.timeout(30):  # a safety net: buffering would hang here
            assert await anext(chunks) == b"data: first\n\n"
            # Beyond the ordinary routes' total timeout (0.5 s here) is fine for a stream.
            upstream.state.release.set()
            assert await anext(chunks) == b"data: second\n\n"


async def test_a_silent_stream_is_cut_after_its_idle_timeout(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, stream_idle_timeout_s=0.2)
    async with (
        streaming_gateway(settings) as (client, _),
        client.stream("GET", "/v1/stream", headers=AUTH) as answer,
    ):
        chunks = answer.aiter_raw()
        assert await anext(chunks) == b"data: first\n\n"
        with pytest.raises(httpx.ReadError):
            async with asyncio.timeout(30):
                await anext(chunks)


async def test_a_chunked_body_over_the_limit_is_413(gateway: httpx.AsyncClient) -> None:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 400

    response = await gateway.post("/v1/meetings", content=body(), headers=AUTH)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    small = await gateway.post("/v1/meetings", content=b"y" * 900, headers=AUTH)
    assert small.status_code == 200
    assert small.json()["body"] == "y" * 900


async def test_an_upload_route_has_its_own_body_limit(tmp_path: Path) -> None:
    """An IATI file may be far larger than an ordinary body: /v1/iati takes up to its own limit,
    other routes keep theirs."""
    settings = gateway_settings(tmp_path, max_upload_bytes=5000)
    async with running(create_gateway_app(settings, clients=upstream_clients())) as gateway:
        accepted = await gateway.post("/v1/iati/import", content=b"x" * 4000, headers=AUTH)
        assert accepted.status_code == 200, accepted.text
        assert len(accepted.json()["body"]) == 4000
        refused = await gateway.post("/v1/iati/import", content=b"x" * 6000, headers=AUTH)
        assert refused.status_code == 413
        ordinary = await gateway.post("/v1/results/import", content=b"x" * 4000, headers=AUTH)
        assert ordinary.status_code == 413


def test_only_a_meetings_report_is_a_report_route() -> None:
    assert is_report("/v1/meetings/4b3c/report")
    for path in (
        "/v1/meetings/4b3c",
        "/v1/meetings/4b3c/report/x",
        "/v1/meetings/report",
        "/v1/plans/4b3c/report",
        "/v2/meetings/4b3c/report",
    ):
        assert not is_report(path), path


class RecordingTransport(httpx.AsyncBaseTransport):
    """A network service as httpx sees it: records the timeouts each request was sent with."""

    def __init__(self) -> None:
        self.timeouts: dict[str, dict[str, float | None]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.timeouts[request.url.path] = request.extensions["timeout"]
        await request.aread()
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"))


async def test_each_route_is_sent_with_its_own_timeouts(tmp_path: Path) -> None:
    """Over the network httpx enforces the read timeout itself: a report or an upload must not
    be cut at the ordinary routes' timeout while the service works on it."""
    settings = gateway_settings(tmp_path, report_timeout_s=60.0, upload_timeout_s=600.0)
    recording = RecordingTransport()
    clients = upstream_clients()
    # The network clients' own default, as network_clients sets it: the ordinary timeout.
    timeout = httpx.Timeout(settings.upstream_timeout_s, connect=2.0)
    for upstream in (Upstream.MEETINGS, Upstream.INDICATORS):
        clients[upstream] = httpx.AsyncClient(
            transport=recording, base_url="http://service", timeout=timeout
        )
    async with running(create_gateway_app(settings, clients=clients)) as gateway:
        for path in ("/v1/meetings/4b3c/report", "/v1/meetings/4b3c", "/v1/iati/import"):
            assert (await gateway.get(path, headers=AUTH)).status_code == 200
    assert recording.timeouts["/v1/meetings/4b3c/report"]["read"] == 60.0
    assert recording.timeouts["/v1/meetings/4b3c"]["read"] == 0.5
    assert recording.timeouts["/v1/iati/import"]["read"] == 600.0
