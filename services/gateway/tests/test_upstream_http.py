"""The gateway over the network, as deployed: its own HTTP client to services served by uvicorn
on real sockets (the other tests reach their stand-ins in-process, through httpx)."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.requests import ClientDisconnect

from bp_common.observability import tracing
from bp_common.testing import eventually
from gateway.app import create_gateway_app
from gateway.asgi import StreamingASGITransport
from gateway.proxy import _RelayedResponse
from gateway.settings import GatewaySettings
from gateway.upstream_http import HttpUpstream, UpstreamConnectionError

from .conftest import AUTH, echo_service, gateway_settings

BIG = 3 * 1024 * 1024


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """``app`` on a free local port, for the test's duration."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def meetings_service() -> FastAPI:
    """The echo stand-in, and what the echo does not cover: big bodies both ways, HEAD, the
    caller's port (one per connection)."""
    app = FastAPI()

    @app.post("/v1/meetings/upload")
    async def upload(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/v1/meetings/big")
    async def big() -> Response:
        return Response(b"m" * BIG, media_type="application/octet-stream")

    @app.api_route("/v1/meetings/head", methods=["HEAD"])
    async def head() -> Response:
        return Response(headers={"content-length": "123", "x-seen": "yes"})

    @app.get("/v1/meetings/port")
    async def port(request: Request) -> dict[str, int]:
        assert request.client is not None
        return {"port": request.client.port}

    @app.get("/v1/meetings/traceparent")
    async def traceparent(request: Request) -> dict[str, str | None]:
        return {"traceparent": request.headers.get("traceparent")}

    @app.get("/v1/meetings/cookies")
    async def cookies() -> Response:
        response = Response(b"{}", media_type="application/json")
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    # After these: the echo's catch-all route would answer their paths.
    app.router.routes.extend(echo_service("meetings-api").router.routes)
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def networked_gateway(
    tmp_path: Path, **overrides: object
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """A gateway whose meetings and notifications services are on real sockets, and plan's port
    has nobody listening. The caller reaches the gateway through a streaming transport."""
    meetings = meetings_service()
    notifications = echo_service("notifications-api")
    async with serving(meetings) as meetings_url, serving(notifications) as notifications_url:
        settings: GatewaySettings = gateway_settings(
            tmp_path,
            meetings_url=meetings_url,
            notifications_url=notifications_url,
            plan_url=f"http://127.0.0.1:{free_port()}",
            **overrides,
        )
        app = create_gateway_app(settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=StreamingASGITransport(app), base_url="http://gateway"
            ) as client,
        ):
            yield client, notifications


async def test_a_request_reaches_the_service_whole_with_a_signed_identity(tmp_path: Path) -> None:
    async with networked_gateway(tmp_path) as (gateway, _):
        response = await gateway.post(
            "/v1/meetings/x%2Fy?b=2&a=%20",
            content=b'{"title": "t"}',
            headers=AUTH | {"x-request-id": "req-7"},
        )
        assert response.status_code == 200, response.text
        echoed = response.json()
        assert echoed["path"] == "/v1/meetings/x/y"
        assert echoed["query"] == "b=2&a=%20"
        assert echoed["body"] == '{"title": "t"}'
        assert echoed["audience"] == "meetings-api"
        assert echoed["request_id"] == echoed["jti"] == "req-7"
        assert echoed["saw_authorization"] is False
        assert response.headers["x-request-id"] == "req-7"


async def test_connections_are_kept_alive_and_reused(tmp_path: Path) -> None:
    async with networked_gateway(tmp_path) as (gateway, _):
        ports = {(await gateway.get("/v1/meetings/port", headers=AUTH)).json()["port"]}
        for _ in range(5):
            ports.add((await gateway.get("/v1/meetings/port", headers=AUTH)).json()["port"])
        assert len(ports) == 1


async def test_big_bodies_pass_whole_both_ways(tmp_path: Path) -> None:
    async with networked_gateway(tmp_path, max_body_bytes=2 * BIG) as (gateway, _):
        sized = await gateway.post("/v1/meetings/upload", content=b"u" * BIG, headers=AUTH)
        assert sized.json() == {"size": BIG}

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(BIG // 65536):
                yield b"c" * 65536

        chunked = await gateway.post("/v1/meetings/upload", content=chunks(), headers=AUTH)
        assert chunked.json() == {"size": BIG}
        answer = await gateway.get("/v1/meetings/big", headers=AUTH)
        assert answer.status_code == 200
        assert answer.content == b"m" * BIG
        # The connection is still good for the next request.
        assert (await gateway.get("/v1/meetings", headers=AUTH)).status_code == 200


async def test_a_chunked_body_over_the_limit_is_413_and_the_next_request_works(
    tmp_path: Path,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 400

    async with networked_gateway(tmp_path) as (gateway, _):
        refused = await gateway.post("/v1/meetings/upload", content=chunks(), headers=AUTH)
        assert refused.status_code == 413
        assert refused.json()["code"] == "payload_too_large"
        small = await gateway.post("/v1/meetings", content=b"y" * 900, headers=AUTH)
        assert small.json()["body"] == "y" * 900


async def test_head_answers_with_the_headers_only(tmp_path: Path) -> None:
    async with networked_gateway(tmp_path) as (gateway, _):
        response = await gateway.head("/v1/meetings/head", headers=AUTH)
        assert response.status_code == 200
        assert response.headers["x-seen"] == "yes"
        assert (await gateway.get("/v1/meetings", headers=AUTH)).status_code == 200


async def test_repeated_answer_headers_stay_repeated(tmp_path: Path) -> None:
    async with networked_gateway(tmp_path) as (gateway, _):
        response = await gateway.get("/v1/meetings/cookies", headers=AUTH)
        assert len(response.headers.get_list("set-cookie")) == 2


async def test_a_service_down_is_a_502_and_a_slow_one_a_504(tmp_path: Path) -> None:
    async with networked_gateway(tmp_path) as (gateway, _):
        down = await gateway.get("/v1/plans", headers=AUTH)
        assert down.status_code == 502
        assert down.json()["code"] == "upstream_unavailable"
        slow = await gateway.get("/v1/meetings/slow", headers=AUTH)
        assert slow.status_code == 504
        assert slow.json()["code"] == "upstream_timeout"
        ready = (await gateway.get("/readyz")).json()["checks"]
        assert ready["meetings"] is True
        assert ready["plan"] is False


async def test_a_stream_is_relayed_as_it_comes(tmp_path: Path) -> None:
    async with (
        networked_gateway(tmp_path) as (gateway, notifications),
        gateway.stream("GET", "/v1/stream", headers=AUTH) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        chunks = answer.aiter_raw()
        async with asyncio.timeout(30):  # a safety net: buffering would hang here
            assert await anext(chunks) == b"data: first\n\n"
            notifications.state.release.set()
            assert await anext(chunks) == b"data: second\n\n"


async def test_a_kept_alive_connection_the_service_closed_is_not_used(tmp_path: Path) -> None:
    """A service that closes every connection after its answer (as after its keep-alive
    timeout): each request is still answered."""
    answers = 0

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answers
        await reader.readuntil(b"\r\n\r\n")
        answers += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = HttpUpstream(f"http://127.0.0.1:{port}")
    try:
        for _ in range(5):
            assert await upstream.get("/x") == (200, b"ok")
        assert answers == 5
    finally:
        await upstream.aclose()
        server.close()
        await server.wait_closed()


async def test_a_connection_cut_mid_answer_is_an_error_not_a_short_answer() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.1", 0)
    upstream = HttpUpstream(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        with pytest.raises(UpstreamConnectionError):
            await upstream.get("/x")
    finally:
        await upstream.aclose()
        server.close()
        await server.wait_closed()


async def test_an_answer_is_closed_when_the_caller_is_gone_before_its_first_byte() -> None:
    """Else its connection would stay open, out of the pool, until the service drops it."""

    class Answer:
        status_code = 200
        raw_headers: list[tuple[bytes, bytes]] = []
        closed = False

        async def aclose(self) -> None:
            self.closed = True

    async def never_started() -> AsyncIterator[bytes]:
        yield b"x"

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def gone(message: object) -> None:
        raise OSError("the caller is gone")

    answer = Answer()
    response = _RelayedResponse(answer, never_started())  # type: ignore[arg-type]
    with pytest.raises((OSError, ClientDisconnect)):
        await response({"type": "http", "asgi": {"spec_version": "2.4"}}, receive, gone)
    assert answer.closed


async def test_with_tracing_the_service_continues_the_gateways_trace(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    tracing.configure_tracing("gateway", tracing.TracingExporter.NONE, span_exporter=exporter)
    try:
        async with networked_gateway(tmp_path) as (gateway, _):
            response = await gateway.get("/v1/meetings/traceparent", headers=AUTH)
    finally:
        tracing.shutdown_tracing()
    _version, trace_id, _parent, _flags = response.json()["traceparent"].split("-")
    server_spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server_spans
    assert {format(s.context.trace_id, "032x") for s in server_spans} == {trace_id}
