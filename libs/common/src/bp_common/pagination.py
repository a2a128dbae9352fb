"""What every list shares: keyset pagination, whose opaque cursor holds the sort key of the last
item seen, so pages stay stable while rows are added (no offset drift), in either direction; and
the check of a period filter.

A cursor is decoded into typed, bounded values (:func:`read_cursor`), so a forged one is a 422
``invalid_cursor`` and never reaches the database."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field, WithJsonSchema
from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import QueryableAttribute

from bp_common.errors import FieldError, InvalidInput, refusals

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound=Select[*tuple[Any, ...]])
Key = ColumnElement[Any] | QueryableAttribute[Any]

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# The `limit` query parameter of every list.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
# The `cursor` query parameter of every list: base64url text a previous page gave. The pattern
# is for the document; the server's own check (`read_cursor`) refuses as `invalid_cursor`.
Cursor = Annotated[
    Annotated[str, WithJsonSchema({"type": "string", "pattern": "^[A-Za-z0-9_-]*$"})] | None,
    Query(
        description="`next_cursor` of the previous page; empty or absent for the first page. "
        "One the API did not issue is refused: 422 `invalid_cursor`."
    ),
]

_MAX_CURSOR_INT = 2**31
# The longest text a list sorts on (a partner's external_id).
_MAX_CURSOR_TEXT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` to get the next page; absent on the last page."
    )


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


def _invalid_cursor() -> InvalidInput:
    return InvalidInput("The cursor is not one this API issued.", code="invalid_cursor")


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values, default=str)).decode().rstrip("=")


def _decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise _invalid_cursor() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise _invalid_cursor()
    return values


def read_cursor(cursor: str | None, *parsers: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The position ``cursor`` holds, each value checked by its parser (``cursor_int``, ...);
    None without a cursor (an empty one included: the first page)."""
    if not cursor:
        return None
    values = _decode_cursor(cursor, len(parsers))
    try:
        return tuple(parse(value) for parse, value in zip(parsers, values, strict=True))
    except (TypeError, ValueError) as exc:
        raise _invalid_cursor() from exc


def seek(
    statement: S,
    keys: Sequence[Key],
    after: Sequence[Any] | None,
    order: SortOrder = SortOrder.ASC,
) -> S:
    """``statement`` ordered by ``keys``, starting after the position ``after``."""
    ascending = order is SortOrder.ASC
    if after is not None:
        position = tuple_(*keys)
        # Bound with the keys' own types: types inferred from the values would skip their
        # conversions (an aware datetime bound as PostgreSQL's TIMESTAMP WITHOUT TIME ZONE).
        last = tuple_(*(literal(value, key.type) for key, value in zip(keys, after, strict=True)))
        statement = statement.where(position > last if ascending else position < last)
    return statement.order_by(*(key.asc() if ascending else key.desc() for key in keys))


def page_of(
    rows: Sequence[R], limit: int, key: Callable[[R], Sequence[Any]], item: Callable[[R], T]
) -> Page[T]:
    """A page from ``limit + 1`` rows: the extra row only tells that there is a next page, whose
    cursor is ``key`` of the last row shown."""
    next_cursor = encode_cursor(*key(rows[limit - 1])) if len(rows) > limit else None
    return Page(items=[item(row) for row in rows[:limit]], next_cursor=next_cursor)


# The responses of a list filtered by `from` and `to` (:func:`check_period`).
INVALID_PERIOD = refusals({422: {"invalid_period": "`to` is before `from`."}})


def check_period(from_: date | None, to: date | None) -> None:
    """`from` and `to` of a list's filters, in order."""
    if from_ is not None and to is not None and to < from_:
        message = "`to` is before `from`"
        raise InvalidInput(
            message + ".",
            code="invalid_period",
            errors=[FieldError(loc=["query", "to"], code="invalid_period", message=message)],
        )


# -- parsers of cursor values: each raises ValueError (or TypeError) on what it was not issued ---


def cursor_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= _MAX_CURSOR_INT:
        raise ValueError("not a small integer")
    return value


def cursor_text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value or len(value) > _MAX_CURSOR_TEXT:
        raise ValueError("not a cursor text")
    return value


def cursor_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(cursor_text(value))


def cursor_date(value: Any) -> date:
    return date.fromisoformat(cursor_text(value))


def cursor_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(cursor_text(value))
    if moment.tzinfo is None:
        raise ValueError("naive timestamp")
    return moment
