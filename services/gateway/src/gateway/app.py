"""The gateway: the only public door. Authenticates, rate-limits, routes ``/v1/...`` to the
owning service, serves API keys, the merged OpenAPI and the cross-service views."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from bp_common.db import Database
from bp_common.errors import (
    NotFound,
    install_problem_handlers,
    method_not_allowed,
    served_methods,
)
from bp_common.middleware import REQUEST_ID_HEADER, RequestIdMiddleware
from bp_common.migrations import upgrade_to_head
from bp_common.observability import metrics, tracing
from bp_common.security import Identity
from gateway import contracts as contracts_api
from gateway.auth import authenticated
from gateway.keys import api as keys_api
from gateway.oidc import AccessTokens
from gateway.openapi import merged_openapi
from gateway.proxy import HttpxUpstream, RoutePolicy, UpstreamClient, Upstreams
from gateway.ratelimit import RateLimiter
from gateway.routing import (
    Upstream,
    is_report,
    is_streaming,
    is_upload,
    metrics_route,
    upstream_for,
)
from gateway.settings import GatewaySettings
from gateway.upstream_http import HttpUpstream

MIGRATIONS = Path(__file__).parent / "migrations"
# What a cross-origin page may send (the CORS preflight answers with these).
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IdentityDep = Annotated[Identity, Depends(authenticated)]


def network_clients(settings: GatewaySettings) -> dict[Upstream, UpstreamClient]:
    urls = {
        Upstream.MEETINGS: settings.meetings_url,
        Upstream.PLAN: settings.plan_url,
        Upstream.INDICATORS: settings.indicators_url,
        Upstream.NOTIFICATIONS: settings.notifications_url,
    }
    return {
        name: HttpUpstream(url, connect_timeout_s=2.0, max_idle_connections=50)
        for name, url in urls.items()
    }


def create_gateway_app(
    settings: GatewaySettings | None = None,
    *,
    clients: dict[Upstream, httpx.AsyncClient] | None = None,
    identity_providers: httpx.AsyncClient | None = None,
    around: contextlib.AbstractAsyncContextManager[None] | None = None,
    migrate: bool | None = None,
) -> FastAPI:
    """``around`` is entered for the app's whole life: the embedded mode runs the services in it.
    ``identity_providers`` is the client that reads the OpenID Connect issuers' keys."""
    settings = settings or GatewaySettings()
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    tracing.instrument_engine(database.engine)
    upstreams = Upstreams(
        {name: HttpxUpstream(client) for name, client in clients.items()}
        if clients is not None
        else network_clients(settings),
        settings.identity_signing_key(),
        settings.identity_algorithm,
        settings.upstream_timeout_s,
    )
    access_tokens = AccessTokens(settings.oidc_issuers, identity_providers)
    should_migrate = settings.is_sqlite if migrate is None else migrate
    ordinary_policy = RoutePolicy(
        settings.max_body_bytes, settings.upstream_timeout_s, settings.upstream_timeout_s
    )
    stream_policy = RoutePolicy(settings.max_body_bytes, None, settings.stream_idle_timeout_s)
    upload_policy = RoutePolicy(
        settings.max_upload_bytes, settings.upload_timeout_s, settings.upload_timeout_s
    )
    report_policy = RoutePolicy(
        settings.max_body_bytes, settings.report_timeout_s, settings.report_timeout_s
    )

    def policy_for(path: str) -> RoutePolicy:
        if is_streaming(path):
            return stream_policy
        if is_upload(path):
            return upload_policy
        return report_policy if is_report(path) else ordinary_policy

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if settings.metrics_port is not None:
                # Its own port: the gateway's is public. In the embedded mode it covers the
                # services too, which share the process and its registry.
                await stack.enter_async_context(
                    metrics.metrics_server(settings.metrics_host, settings.metrics_port)
                )
            if should_migrate:
                await upgrade_to_head(database, MIGRATIONS)
            stack.push_async_callback(database.dispose)
            if around is not None:
                await stack.enter_async_context(around)
            stack.push_async_callback(upstreams.aclose)
            stack.push_async_callback(access_tokens.aclose)
            access_tokens.start()
            yield

    app = FastAPI(
        title="Budapest Process platform",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.upstreams = upstreams
    app.state.access_tokens = access_tokens
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=CORS_METHODS,
        # If-Match/ETag: a browser client's corrections name the revision they were made on.
        allow_headers=[
            "authorization",
            "content-type",
            "idempotency-key",
            "if-match",
            REQUEST_ID_HEADER,
        ],
        expose_headers=[REQUEST_ID_HEADER, "retry-after", "location", "etag"],
        max_age=600,
    )
    app.add_middleware(RequestIdMiddleware, service="gateway")
    install_problem_handlers(app)
    app.include_router(keys_api.router, dependencies=[Depends(authenticated)])
    app.include_router(contracts_api.router)
    tracing.instrument_app(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = {"database": await database.ping()} | {
            upstream.value: await upstreams.ready(upstream) for upstream in Upstream
        }
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/v1/openapi.json", include_in_schema=False)
    async def openapi_document() -> dict[str, Any]:
        """One document for the whole API, usable to generate a client."""
        return await merged_openapi(app, upstreams)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/v1/openapi.json", title="Budapest Process API")

    async def proxy(request: Request) -> Response:
        """Every method is forwarded: the owning service knows which methods a path serves, and
        answers 405 with ``Allow`` (or 204 with ``Allow`` to a plain OPTIONS) for the others."""
        # Until the upstream names its template (forward): refusals and failures count here.
        request.scope.setdefault("state", {})[metrics.ROUTE_STATE_KEY] = metrics_route(
            request.url.path
        )
        identity = await authenticated(request)
        upstream = upstream_for(request.url.path)
        if upstream is not None:
            return await upstreams.forward(
                upstream, request, identity, policy_for(request.url.path)
            )
        if served_methods(request):  # one of the gateway's own paths, another method
            return method_not_allowed(request)
        raise NotFound(f"No resource at {request.url.path}.", code="no_such_route")

    app.router.routes.append(Route("/v1/{path:path}", AnyMethod(proxy), include_in_schema=False))
    return app


class AnyMethod:
    """A route endpoint that takes every method. Starlette gives a function endpoint ``GET``
    only (and FastAPI a fixed list), and an unserved method would then get the gateway's 405
    instead of reaching the service that knows which methods the path serves; an ASGI app as
    endpoint keeps ``methods=None``."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
