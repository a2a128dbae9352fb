"""What every service process is made of, and the FastAPI app around it.

A service declares a :class:`ServiceSpec` (its routers, metadata, migrations, the events it
consumes); :func:`create_service_app` turns it into an app whose lifespan opens the database,
applies migrations where asked, subscribes the inbox dispatcher and starts the outbox relay."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import Database, is_connection_problem
from bp_common.errors import (
    PROBLEM_RESPONSES,
    Forbidden,
    ServiceUnavailable,
    Unauthenticated,
    install_problem_handlers,
)
from bp_common.events.bus import EventBus, RetryPolicy
from bp_common.events.contract import Event
from bp_common.events.inbox import InboxDispatcher, SessionHandler
from bp_common.events.kafka_bus import KafkaBus, KafkaConfig
from bp_common.events.memory_bus import InMemoryBus
from bp_common.events.outbox import Outbox, OutboxRelay, service_outbox
from bp_common.events.store import MessagingTables
from bp_common.middleware import RequestIdMiddleware
from bp_common.migrations import upgrade_to_head
from bp_common.observability import metrics, tracing
from bp_common.request_context import set_actor
from bp_common.security import IDENTITY_HEADER, Identity, Role, verify_identity
from bp_common.settings import BusKind, ServiceSettings

logger = logging.getLogger(__name__)


class Worker(Protocol):
    """A background task of a service (beside the outbox relay), started after the migrations
    and stopped before the database closes."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


W = TypeVar("W", bound=Worker)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    metadata: MetaData
    messaging: MessagingTables
    migrations: Path
    routers: Sequence[APIRouter]
    # Read from the environment when the app is given no settings.
    settings_class: type[ServiceSettings]
    # event type -> handler(session, event); the service's consumer group subscribes to their topics
    handlers: Mapping[str, SessionHandler] = field(default_factory=dict)
    publishes: Sequence[str] = ()
    # The events it publishes, one model per type and version (its published contract).
    events: Sequence[type[Event]] = ()
    # Deletes what the handlers built from events (its read models), so that a replay from
    # offset 0 rebuilds it (`bpctl replay`). None: the handlers create the service's own
    # records, which a replay must not re-create.
    reset_read_models: Callable[[AsyncSession], Awaitable[None]] | None = None
    # Background workers, each built from the live runtime.
    workers: Sequence[Callable[[ServiceRuntime], Worker]] = ()


class ServiceRuntime:
    """The live parts of one service instance."""

    def __init__(self, spec: ServiceSpec, settings: ServiceSettings, bus: EventBus) -> None:
        self.spec = spec
        self.settings = settings
        self.bus = bus
        # Parsed once: a PEM public key would otherwise be parsed at every request.
        self.identity_key = settings.identity_verification_key()
        self.database = Database(settings.database_url, pool_size=settings.database_pool_size)
        tracing.instrument_engine(self.database.engine)
        self.outbox = service_outbox(spec.messaging, spec.name)
        self.relay = OutboxRelay(
            self.database,
            spec.messaging.outbox,
            bus,
            batch_size=settings.outbox_batch_size,
            poll_interval_s=settings.outbox_poll_interval_s,
            max_backoff_s=settings.outbox_max_backoff_s,
            crash_before_publish_after=settings.crash_before_outbox_publish_after,
            service=spec.name,
        )
        self.dispatcher = InboxDispatcher(
            self.database,
            spec.messaging.inbox,
            group=settings.consumer_group or spec.name,
            handlers=spec.handlers,
        )
        self.workers = [factory(self) for factory in spec.workers]

    def worker(self, kind: type[W]) -> W:
        """The running worker of that class."""
        return next(worker for worker in self.workers if isinstance(worker, kind))

    async def start(self, *, migrate: bool) -> None:
        if migrate:
            await upgrade_to_head(self.database, self.spec.migrations)
        if self.spec.handlers:
            self.bus.subscribe(self.dispatcher.topics, self.dispatcher.group, self.dispatcher)
        if isinstance(self.bus, KafkaBus):
            self.bus.declare_topics(self.spec.publishes)
        if self.settings.outbox_relay:
            self.relay.start()
        for worker in self.workers:
            worker.start()
        metrics.register_refresher(self.refresh_metrics)

    async def stop(self) -> None:
        metrics.unregister_refresher(self.refresh_metrics)
        for worker in self.workers:
            await worker.stop()
        await self.relay.stop()
        await self.database.dispose()

    async def refresh_metrics(self) -> None:
        """The gauges a scrape reads: outbox backlog, pool in use, the consumer group's lag."""
        name = self.spec.name
        metrics.DB_POOL_IN_USE.labels(name).set(self.database.connections_in_use())
        pending, oldest = await self.relay.backlog()
        metrics.OUTBOX_PENDING.labels(name).set(pending)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(name).set(max(age, 0.0))
        if self.spec.handlers:
            group = self.dispatcher.group
            for (topic, partition), lag in (await self.bus.partition_lag(group)).items():
                metrics.CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)


