"""One OpenAPI document for the whole platform: the gateway's own operations and every
service's, with their schemas (renamed where two services use one name for different shapes),
the bearer security scheme, and the problem+json error answers every operation can give."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bp_common.errors import PROBLEM_JSON, Problem, ServiceUnavailable
from gateway.proxy import Upstreams
from gateway.routing import Upstream

SCHEMA_REF = "#/components/schemas/"
# Every operation behind the gateway can be refused or fail at the edge in these ways.
EDGE_ERRORS = {
    "400": "Bad request",
    "401": "Missing, invalid, expired or revoked API key",
    "403": "The key's role or binding does not allow this",
    "404": "Not found",
    "409": "Conflicts with the resource's current state",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "Validation failed; `errors` lists each field",
    "429": "Rate limit exceeded; see Retry-After",
    "502": "A service behind the gateway is unavailable",
    "503": "A service or its database is unavailable",
    "504": "A service behind the gateway did not answer in time",
}


async def merged_openapi(app: FastAPI, upstreams: Upstreams) -> dict[str, Any]:
    cached: dict[str, Any] | None = getattr(app.state, "merged_openapi", None)
    if cached is not None:
        return cached
    documents = {"gateway": get_openapi(title=app.title, version=app.version, routes=app.routes)}
    for upstream in Upstream:
        document = await upstreams.fetch_openapi(upstream)
        if document is None:
            raise ServiceUnavailable(
                f"The {upstream.value} service's API description is unavailable; retry shortly.",
                code="openapi_unavailable",
                headers={"Retry-After": "2"},
            )
        documents[upstream.value] = document
    merged = merge(documents)
    app.state.merged_openapi = merged
    return merged


def merge(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Problem": Problem.model_json_schema(ref_template=SCHEMA_REF + "{model}")
    }
    schemas.update(schemas["Problem"].pop("$defs", {}))
    paths: dict[str, Any] = {}
    for owner, document in documents.items():
        document = _renamed_conflicts(owner, document, schemas)
        schemas.update(document.get("components", {}).get("schemas", {}))
        paths.update(document.get("paths", {}))
    for path_item in paths.values():
        for operation in path_item.values():
            _secure(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Budapest Process platform API",
            "version": "1.0.0",
            "description": "Meetings, the Implementation Plan and the Results-oriented Learning "
            "Tool of the Budapest Process. Errors are RFC 9457 problem details.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."}
            },
        },
        "security": [{"bearer": []}],
    }


def _renamed_conflicts(
    owner: str, document: dict[str, Any], known: dict[str, Any]
) -> dict[str, Any]:
    """Prefix the owner's schema names that another document defines differently."""
    own = document.get("components", {}).get("schemas", {})
    renames = {
        name: f"{owner}_{name}"
        for name, schema in own.items()
        if name in known and known[name] != schema
    }
    if not renames:
        return document
    text = orjson.dumps(document).decode()
    for old, new in renames.items():
        text = text.replace(f'"{SCHEMA_REF}{old}"', f'"{SCHEMA_REF}{new}"')
    renamed: dict[str, Any] = orjson.loads(text)
    schemas = renamed["components"]["schemas"]
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    return renamed


def _secure(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    problem = {PROBLEM_JSON: {"schema": {"$ref": SCHEMA_REF + "Problem"}}}
    for status, description in EDGE_ERRORS.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = copy.deepcopy(problem)
            response.setdefault("description", EDGE_ERRORS.get(status, "Error"))
