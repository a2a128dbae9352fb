"""The gateway: the only public door. Authenticates, routes ``/v1/...`` to the owning service,
and answers health and readiness for the whole platform."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from bp_common.errors import NotFound, install_problem_handlers
from bp_common.middleware import RequestIdMiddleware
from gateway.auth import authenticate
from gateway.proxy import Upstreams, read_body
from gateway.routing import Upstream, upstream_for
from gateway.settings import GatewaySettings

PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def network_clients(settings: GatewaySettings) -> dict[Upstream, httpx.AsyncClient]:
    urls = {
        Upstream.MEETINGS: settings.meetings_url,
        Upstream.PLAN: settings.plan_url,
        Upstream.INDICATORS: settings.indicators_url,
    }
    timeout = httpx.Timeout(settings.upstream_timeout_s, connect=2.0)
    return {name: httpx.AsyncClient(base_url=url, timeout=timeout) for name, url in urls.items()}


def create_gateway_app(
    settings: GatewaySettings | None = None,
    *,
    clients: dict[Upstream, httpx.AsyncClient] | None = None,
    around: contextlib.AbstractAsyncContextManager[None] | None = None,
) -> FastAPI:
    """``around`` is entered for the app's whole life: the embedded mode runs the services in it."""
    settings = settings or GatewaySettings()
    upstreams = Upstreams(
        clients or network_clients(settings),
        settings.identity_secret.get_secret_value(),
        settings.upstream_timeout_s,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if around is not None:
                await stack.enter_async_context(around)
            stack.push_async_callback(upstreams.aclose)
            yield

    app = FastAPI(title="Budapest Process platform", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.upstreams = upstreams
    app.add_middleware(RequestIdMiddleware)
    install_problem_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = {upstream.value: await upstreams.ready(upstream) for upstream in Upstream}
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.api_route("/v1/{path:path}", methods=PROXIED_METHODS, include_in_schema=False)
    async def proxy(request: Request, path: str) -> Response:
        upstream = upstream_for(request.url.path)
        if upstream is None:
            raise NotFound(f"No resource at {request.url.path}.", code="no_such_route")
        identity = authenticate(request, settings)
        body = await read_body(request, settings.max_body_bytes)
        return await upstreams.forward(upstream, request, identity, body)

    return app
