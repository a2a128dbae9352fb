"""RFC 9457 problem details with stable codes, and the handlers that guarantee no input yields a 500
with a stack trace: every refusal is ``application/problem+json``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from bp_common.request_context import current_request_id

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://budapest-process.example/problems/"

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    loc: list[str | int]
    code: str
    message: str


class Problem(BaseModel):
    """The body of every error answer (documented in the OpenAPI)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """A refusal the domain understands. Subclasses fix the HTTP status and the stable code."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = errors
        self.headers = headers


class InvalidInput(DomainError):
    status = 422
    code = "validation_failed"


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        code=code,
        instance=instance,
        request_id=current_request_id(),
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "stale_revision",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    428: "if_match_required",
    429: "rate_limited",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(
            loc=[part if isinstance(part, str | int) else str(part) for part in err["loc"]],
            code=str(err.get("type", "invalid")),
            message=str(err.get("msg", "invalid value")),
        )
        for err in exc.errors()
    ]


def served_methods(request: Request) -> list[str]:
    """The methods the app serves at the request's path, from every route whose path matches.
    (Starlette's own 405 lists the methods of the first such route only, so ``GET`` for a path
    that also takes ``POST`` in another route.) A catch-all route (no methods) counts for none."""
    methods: set[str] = set()
    # Through FastAPI's contexts: the routes of an included router are not in app.router.routes.
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


def method_not_allowed(request: Request) -> Response:
    """A known path with a method it does not serve: 405 and ``Allow``. A plain ``OPTIONS`` (not
    a CORS preflight, which the CORS middleware answers first) gets the same ``Allow``, with 204."""
    allow = ", ".join([*served_methods(request), "OPTIONS"])
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": allow})
    return problem_response(
        405,
        "method_not_allowed",
        f"{request.url.path} does not serve {request.method}; it serves {allow}.",
        instance=request.url.path,
        headers={"Allow": allow},
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            exc.status,
            exc.code,
            exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            422,
            "validation_failed",
            "The request does not match the expected shape; see errors.",
            instance=request.url.path,
            errors=_field_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return method_not_allowed(request)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(
            exc.status_code,
            code,
            detail,
            instance=request.url.path,
            headers=dict(exc.headers) if exc.headers else None,
        )

    # Safety nets: the services validate before writing, but if the database still refuses a
    # value or a duplicate, that is the caller's input, not a server error.
    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        logger.warning("database refused a value on %s: %s", request.url.path, exc.orig)
        return problem_response(
            422, "invalid_value", "A value cannot be stored as given.", instance=request.url.path
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        logger.warning("integrity conflict on %s: %s", request.url.path, exc.orig)
        return problem_response(
            409,
            "conflict",
            "The request conflicts with data already stored.",
            instance=request.url.path,
        )

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        # A revisioned row changed between its read and this write (the services lock what they
        # correct, so this is the ORM's last line): the writer's view was stale.
        return problem_response(
            412,
            "stale_revision",
            "The record changed while this request was applied; read it again and retry. "
            "Nothing was changed.",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the caller's fault: log it whole, answer without internals.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "internal_error", "An unexpected error occurred.", instance=request.url.path
        )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {}},
    }
    for status in (400, 401, 403, 404, 409, 422)
}


def refusals(rules: dict[int, dict[str, str]]) -> dict[int | str, dict[str, Any]]:
    """An operation's ``responses`` for what its schema cannot say: the cross-field and state
    rules that refuse a request the schema accepts, by status, each with its ``code``:
    ``responses=refusals({422: {"invalid_period": "`to` is before `from`."}})``."""
    return {
        status: {
            "model": Problem,
            "description": f"{HTTPStatus(status).phrase}. Beyond the schema, refused as `code`:\n\n"
            + "\n".join(f"- `{code}`: {why}" for code, why in codes.items()),
            "content": {PROBLEM_JSON: {}},
        }
        for status, codes in rules.items()
    }


def cross_field(*rules: str) -> dict[str, str]:
    """The entry of :func:`refusals` for a model's own cross-field rules: 422 `validation_failed`
    whose ``errors`` carry the rule (``code`` `value_error`)."""
    return {"validation_failed": "; ".join(rules) + " (`errors[].code` `value_error`)."}
