from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bp_common.testing import running
from gateway.app import create_gateway_app

from .conftest import AUTH, gateway_settings


async def issue(gateway: httpx.AsyncClient, **body: object) -> dict[str, object]:
    response = await gateway.post("/v1/api-keys", json={"name": "test"} | body, headers=AUTH)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def test_an_issued_key_carries_its_role_and_binding_to_the_services(
    gateway: httpx.AsyncClient,
) -> None:
    key = await issue(gateway, role="partner", organisation="iom")
    echoed = (await gateway.get("/v1/results", headers=bearer(key))).json()
    assert (echoed["role"], echoed["organisation"], echoed["country"]) == ("partner", "IOM", None)
    assert echoed["principal"] == key["key_id"]
    member = await issue(gateway, role="member", country="bg")
    echoed = (await gateway.get("/v1/calendar", headers=bearer(member))).json()
    assert (echoed["role"], echoed["country"]) == ("member", "BG")


async def test_the_secret_is_shown_once_and_never_listed(gateway: httpx.AsyncClient) -> None:
    key = await issue(gateway, role="viewer")
    listed = (await gateway.get("/v1/api-keys", headers=AUTH)).json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "key" not in listed[0]
    assert str(key["key"]) not in str(listed)
    single = (await gateway.get(f"/v1/api-keys/{key['id']}", headers=AUTH)).json()
    assert "key" not in single


async def test_a_revoked_key_is_refused_on_its_next_request(gateway: httpx.AsyncClient) -> None:
    key = await issue(gateway, role="viewer")
    assert (await gateway.get("/v1/meetings", headers=bearer(key))).status_code == 200
    revoked = await gateway.delete(f"/v1/api-keys/{key['id']}", headers=AUTH)
    assert revoked.status_code == 204
    refused = await gateway.get("/v1/meetings", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["code"] == "api_key_revoked"
    listed = await gateway.get("/v1/api-keys", params={"include_revoked": True}, headers=AUTH)
    assert listed.json()["items"][0]["revoked_at"] is not None


async def test_an_expired_key_is_refused(gateway: httpx.AsyncClient) -> None:
    soon = datetime.now(UTC) - timedelta(seconds=1)
    key = await issue(gateway, role="viewer", expires_at=soon.isoformat())
    refused = await gateway.get("/v1/meetings", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["code"] == "api_key_expired"


async def test_a_forged_key_with_a_real_id_is_refused(gateway: httpx.AsyncClient) -> None:
    key = await issue(gateway, role="secretariat")
    forged = f"bp_{key['key_id']}_not-the-secret"
    response = await gateway.get("/v1/meetings", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


async def test_only_the_secretariat_manages_keys(gateway: httpx.AsyncClient) -> None:
    for role, binding in (
        ("partner", {"organisation": "IOM"}),
        ("member", {"country": "BG"}),
        ("viewer", {}),
    ):
        key = await issue(gateway, role=role, **binding)
        attempt = await gateway.post(
            "/v1/api-keys", json={"name": "x", "role": "secretariat"}, headers=bearer(key)
        )
        assert attempt.status_code == 403
        assert (await gateway.get("/v1/api-keys", headers=bearer(key))).status_code == 403
    assert len((await gateway.get("/v1/api-keys", headers=AUTH)).json()["items"]) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"role": "partner"},
        {"role": "member"},
        {"role": "member", "country": "XX"},
        {"role": "viewer", "country": "BG"},
        {"role": "secretariat", "organisation": "IOM"},
        {"role": "emperor"},
        {"role": "viewer", "expires_at": "2030-01-01T00:00:00"},
    ],
)
async def test_keys_whose_binding_does_not_fit_the_role_are_refused(
    gateway: httpx.AsyncClient, body: dict[str, object]
) -> None:
    response = await gateway.post("/v1/api-keys", json={"name": "x"} | body, headers=AUTH)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert (await gateway.get("/v1/api-keys", headers=AUTH)).json()["items"] == []


async def test_unknown_key_ids_are_404(gateway: httpx.AsyncClient) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await gateway.delete(f"/v1/api-keys/{missing}", headers=AUTH)).status_code == 404


