"""A gateway in front of an echo service that answers with what it received."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr

from bp_common.security import verify_identity
from bp_common.settings import DEV_IDENTITY_SECRET
from bp_common.testing import running
from gateway.app import create_gateway_app
from gateway.routing import Upstream
from gateway.settings import GatewaySettings

KEY = "bp_admin_test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def echo_service() -> FastAPI:
    """Stands in for a service: answers with what it received."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(request: Request, path: str) -> dict[str, object]:
        if path == "readyz":
            return {"status": "ready"}
        if path == "v1/meetings/slow":
            await asyncio.sleep(5)
        identity = verify_identity(request.headers["x-bp-identity"], DEV_IDENTITY_SECRET)
        return {
            "path": request.url.path,
            "query": str(request.url.query),
            "body": (await request.body()).decode(),
            "role": identity.role.value,
            "principal": identity.principal,
            "organisation": identity.organisation,
            "country": identity.country,
            "request_id": request.headers.get("x-request-id"),
            "saw_authorization": "authorization" in request.headers,
        }

    return app


class Unreachable(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


def gateway_settings(tmp_path: Path, **overrides: object) -> GatewaySettings:
    return GatewaySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/gateway.db",
        admin_api_key=SecretStr(KEY),
        max_body_bytes=1000,
        upstream_timeout_s=0.5,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return gateway_settings(tmp_path)


@pytest.fixture
async def gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    service = echo_service()
    clients = {
        Upstream.MEETINGS: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service), base_url="http://m"
        ),
        Upstream.PLAN: httpx.AsyncClient(transport=Unreachable(), base_url="http://p"),
        Upstream.INDICATORS: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service), base_url="http://i"
        ),
    }
    async with running(create_gateway_app(settings, clients=clients)) as client:
        yield client
