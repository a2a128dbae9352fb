"""Cursors of this service's lists: decoded into typed, bounded values, so a forged cursor is a
422 ``invalid_cursor`` and never reaches the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bp_common.errors import InvalidInput
from bp_common.pagination import decode_cursor

_INT_BOUND = 2**31


def as_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= _INT_BOUND:
        raise ValueError("not a cursor integer")
    return value


def as_str(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 64 or "\x00" in value:
        raise ValueError("not a cursor string")
    return value


def as_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(as_str(value))


def decode(cursor: str | None, *parsers: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The values of ``cursor``, each through its parser; None without a cursor."""
    if not cursor:
        return None
    values = decode_cursor(cursor, len(parsers))
    try:
        return tuple(parse(value) for parse, value in zip(parsers, values, strict=True))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("The cursor is not one this API issued.", code="invalid_cursor") from exc