async def test_past_the_rate_limit_the_answer_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, rate_limit_burst=3, rate_limit_per_minute=6)
    async with running(create_gateway_app(settings, clients={})) as gateway:
        statuses = [(await gateway.get("/v1/api-keys", headers=AUTH)).status_code for _ in range(4)]
        limited = await gateway.get("/v1/api-keys", headers=AUTH)
    assert statuses == [200, 200, 200, 429]
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


async def test_cors_allows_the_configured_dashboard_origin_only(gateway: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    allowed = await gateway.options(
        "/v1/meetings", headers=preflight | {"Origin": "http://localhost:3000"}
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = await gateway.options(
        "/v1/meetings", headers=preflight | {"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in refused.headers


class Clock:
    """Time for the rate limiter that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_gets_its_own_rate_limit_and_a_changed_one_applies_at_once(
    tmp_path: Path,
) -> None:
    clock = Clock()
    app = create_gateway_app(gateway_settings(tmp_path, rate_limit_per_minute=60))
    app.state.rate_limiter.clock = clock
    async with running(app) as gateway:
        key = await issue(gateway, role="viewer", rate_limit_per_minute=1)
        assert key["rate_limit_per_minute"] == 1
        # One a minute, and a burst no larger than that.
        assert (await gateway.get("/v1/openapi-less", headers=bearer(key))).status_code == 404
        limited = await gateway.get("/v1/api-keys", headers=bearer(key))
        assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
        assert limited.headers["retry-after"] == "60"

        raised = await gateway.patch(
            f"/v1/api-keys/{key['id']}", json={"rate_limit_per_minute": 120}, headers=AUTH
        )
        assert raised.status_code == 200, raised.text
        assert raised.json()["rate_limit_per_minute"] == 120
        clock.now += 1  # two tokens at the new rate; a sixtieth of one at the old
        assert (await gateway.get("/v1/nothing", headers=bearer(key))).status_code == 404

        # null: back to the gateway's default (60 a minute, burst 200 capped by nothing here).
        reset = await gateway.patch(
            f"/v1/api-keys/{key['id']}", json={"rate_limit_per_minute": None}, headers=AUTH
        )
        assert reset.json()["rate_limit_per_minute"] is None
        listed = (await gateway.get(f"/v1/api-keys/{key['id']}", headers=AUTH)).json()
        assert listed["rate_limit_per_minute"] is None


@pytest.mark.parametrize("limit", [0, -5, 1_000_001, "many", 1.5, [10]])
async def test_a_bad_rate_limit_is_a_422_problem_and_changes_nothing(
    gateway: httpx.AsyncClient, limit: object
) -> None:
    key = await issue(gateway, role="viewer", rate_limit_per_minute=100)
    for body in ({"rate_limit_per_minute": limit}, {"rate_limit_per_minute": 5, "role": "x"}, {}):
        refused = await gateway.patch(f"/v1/api-keys/{key['id']}", json=body, headers=AUTH)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "validation_failed"
    stored = (await gateway.get(f"/v1/api-keys/{key['id']}", headers=AUTH)).json()
    assert stored["rate_limit_per_minute"] == 100
    body = {"name": "x", "role": "viewer", "rate_limit_per_minute": limit}
    assert (await gateway.post("/v1/api-keys", json=body, headers=AUTH)).status_code == 422
    listed = (await gateway.get("/v1/api-keys", headers=AUTH)).json()["items"]
    assert [k["id"] for k in listed] == [key["id"]]


async def test_only_the_secretariat_changes_a_limit_of_a_key_that_exists(
    gateway: httpx.AsyncClient,
) -> None:
    viewer = await issue(gateway, role="viewer")
    body = {"rate_limit_per_minute": 10}
    forbidden = await gateway.patch(
        f"/v1/api-keys/{viewer['id']}", json=body, headers=bearer(viewer)
    )
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "secretariat_only")
    missing = await gateway.patch(
        "/v1/api-keys/00000000-0000-0000-0000-000000000000", json=body, headers=AUTH
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "api_key_not_found")