def build_bus(settings: ServiceSettings) -> EventBus:
    retry = RetryPolicy(settings.consumer_max_attempts, settings.consumer_retry_backoff_s)
    if settings.bus is BusKind.KAFKA:
        return KafkaBus(
            KafkaConfig(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                namespace=settings.kafka_namespace,
                client_id=settings.service_name,
                request_timeout_s=settings.kafka_request_timeout_s,
                crash_before_offset_commit_after=settings.crash_before_offset_commit_after,
            ),
            retry,
        )
    return InMemoryBus(retry)


def create_service_app(
    spec: ServiceSpec,
    settings: ServiceSettings | None = None,
    *,
    bus: EventBus | None = None,
    migrate: bool | None = None,
) -> FastAPI:
    """The service's app. With ``bus`` given (embedded mode) the caller owns the bus's lifecycle;
    otherwise the app builds one from the settings and starts and stops it itself. A service's
    ``create_app`` is this function with its spec bound."""
    settings = settings or spec.settings_class()
    owns_bus = bus is None
    runtime = ServiceRuntime(spec, settings, bus or build_bus(settings))
    should_migrate = settings.is_sqlite if migrate is None else migrate

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(migrate=should_migrate)
        if owns_bus:
            await runtime.bus.start()
        try:
            yield
        finally:
            if owns_bus:
                await runtime.bus.stop()
            await runtime.stop()

    app = FastAPI(
        title=spec.title,
        version="1.0.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
        openapi_url="/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.database = runtime.database
    # The gateway counts its requests under the template the service names.
    app.add_middleware(RequestIdMiddleware, service=spec.name, announce_route=True)
    install_problem_handlers(app)
    for router in spec.routers:
        app.include_router(router)
    tracing.instrument_app(app)
    # On the service's own port, which the gateway does not route to: never public.
    app.add_api_route(
        metrics.METRICS_PATH, metrics.metrics_response, methods=["GET"], include_in_schema=False
    )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = {"database": await runtime.database.ping(), "bus": await runtime.bus.healthy()}
        ready = all(checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
        if spec.handlers:
            # Reported, never judged: read models behind their events still answer.
            body["consumer_lag"] = await runtime.bus.lag(runtime.dispatcher.group)
        return JSONResponse(body, status_code=200 if ready else 503)

    return app


# -- dependencies shared by every service's routers ----------------------------------------------
#
# Every dependency is ``async def``, here and in the services' routers, though none awaits: FastAPI
# runs a plain ``def`` dependency in a worker thread, and profiled under load that hand-off (three
# per request on a typical read) cost more than the work itself.


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    try:
        async with database.transaction() as session:
            yield session
    except (DBAPIError, OSError) as exc:
        if not is_connection_problem(exc):
            raise
        logger.warning("database unavailable: %r", exc)
        raise ServiceUnavailable(
            "The database is unavailable; nothing was stored. Retry shortly.",
            code="database_unavailable",
            headers={"Retry-After": "1"},
        ) from exc


async def _outbox(request: Request) -> Outbox:
    return runtime_of(request).outbox


async def _identity(request: Request) -> Identity:
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        raise Unauthenticated("This service is reached through the gateway only.")
    runtime = runtime_of(request)
    identity = verify_identity(
        token,
        runtime.identity_key,
        audience=runtime.settings.service_name,
        algorithm=runtime.settings.identity_algorithm,
    )
    # The events this request emits name who caused them (``ce_actor``), as they name the request.
    # Set in the request's own task, so it ends with the request.
    set_actor(identity.principal)
    return identity


async def _writer(identity: Annotated[Identity, Depends(_identity)]) -> Identity:
    if not identity.can_write:
        raise Forbidden("This key is read-only.", code="read_only_key")
    return identity


async def _secretariat(identity: Annotated[Identity, Depends(_identity)]) -> Identity:
    if identity.role is not Role.SECRETARIAT:
        raise Forbidden("Only the Secretariat may do this.", code="secretariat_only")
    return identity


# scope="function": the commit runs before the answer is sent, so nothing is acknowledged that
# was not stored.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]
OutboxDep = Annotated[Outbox, Depends(_outbox)]
IdentityDep = Annotated[Identity, Depends(_identity)]
WriterDep = Annotated[Identity, Depends(_writer)]
SecretariatDep = Annotated[Identity, Depends(_secretariat)]
