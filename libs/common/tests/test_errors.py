"""Every refusal is problem+json; the database's own refusals are the caller's 4xx, not a 500."""

import sqlite3

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy.exc import DataError, IntegrityError

from bp_common.errors import Conflict, install_problem_handlers


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise error

    @app.get("/typed/{number}")
    async def typed(number: int) -> int:
        return number

    return app


async def call(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_domain_errors_carry_their_status_and_code() -> None:
    response = await call(app_raising(Conflict("taken", code="already_taken")), "/boom")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["detail"], body["title"]) == ("already_taken", "taken", "Conflict")
    assert body["type"].endswith("/already_taken")


async def test_validation_errors_point_at_the_field() -> None:
    response = await call(app_raising(RuntimeError()), "/typed/seven")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["path", "number"]


async def test_database_refusals_are_client_errors() -> None:
    nul = DataError("INSERT", {}, sqlite3.DataError("invalid byte sequence 0x00"))
    duplicate = IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert (await call(app_raising(nul), "/boom")).json()["code"] == "invalid_value"
    assert (await call(app_raising(duplicate), "/boom")).status_code == 409


async def test_a_bug_is_a_500_problem_without_internals() -> None:
    response = await call(app_raising(KeyError("secret internals")), "/boom")
    assert response.status_code == 500
    assert "secret" not in response.text
    assert response.json()["code"] == "internal_error"


def app_with_routers() -> FastAPI:
    """A path served by two routes (of an included router, as the services' are) and another
    by one: Starlette's own 405 would list the first route's methods only."""
    router = APIRouter(prefix="/things")

    @router.get("")
    async def list_things() -> list[int]:
        return []

    @router.post("")
    async def add_thing() -> int:
        return 1

    @router.get("/{number}")
    async def get_thing(number: int) -> int:
        return number

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    return app


async def test_an_unserved_method_is_405_with_every_method_the_path_serves() -> None:
    transport = httpx.ASGITransport(app=app_with_routers())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for method in ("DELETE", "PUT", "PATCH", "TRACE"):
            refused = await client.request(method, "/things")
            assert refused.status_code == 405
            assert refused.headers["allow"] == "GET, POST, OPTIONS"
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "method_not_allowed"
        single = await client.post("/things/7")
        assert (single.status_code, single.headers["allow"]) == (405, "GET, OPTIONS")
        options = await client.options("/things")
        assert (options.status_code, options.headers["allow"]) == (204, "GET, POST, OPTIONS")
        assert options.content == b""
        unknown = await client.request("DELETE", "/nothing")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        assert "allow" not in unknown.headers
