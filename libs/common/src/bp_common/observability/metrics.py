"""The platform's Prometheus metrics, in the process's default registry.

Every metric carries the service (or the consumer group) it is about, so that in the embedded
mode, where the gateway and the three services share one process, one endpoint covers them all.
Gauges that need a query (outbox backlog, consumer lag, pool in use) are refreshed when scraped,
by the refreshers each running service registers, rather than on the hot path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Scope

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# A service names the route template it matched in this response header, so that the gateway,
# which forwards through one catch-all route, labels its own request metrics with the upstream's
# template (``/v1/meetings/{id}``); the gateway does not pass it on.
ROUTE_HEADER = "x-bp-route"
# Where an endpoint that knows better than the router (the gateway's proxy) leaves the template
# to count a request under: ``scope["state"][ROUTE_STATE_KEY]``.
ROUTE_STATE_KEY = "metrics_route"
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter(
    "bp_http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "bp_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method.",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge(
    "bp_outbox_pending_rows", "Outbox rows written and not yet published.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "bp_outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none is pending).",
    ["service"],
)
RELAY_PUBLISH_DURATION = Histogram(
    "bp_outbox_publish_duration_seconds",
    "Time for the relay to have one batch acknowledged by the bus.",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 10),
)
RELAY_PUBLISHED = Counter(
    "bp_outbox_published_events_total", "Events the relay published.", ["service"]
)
RELAY_FAILURES = Counter(
    "bp_outbox_publish_failures_total", "Relay batches the bus did not acknowledge.", ["service"]
)
CONSUMER_LAG = Gauge(
    "bp_consumer_lag_messages",
    "Messages in a partition not yet committed by the consumer group (highwater - committed).",
    ["group", "topic", "partition"],
)
HANDLER_DURATION = Histogram(
    "bp_event_handler_duration_seconds",
    "Time to apply one event (handler and inbox claim, one transaction), by event type.",
    ["group", "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
HANDLER_FAILURES = Counter(
    "bp_event_handler_failures_total",
    "Handler attempts that raised (each retry counts), by event type.",
    ["group", "event_type"],
)
DEAD_LETTERED = Counter(
    "bp_events_dead_lettered_total",
    "Messages sent to the dead-letter topic, by consumer group and origin topic.",
    ["group", "topic"],
)
INBOX_DUPLICATES = Counter(
    "bp_inbox_duplicates_skipped_total",
    "Events skipped because the consumer group's inbox had already applied them.",
    ["group", "event_type"],
)
IMPORT_ROWS = Counter(
    "bp_result_rows_total",
    "Result rows of written imports, by outcome (created, updated, unchanged, rejected).",
    ["service", "outcome"],
)
DB_POOL_IN_USE = Gauge(
    "bp_db_pool_connections_in_use", "Database connections checked out of the pool.", ["service"]
)
# notifications-api: its webhooks and its live stream.
WEBHOOK_ATTEMPTS = Counter(
    "bp_webhook_delivery_attempts_total",
    "Webhook delivery attempts, by outcome: succeeded (2xx), rejected (another status), "
    "timeout, unreachable (no answer), refused (the address guard).",
    ["service", "outcome"],
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "bp_webhook_delivery_duration_seconds",
    "Time from sending a webhook delivery to the receiver's answer (attempts that were sent).",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_PENDING = Gauge(
    "bp_webhook_deliveries_pending",
    "Webhook deliveries waiting for their next attempt.",
    ["service"],
)
STREAM_CLIENTS = Gauge(
    "bp_stream_clients_connected", "Clients connected to the live event stream.", ["service"]
)
STREAM_EVENTS = Counter(
    "bp_stream_events_sent_total",
    "Events sent to live stream clients (one per client).",
    ["service"],
)

# Awaited before each scrape: each updates the gauges of one running service.
Refresher = Callable[[], Awaitable[None]]
_refreshers: list[Refresher] = []


def register_refresher(refresher: Refresher) -> None:
    _refreshers.append(refresher)


def unregister_refresher(refresher: Refresher) -> None:
    with contextlib.suppress(ValueError):
        _refreshers.remove(refresher)


async def render_metrics() -> bytes:
    """The exposition text, after refreshing the gauges. A refresher that fails (database down)
    leaves its gauges at their last value: the scrape still answers, with the other metrics."""
    for refresher in list(_refreshers):
        try:
            # Well inside a scrape's timeout (Prometheus: the scrape interval, at most 10 s).
            await asyncio.wait_for(refresher(), 2)
        except Exception as exc:
            logger.warning("metrics refresh failed: %r", exc)
    return generate_latest()


async def metrics_response(_request: Request) -> Response:
    return Response(await render_metrics(), media_type=CONTENT_TYPE_LATEST)


def observe_request(service: str, scope: Scope, status: int, elapsed_s: float) -> None:
    """Count an answered request by its route template (``/v1/meetings/{id}``), never its raw
    path, so that ids do not each make a time series; unmatched paths count as one. Scrapes are
    not counted."""
    if scope["path"] == METRICS_PATH:
        return
    route = route_template(scope)
    method = scope["method"]
    HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
    HTTP_DURATION.labels(service, method, route).observe(elapsed_s)


_templates: dict[object, str] = {}


def route_template(scope: Scope) -> str:
    """The template a request counts under: the one its endpoint chose (the gateway's proxy
    names the upstream's), else the matched route's path. FastAPI leaves the route in
    ``scope["route"]`` for most routes, not for all (plain Starlette routes): then it is looked
    up once by the endpoint the router selected."""
    chosen = scope.get("state", {}).get(ROUTE_STATE_KEY)
    if chosen is not None:
        return str(chosen)
    path = getattr(scope.get("route"), "path", None)
    if path is not None:
        return str(path)
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return UNMATCHED
    if endpoint not in _templates:
        routes = getattr(scope.get("app"), "routes", [])
        found = [r.path for r in routes if getattr(r, "endpoint", None) is endpoint]
        _templates[endpoint] = found[0] if found else UNMATCHED
    return _templates[endpoint]


@contextlib.asynccontextmanager
async def metrics_server(host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """Serve ``GET /metrics`` on its own port: for the gateway and the embedded mode, whose
    main port is public."""
    app = Starlette(routes=[Route(METRICS_PATH, metrics_response)])
    async with serving(app, host, port) as server:
        yield server


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """A second HTTP server in this event loop, returned once its port is bound."""
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    )
    # _serve, not serve: the main server keeps the process's signal handlers (serve would take
    # them over for its life), and stops this one from its lifespan.
    task = asyncio.create_task(server._serve(), name=f"http:{port}")
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"the server on {host}:{port} stopped at start")
        await asyncio.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        await task
