"""HTTP as the contract and RFC 9110 say, through the gateway of the embedded platform: 405 with
`Allow` for a known path's unserved method (a service's path or the gateway's own), 404 for an
unknown path, OPTIONS answered with `Allow` (CORS preflights by the CORS middleware), dates and
booleans only in their textual form, and an OpenAPI document that says what the server checks."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bp_common.testing import running
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_http-semantics"
AUTH = {"Authorization": f"Bearer {KEY}"}
PROBLEM = "application/problem+json"
SOME_ID = str(uuid.UUID(int=1))


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """One platform for the module: the tests only read, or write what no other test reads."""
    embedded = EmbeddedPlatform(tmp_path_factory.mktemp("http"), KEY, load_demo_data=False)
    async with running(embedded.gateway) as client:
        yield client


def allowed(response: httpx.Response) -> list[str]:
    return [method.strip() for method in response.headers["allow"].split(",")]


@pytest.mark.parametrize(
    ("method", "path", "serves"),
    [
        # A service's paths, answered by the service behind the gateway.
        ("DELETE", "/v1/meetings", ["GET", "POST", "OPTIONS"]),
        ("PUT", f"/v1/meetings/{SOME_ID}", ["GET", "PATCH", "OPTIONS"]),
        ("TRACE", f"/v1/meetings/{SOME_ID}/hold", ["POST", "OPTIONS"]),
        ("GET", "/v1/results/import", ["POST", "OPTIONS"]),
        # The gateway's own.
        ("PUT", "/v1/api-keys", ["GET", "POST", "OPTIONS"]),
        ("POST", f"/v1/api-keys/{SOME_ID}", ["DELETE", "GET", "PATCH", "OPTIONS"]),
        ("DELETE", "/v1/dashboard/summary", ["GET", "OPTIONS"]),
    ],
)
async def test_an_unserved_method_on_a_known_path_is_405_with_allow(
    gateway: httpx.AsyncClient, method: str, path: str, serves: list[str]
) -> None:
    response = await gateway.request(method, path, headers=AUTH)
    assert response.status_code == 405, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "method_not_allowed"
    assert allowed(response) == serves
    options = await gateway.options(path, headers=AUTH)
    assert (options.status_code, allowed(options)) == (204, serves)


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "/v1/nothing-here", "no_such_route"),
        ("DELETE", "/v1/nothing-here", "no_such_route"),
        ("OPTIONS", "/v1/nothing-here", "no_such_route"),
        ("GET", f"/v1/meetings/{SOME_ID}/no-such-thing", "not_found"),
        ("PATCH", "/v1/plans/a/b/c/d/e", "not_found"),
    ],
)
async def test_an_unknown_path_stays_404_whatever_the_method(
    gateway: httpx.AsyncClient, method: str, path: str, code: str
) -> None:
    response = await gateway.request(method, path, headers=AUTH)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code
    assert "allow" not in response.headers


async def test_a_cors_preflight_is_answered_by_the_cors_middleware_without_a_key(
    gateway: httpx.AsyncClient,
) -> None:
    preflight = await gateway.options(
        "/v1/meetings",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    # A plain OPTIONS is an API request like any other: it needs a key.
    assert (await gateway.options("/v1/meetings")).status_code == 401


@pytest.mark.parametrize("value", ["0", "1577836800", "20200101", "2020-1-1", "2020-01-01T00:00"])
@pytest.mark.parametrize("path", ["/v1/meetings", "/v1/calendar", "/v1/calendar.ics"])
async def test_a_date_filter_takes_only_an_iso_date(
    gateway: httpx.AsyncClient, path: str, value: str
) -> None:
    for name in ("from", "to"):
        response = await gateway.get(path, params={name: value}, headers=AUTH)
        assert response.status_code == 422, (name, value, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "validation_failed"
        [error] = response.json()["errors"]
        assert error["loc"] == ["query", name]
        assert error["code"] == "date_format"
    assert (await gateway.get(path, params={"to": "2020-01-01"}, headers=AUTH)).status_code == 200


async def test_a_date_in_a_body_is_iso_text_not_a_number(gateway: httpx.AsyncClient) -> None:
    meeting = {
        "title": "SOM",
        "kind": "senior_officials_meeting",
        "starts_on": "2019-12-04",
        "ends_on": "2019-12-05",
        "city": "Istanbul",
        "country": "TR",
    }
    for starts_on in (0, 1575417600, "1575417600", "2019-12-04T00:00:00Z"):
        refused = await gateway.post(
            "/v1/meetings", json=meeting | {"starts_on": starts_on}, headers=AUTH
        )
        assert refused.status_code == 422, (starts_on, refused.text)
        assert refused.json()["errors"][0]["loc"] == ["body", "starts_on"]
    assert (await gateway.get("/v1/meetings", headers=AUTH)).json()["items"] == []
    assert (await gateway.post("/v1/meetings", json=meeting, headers=AUTH)).status_code == 201
    expires = {"name": "x", "role": "viewer", "expires_at": 1893456000}
    assert (await gateway.post("/v1/api-keys", json=expires, headers=AUTH)).status_code == 422


@pytest.mark.parametrize("value", ["1", "0", "yes", "no", "on", "True", "FALSE", "t", ""])
async def test_a_boolean_query_takes_only_true_or_false(
    gateway: httpx.AsyncClient, value: str
) -> None:
    response = await gateway.get("/v1/api-keys", params={"include_revoked": value}, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["code"] == "bool_format"
    dry_run = await gateway.post(
        "/v1/results/import", params={"dry_run": value}, json={"results": []}, headers=AUTH
    )
    assert dry_run.status_code == 422, dry_run.text
    for accepted in ("true", "false"):
        ok = await gateway.get("/v1/api-keys", params={"include_revoked": accepted}, headers=AUTH)
        assert ok.status_code == 200


async def test_a_boolean_in_a_body_is_json_true_or_false(gateway: httpx.AsyncClient) -> None:
    indicator = {
        "code": "IMM-1",
        "title": "Meetings held",
        "level": "output",
        "goal": 1,
        "measure": "unit",
        "aggregation": "sum",
        "targets": [],
        "source": "reported",
    }
    for value in ("true", 1, 0, "yes"):
        refused = await gateway.post(
            "/v1/indicators", json=indicator | {"cumulative": value}, headers=AUTH
        )
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["errors"][0]["loc"] == ["body", "cumulative"]
    created = await gateway.post(
        "/v1/indicators", json=indicator | {"cumulative": True}, headers=AUTH
    )
    assert created.status_code == 201, created.text


def _parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    [parameter] = [p for p in document["paths"][path][method]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = parameter["schema"]
    # An optional filter is anyOf [its type, null]: the checks are on the first.
    return schema["anyOf"][0] if "anyOf" in schema else schema


async def test_the_openapi_document_says_what_the_server_checks(
    gateway: httpx.AsyncClient,
) -> None:
    document = (await gateway.get("/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]

    country = _parameter(document, "get", "/v1/meetings", "country")["pattern"]
    assert [bool(re.fullmatch(country, code)) for code in ("TR", "BG", "XK", "ZZ", "TUR")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert schemas["MeetingCreate"]["properties"]["country"]["pattern"] == country
    host = _parameter(document, "get", "/v1/plans/{plan_id}/activities", "host")
    assert host["pattern"] == country
    acronym = schemas["OrganisationCreate"]["properties"]["acronym"]
    assert acronym["not"] == {"pattern": country}  # an acronym that is a country code: 422

    # Acronyms in any case: the server takes `iom` as IOM.
    organisation = _parameter(document, "get", "/v1/projects", "organisation")
    assert organisation["pattern"] == "^[A-Za-z][A-Za-z0-9.&-]{0,19}$"
    proposer = _parameter(document, "get", "/v1/plans/{plan_id}/amendments", "proposer")
    assert proposer["pattern"] == "^[A-Za-z][A-Za-z0-9.&-]{1,19}$"
    goals = schemas["ProjectCreate"]["properties"]["goals"]
    assert (goals["uniqueItems"], goals["items"]["maximum"]) == (True, 99)
    meeting_update = schemas["MeetingUpdate"]["properties"]
    # May be left out, not cleared: no null; an optional one may be.
    assert meeting_update["starts_on"] == {"type": "string", "format": "date", "title": "Starts On"}
    assert {"type": "null"} in meeting_update["chair"]["anyOf"]

    period = _parameter(document, "get", "/v1/results", "period")
    assert period["pattern"] == r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
    by = _parameter(document, "get", "/v1/rollups", "by")
    assert "organisation" in by["pattern"]

    limit = _parameter(document, "get", "/v1/meetings", "limit")
    assert (limit["minimum"], limit["maximum"]) == (1, 500)
    assert _parameter(document, "get", "/v1/meetings", "cursor")["pattern"] == "^[A-Za-z0-9_-]*$"
    assert _parameter(document, "get", "/v1/meetings", "to")["format"] == "date"
    assert _parameter(document, "get", "/v1/api-keys", "include_revoked")["type"] == "boolean"

    key_limit = schemas["ApiKeyCreate"]["properties"]["rate_limit_per_minute"]["anyOf"][0]
    assert (key_limit["minimum"], key_limit["maximum"]) == (1, 1_000_000)
    patch = document["paths"]["/v1/api-keys/{id}"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ApiKeyUpdate"
    }


async def test_the_rules_beyond_the_schema_are_documented_with_their_codes(
    gateway: httpx.AsyncClient,
) -> None:
    paths = (await gateway.get("/v1/openapi.json")).json()["paths"]

    def response(method: str, path: str, status: str) -> dict[str, Any]:
        answer: dict[str, Any] = paths[path][method]["responses"][status]
        assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        return answer

    assert "`invalid_period`" in response("get", "/v1/calendar", "422")["description"]
    assert (
        "`ends_on` is before `starts_on`" in response("post", "/v1/meetings", "422")["description"]
    )
    patch_meeting = response("patch", "/v1/meetings/{meeting_id}", "409")["description"]
    assert "`agenda_beyond_dates`" in patch_meeting
    assert (
        "`unknown_version`"
        in response("post", "/v1/plans/{plan_id}/amendments", "422")["description"]
    )
    assert (
        "`idempotency_key_reused`" in response("post", "/v1/results/import", "409")["description"]
    )
    assert (
        "a partner key without an organisation"
        in response("post", "/v1/api-keys", "422")["description"]
    )
    cursor = [p for p in paths["/v1/meetings"]["get"]["parameters"] if p["name"] == "cursor"]
    assert "`invalid_cursor`" in cursor[0]["description"]
