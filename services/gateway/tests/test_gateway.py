import httpx

from .conftest import AUTH, KEY


async def test_requests_without_a_valid_key_are_401_problems(gateway: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        response = await gateway.get("/v1/meetings", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_routes_to_the_owning_service_with_a_signed_identity(
    gateway: httpx.AsyncClient,
) -> None:
    response = await gateway.post(
        "/v1/results/import?dry_run=true",
        content=b'{"results": []}',
        headers=AUTH | {"x-request-id": "req-42"},
    )
    echoed = response.json()
    assert echoed["path"] == "/v1/results/import"
    assert echoed["query"] == "dry_run=true"
    assert echoed["body"] == '{"results": []}'
    assert echoed["role"] == "secretariat"
    assert echoed["request_id"] == "req-42"
    assert echoed["saw_authorization"] is False
    assert response.headers["x-request-id"] == "req-42"


async def test_unknown_paths_are_404_problems(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["code"] == "no_such_route"


async def test_a_service_down_is_a_502_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/plans", headers=AUTH)
    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unavailable"
    assert "plan" in response.json()["detail"]


async def test_a_slow_service_is_a_504_problem(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/meetings/slow", headers=AUTH)
    assert response.status_code == 504
    assert response.json()["code"] == "upstream_timeout"


async def test_an_oversized_body_is_413(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/v1/results/import", content=b"x" * 2000, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_readiness_names_the_service_that_is_down(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["plan"] is False
    assert (await gateway.get("/healthz")).status_code == 200


async def test_paths_are_forwarded_as_the_caller_encoded_them(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/v1/meetings/%1C%C3%B5%2Fx", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["path"] == "/v1/meetings/\x1cõ/x"
