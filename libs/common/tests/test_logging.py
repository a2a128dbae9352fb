import json
import logging

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from bp_common.logging import JsonFormatter
from bp_common.middleware import RequestIdMiddleware
from bp_common.request_context import current_request_id


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "held %s", ("m1",), None)
    record.status = 200
    line = json.loads(JsonFormatter("meetings-api").format(record))
    assert line["message"] == "held m1"
    assert line["service"] == "meetings-api"
    assert line["status"] == 200
    assert "request_id" not in line


def test_json_lines_carry_the_trace_and_span_of_the_work_in_progress() -> None:
    context = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "applied", (), None)
    with trace.use_span(NonRecordingSpan(context)):
        line = json.loads(JsonFormatter("meetings-api").format(record))
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["span_id"] == "b7ad6b7169203331"
    untraced = json.loads(JsonFormatter("meetings-api").format(record))
    assert "trace_id" not in untraced


async def test_the_request_id_is_taken_or_made_and_returned(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="bp.access")
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)

    @app.get("/")
    async def index() -> dict[str, str | None]:
        return {"seen": current_request_id()}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        given = await client.get("/", headers={"x-request-id": "abc-123"})
        made = await client.get("/")
        unsafe = await client.get("/", headers={"x-request-id": "bad id\nwith newline"})
    assert given.json()["seen"] == given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"
    access = [r for r in caplog.records if r.name == "bp.access"]
    assert access[0].status == 200  # type: ignore[attr-defined]
