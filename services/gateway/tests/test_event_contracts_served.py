"""The gateway serves the event contracts packaged in bp_common, without a key (like OpenAPI)."""

import json
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[3]


async def test_the_asyncapi_document_is_served_as_committed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/asyncapi.json", headers={"Authorization": ""})
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"] == "3.0.0"
    assert document == json.loads((REPO / "contracts" / "asyncapi.json").read_text())


async def test_each_event_schema_is_served_at_its_dataschema_path(
    gateway: httpx.AsyncClient,
) -> None:
    committed = json.loads(
        (REPO / "contracts" / "events" / "plan.activity.hosted.v1.json").read_text()
    )
    path = httpx.URL(committed["$id"]).path
    assert path == "/v1/events/schemas/plan.activity.hosted.v1.json"
    response = await gateway.get(path, headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/schema+json"
    assert response.json() == committed


async def test_an_unknown_event_schema_is_a_404_problem(gateway: httpx.AsyncClient) -> None:
    for name in (
        "plan.activity.hosted.v9.json",
        "plan.activity.hosted.v1",
        "..plan.activity.hosted.v1.json",
    ):
        response = await gateway.get(f"/v1/events/schemas/{name}")
        assert response.status_code == 404, name
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "event_schema_not_found"
