from typing import Any

import pytest

from bp_common.security import Role
from bp_common.testing import identity_headers

from .conftest import Api

COMPONENTS = [
    {"code": "SRF", "title": "Silk Routes Facility", "kind": "facility"},
    {"code": "G1", "title": "Grant under goal 1", "kind": "grant", "parent": "SRF", "goal": 1},
    {"code": "MRC", "title": "Migrant Resource Centres", "kind": "flagship", "countries": ["AF"]},
]


async def test_a_project_with_components_is_created_read_and_listed(api: Api) -> None:
    created = await api.project(components=COMPONENTS, implementing_organisations=["iom", "ICMPD"])
    assert created["implementing_organisations"] == ["ICMPD", "IOM"]
    assert created["budget"] == {"amount": 12000000, "currency": "EUR"}
    assert [c["code"] for c in created["components"]] == ["G1", "MRC", "SRF"]
    assert next(c for c in created["components"] if c["code"] == "G1")["parent"] == "SRF"
    fetched = await api.client.get("/v1/projects/IMM-SR", headers=api.VIEWER)
    assert fetched.json() == created
    listed = await api.client.get("/v1/projects", headers=api.VIEWER)
    assert [p["code"] for p in listed.json()["items"]] == ["IMM-SR"]


async def test_projects_filter_by_organisation_country_and_goal(api: Api) -> None:
    await api.project()
    await api.project(
        code="GLO.ACT",
        implementing_organisations=["UNODC"],
        countries=["AF", "IR"],
        goals=[5],
    )

    async def codes(**params: Any) -> list[str]:
        page = await api.client.get("/v1/projects", params=params, headers=api.VIEWER)
        return [p["code"] for p in page.json()["items"]]

    assert await codes(organisation="unodc") == ["GLO.ACT"]
    assert await codes(country="AF") == ["GLO.ACT", "IMM-SR"]
    assert await codes(country="PK") == ["IMM-SR"]
    assert await codes(goal=5) == ["GLO.ACT", "IMM-SR"]
    assert await codes(goal=2) == ["IMM-SR"]
    assert await codes(limit=1) == ["GLO.ACT"]
    first = await api.client.get("/v1/projects", params={"limit": 1}, headers=api.VIEWER)
    second = await api.client.get(
        "/v1/projects",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=api.VIEWER,
    )
    assert [p["code"] for p in second.json()["items"]] == ["IMM-SR"]
    assert second.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"countries": ["XX"]}, "countries"),
        ({"countries": []}, "countries"),
        ({"goals": [1, 1]}, "goals"),
        ({"budget": {"amount": 10, "currency": "EURO"}}, "currency"),
        ({"budget": {"amount": -1, "currency": "EUR"}}, "amount"),
        ({"ends_on": "2018-12-31"}, "body"),
        ({"implementing_organisations": []}, "implementing_organisations"),
        ({"components": [{"code": "G", "title": "g", "kind": "grant", "parent": "F"}]}, "body"),
        ({"components": [{"code": "G", "title": "g", "kind": "grant", "goal": 6}]}, "body"),
        ({"components": [{"code": "G", "title": "g", "kind": "loan"}]}, "kind"),
        ({"code": "has space"}, "code"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_invalid_projects_are_refused_and_nothing_is_stored(
    api: Api, override: dict[str, Any], field: str
) -> None:
    response = await api.client.post(
        "/v1/projects", json=api.PROJECT | override, headers=api.SECRETARIAT
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(field in [str(p) for p in error["loc"]] for error in response.json()["errors"])
    assert (await api.client.get("/v1/projects", headers=api.VIEWER)).json()["items"] == []


async def test_goals_must_exist_and_codes_are_unique(api: Api) -> None:
    unknown = await api.client.post(
        "/v1/projects", json=api.PROJECT | {"goals": [7]}, headers=api.SECRETARIAT
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_goal"
    assert unknown.json()["errors"][0]["loc"] == ["body", "goals", 0]
    await api.project()
    again = await api.client.post("/v1/projects", json=api.PROJECT, headers=api.SECRETARIAT)
    assert again.status_code == 409
    assert again.json()["code"] == "project_exists"


async def test_only_the_secretariat_creates_projects(api: Api) -> None:
    partner = identity_headers(Role.PARTNER, organisation="IOM")
    response = await api.client.post("/v1/projects", json=api.PROJECT, headers=partner)
    assert response.status_code == 403
    assert (await api.client.get("/v1/projects", headers=api.VIEWER)).json()["items"] == []
    missing = await api.client.get("/v1/projects/NOPE", headers=api.VIEWER)
    assert missing.status_code == 404
    assert missing.json()["code"] == "project_not_found"
    assert (await api.client.get("/v1/projects")).status_code == 401
