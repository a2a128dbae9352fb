"""The request id and the acting principal of the work in progress, carried by context variables
into logs and events."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


_actor: ContextVar[str | None] = ContextVar("actor", default=None)


def current_actor() -> str | None:
    return _actor.get()


def set_actor(value: str | None) -> object:
    return _actor.set(value)


def reset_actor(token: object) -> None:
    _actor.reset(token)  # type: ignore[arg-type]
