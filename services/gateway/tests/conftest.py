"""A gateway in front of an echo service that answers with what it received."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from pydantic import SecretStr

from bp_common.security import IdentityAlgorithm, VerificationKey, verify_identity
from bp_common.settings import DEV_IDENTITY_SECRET
from bp_common.testing import running
from gateway.app import create_gateway_app
from gateway.asgi import StreamingASGITransport
from gateway.routing import Upstream
from gateway.settings import GatewaySettings

KEY = "bp_admin_test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def echo_service(
    name: str,
    identity_key: VerificationKey = DEV_IDENTITY_SECRET,
    algorithm: IdentityAlgorithm = IdentityAlgorithm.HS256,
) -> FastAPI:
    """Stands in for the service ``name``: verifies the identity as that service does, and
    answers with what it received."""
    app = FastAPI()
    app.state.release = asyncio.Event()

    @app.get("/v1/stream")
    async def stream() -> StreamingResponse:
        """A first chunk, then the rest once the test has seen it (or never)."""

        async def chunks() -> AsyncIterator[bytes]:
            yield b"data: first\n\n"
            await app.state.release.wait()
            yield b"data: second\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(request: Request, path: str) -> dict[str, object]:
        if path == "readyz":
            return {"status": "ready"}
        if path == "v1/meetings/slow":
            await asyncio.sleep(5)
        token = request.headers["x-bp-identity"]
        identity = verify_identity(token, identity_key, audience=name, algorithm=algorithm)
        return {
            "path": request.url.path,
            "query": str(request.url.query),
            "body": (await request.body()).decode(),
            "role": identity.role.value,
            "principal": identity.principal,
            "organisation": identity.organisation,
            "country": identity.country,
            "request_id": request.headers.get("x-request-id"),
            "jti": identity.request_id,
            "audience": jwt.decode(token, options={"verify_signature": False})["aud"],
            "saw_authorization": "authorization" in request.headers,
        }

    return app


class Unreachable(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


def gateway_settings(tmp_path: Path, **overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
        "admin_api_key": SecretStr(KEY),
        "max_body_bytes": 1000,
        "upstream_timeout_s": 0.5,
    }
    return GatewaySettings(**(values | overrides))  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return gateway_settings(tmp_path)


def upstream_clients(
    identity_key: VerificationKey = DEV_IDENTITY_SECRET,
    algorithm: IdentityAlgorithm = IdentityAlgorithm.HS256,
) -> dict[Upstream, httpx.AsyncClient]:
    """meetings, indicators and notifications echo (notifications streaming), plan is down."""

    def echo(name: str, base_url: str) -> httpx.AsyncClient:
        app = echo_service(name, identity_key, algorithm)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)

    return {
        Upstream.MEETINGS: echo("meetings-api", "http://m"),
        Upstream.PLAN: httpx.AsyncClient(transport=Unreachable(), base_url="http://p"),
        Upstream.INDICATORS: echo("indicators-api", "http://i"),
        Upstream.NOTIFICATIONS: httpx.AsyncClient(
            transport=StreamingASGITransport(
                echo_service("notifications-api", identity_key, algorithm)
            ),
            base_url="http://n",
        ),
    }


@pytest.fixture
async def gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_gateway_app(settings, clients=upstream_clients())) as client:
        yield client
