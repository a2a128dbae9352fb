"""Cursor pagination: an opaque cursor holding the sort key and id of the last item seen, so pages
stay stable while rows are added (no offset drift)."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field

from bp_common.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; absent on the last page."
    )


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values, default=str)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("The cursor is not one this API issued.", code="invalid_cursor") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput("The cursor is not one this API issued.", code="invalid_cursor")
    return values
