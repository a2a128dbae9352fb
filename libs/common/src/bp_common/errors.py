"""RFC 9457 problem details with stable codes, and the handlers that guarantee no input yields a 500
with a stack trace: every refusal is ``application/problem+json``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
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
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
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
