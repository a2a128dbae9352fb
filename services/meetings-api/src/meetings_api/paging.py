"""Keyset pagination shared by every list: the cursor holds the sort key of the last item seen,
so pages stay stable while rows are added, in either direction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import QueryableAttribute

from bp_common.errors import FieldError, InvalidInput
from bp_common.pagination import Page, decode_cursor, encode_cursor

R = TypeVar("R")
T = TypeVar("T")
S = TypeVar("S", bound=Select[*tuple[Any, ...]])
Key = ColumnElement[Any] | QueryableAttribute[Any]

_MAX_CURSOR_INT = 2**31


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


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


def check_period(from_: date | None, to: date | None) -> None:
    """`from` and `to` of a list's filters, in order."""
    if from_ is not None and to is not None and to < from_:
        message = "`to` is before `from`"
        raise InvalidInput(
            message + ".",
            code="invalid_period",
            errors=[FieldError(loc=["query", "to"], code="invalid_period", message=message)],
        )


def read_cursor(cursor: str | None, *parsers: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The position a cursor holds, each value checked by its parser (a forged cursor is a 422)."""
    if cursor is None:
        return None
    values = decode_cursor(cursor, len(parsers))
    try:
        return tuple(parse(value) for parse, value in zip(parsers, values, strict=True))
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput("The cursor is not one this API issued.", code="invalid_cursor") from exc


def page_of(
    rows: Sequence[R], limit: int, key: Callable[[R], Sequence[Any]], item: Callable[[R], T]
) -> Page[T]:
    """A page from ``limit + 1`` rows: the extra row only tells that there is a next page."""
    next_cursor = encode_cursor(*key(rows[limit - 1])) if len(rows) > limit else None
    return Page(items=[item(row) for row in rows[:limit]], next_cursor=next_cursor)


# -- parsers of cursor values -------------------------------------------------------------------


def cursor_date(value: Any) -> date:
    return date.fromisoformat(value)


def cursor_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive timestamp")
    return moment


def cursor_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(value)


def cursor_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= _MAX_CURSOR_INT:
        raise ValueError("not a small integer")
    return value


def cursor_text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value or len(value) > 200:
        raise ValueError("not a cursor text")
    return value
