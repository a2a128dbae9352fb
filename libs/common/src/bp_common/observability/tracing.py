"""OpenTelemetry traces: FastAPI, httpx and SQLAlchemy instrumented, and the trace carried
across the broker. A request's context is stored with its event in the outbox (the CloudEvents
distributed-tracing extension, ``traceparent``/``tracestate``), the relay publishes each event
under a producer span of that trace and sends the span's context as the Kafka header
``traceparent``, and the consumer's handler span continues it.

Off unless :func:`configure_tracing` is called with an exporter: then nothing is instrumented
and no span is made, so tracing costs nothing when it is not wanted."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from bp_common.events.envelope import CloudEvent

logger = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
# Probes and scrapes would drown the traces that matter.
_UNTRACED_URLS = "healthz,readyz,metrics"


class TracingExporter(StrEnum):
    NONE = "none"
    CONSOLE = "console"
    OTLP = "otlp"


# Not installed as OpenTelemetry's global provider (which can be set only once per process):
# every instrumentation is handed this one, so tests can turn tracing on and off again.
_provider: TracerProvider | None = None
_tracer: trace.Tracer = trace.NoOpTracer()


def enabled() -> bool:
    return _provider is not None


def configure_tracing(
    service: str,
    exporter: TracingExporter,
    *,
    otlp_endpoint: str | None = None,
    sample_ratio: float = 1.0,
    span_exporter: SpanExporter | None = None,
) -> None:
    """Install the process's tracer provider (once) and an exporter. ``span_exporter`` is for
    tests (an in-memory exporter); spans reach it as they end. Sampling follows the caller's
    decision when a request or an event carries one, else keeps ``sample_ratio`` of traces."""
    global _provider, _tracer
    chosen: SpanExporter | None = span_exporter
    if chosen is None and exporter is TracingExporter.CONSOLE:
        chosen = ConsoleSpanExporter()
    elif chosen is None and exporter is TracingExporter.OTLP:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        chosen = OTLPSpanExporter(endpoint=otlp_endpoint) if otlp_endpoint else OTLPSpanExporter()
    if chosen is None:
        return
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create({"service.name": service}),
            sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
        )
        _tracer = _provider.get_tracer("bp_common")
        # Clients made from now on (the gateway's upstream clients) send traceparent.
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(tracer_provider=_provider)
    _provider.add_span_processor(
        SimpleSpanProcessor(chosen) if span_exporter is not None else BatchSpanProcessor(chosen)
    )


def shutdown_tracing() -> None:
    """Export what is buffered and stop tracing what is made from now on (apps and clients
    instrumented already keep their spans)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    _provider.shutdown()
    _provider, _tracer = None, trace.NoOpTracer()


def instrument_app(app: FastAPI) -> None:
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=_UNTRACED_URLS)


def instrument_engine(engine: AsyncEngine) -> None:
    """Trace each statement of ``engine``. The engine tracer itself, not SQLAlchemyInstrumentor:
    that one instruments a single engine per process (a second call is refused), and the
    embedded mode has four; its declared range also stops below SQLAlchemy 2.1, whose engine
    events it uses are unchanged (the tracing integration test checks the handler's SQL)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    EngineTracer(
        _provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
        engine.sync_engine,
        NoOpMeter("bp_common").create_up_down_counter("db.client.connections.usage"),
    )


def current_trace_context() -> tuple[str | None, str | None]:
    """The W3C ``traceparent`` and ``tracestate`` of the work in progress (None, None when it is
    not traced): what an event written now stores in its envelope."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None, None
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get(TRACEPARENT), carrier.get(TRACESTATE)


def _context_of(event: CloudEvent) -> otel_context.Context | None:
    if not event.traceparent:
        return None
    carrier = {TRACEPARENT: event.traceparent}
    if event.tracestate:
        carrier[TRACESTATE] = event.tracestate
    return extract(carrier)


@contextlib.contextmanager
def publishing(events: Sequence[CloudEvent]) -> Iterator[list[CloudEvent]]:
    """One producer span per event, a child of the context stored with it; yields the events
    carrying their span's context, to be sent as the ``traceparent`` header. The spans end when
    the block does: after the bus's acknowledgement, or with the error that refused it."""
    if _provider is None:
        yield list(events)
        return
    spans: list[Span] = []
    traced: list[CloudEvent] = []
    for event in events:
        span = _tracer.start_span(
            f"{event.topic} publish",
            context=_context_of(event),
            kind=SpanKind.PRODUCER,
            attributes=_messaging_attributes(event),
        )
        spans.append(span)
        carrier: dict[str, str] = {}
        inject(carrier, context=trace.set_span_in_context(span))
        traced.append(
            replace(
                event,
                traceparent=carrier.get(TRACEPARENT, event.traceparent),
                tracestate=carrier.get(TRACESTATE, event.tracestate),
            )
        )
    try:
        yield traced
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, repr(exc)))
        raise
    finally:
        for span in spans:
            span.end()


@contextlib.contextmanager
def handling(event: CloudEvent, group: str) -> Iterator[None]:
    """The consumer's span for applying ``event``, continuing the trace its headers carry."""
    if _provider is None:
        yield
        return
    with _tracer.start_as_current_span(
        f"{event.topic} process",
        context=_context_of(event),
        kind=SpanKind.CONSUMER,
        attributes=_messaging_attributes(event) | {"messaging.consumer.group.name": group},
    ):
        yield


def _messaging_attributes(event: CloudEvent) -> dict[str, str]:
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": event.topic,
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_subject": event.subject,
    }
