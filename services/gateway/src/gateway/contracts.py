"""The event contracts, public like the OpenAPI document: the AsyncAPI 3.0 document of the topics
and the JSON Schema each record names in its ``ce_dataschema``. Both ship inside bp_common
(``make contracts`` writes them), so every image serves the contracts of the code it runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bp_common.errors import NotFound
from bp_common.events.contract import published_asyncapi, published_schema

router = APIRouter(include_in_schema=False)


class EventSchemaNotFound(NotFound):
    code = "event_schema_not_found"


@router.get("/v1/asyncapi.json")
async def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the event topics, their dead-letter topics and messages."""
    return published_asyncapi()


@router.get("/v1/events/schemas/{name}")
async def event_schema(name: str) -> JSONResponse:
    """``/v1/events/schemas/plan.activity.hosted.v1.json``: the JSON Schema of that event's data."""
    schema = published_schema(name.removesuffix(".json")) if name.endswith(".json") else None
    if schema is None:
        raise EventSchemaNotFound(f"No event schema named {name}; see /v1/asyncapi.json.")
    return JSONResponse(schema, media_type="application/schema+json")
