"""Cursors are read into typed values, so anything the API did not issue is a 422; keyset pages
cover every row exactly once, in either direction."""

import base64
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Date, Integer, MetaData, Table, create_engine, select

from bp_common.errors import InvalidInput
from bp_common.orm import UTCDateTime
from bp_common.pagination import (
    SortOrder,
    check_period,
    cursor_date,
    cursor_datetime,
    cursor_int,
    cursor_text,
    cursor_uuid,
    encode_cursor,
    page_of,
    read_cursor,
    seek,
)

ID = uuid.uuid4()
MOMENT = datetime(2019, 12, 4, 9, 30, tzinfo=UTC)


def test_an_issued_cursor_reads_back_as_typed_values() -> None:
    cursor = encode_cursor(7, "IOM", str(ID), "2019-12-04", MOMENT.isoformat())
    parsers = (cursor_int, cursor_text, cursor_uuid, cursor_date, cursor_datetime)
    assert read_cursor(cursor, *parsers) == (7, "IOM", ID, date(2019, 12, 4), MOMENT)


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_is_the_first_page(cursor: str | None) -> None:
    assert read_cursor(cursor, cursor_int) is None


def _raw(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "parsers"),
    [
        ("%%%", (cursor_int,)),  # not base64
        (_raw(b"not json"), (cursor_int,)),
        (_raw(b'{"a": 1}'), (cursor_int,)),  # not a list
        (encode_cursor(1, 2), (cursor_int,)),  # another arity
        (encode_cursor("1"), (cursor_int,)),
        (encode_cursor(True), (cursor_int,)),
        (encode_cursor(2**31), (cursor_int,)),
        (encode_cursor(1.5), (cursor_int,)),
        (encode_cursor(["IOM"]), (cursor_text,)),
        (encode_cursor("IO\x00M"), (cursor_text,)),
        (encode_cursor("x" * 201), (cursor_text,)),
        (encode_cursor(12), (cursor_uuid,)),
        (encode_cursor("not-a-uuid"), (cursor_uuid,)),
        (encode_cursor(20191204), (cursor_date,)),
        (encode_cursor("2019-13-01"), (cursor_date,)),
        (encode_cursor("2019-12-04T09:30:00"), (cursor_datetime,)),  # naive
        (encode_cursor({"at": "2019-12-04"}), (cursor_datetime,)),
    ],
)
def test_a_forged_cursor_is_invalid_input(cursor: str, parsers: tuple[Callable[..., Any]]) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_cursor(cursor, *parsers)
    assert (refused.value.status, refused.value.code) == (422, "invalid_cursor")


def test_page_of_gives_a_cursor_only_when_a_row_is_left() -> None:
    rows = [10, 20, 30]
    more = page_of(rows, 2, lambda n: (n,), str)
    assert more.items == ["10", "20"]
    assert read_cursor(more.next_cursor, cursor_int) == (20,)
    last = page_of(rows, 3, lambda n: (n,), str)
    assert (last.items, last.next_cursor) == (["10", "20", "30"], None)


def test_a_period_ending_before_it_starts_is_refused() -> None:
    check_period(date(2020, 1, 1), date(2020, 1, 1))
    check_period(None, date(2019, 1, 1))
    with pytest.raises(InvalidInput) as refused:
        check_period(date(2020, 1, 2), date(2020, 1, 1))
    assert refused.value.code == "invalid_period"
    assert refused.value.errors is not None
    assert refused.value.errors[0].loc == ["query", "to"]


# -- seek over a real table ---------------------------------------------------------------------

metadata = MetaData()
row = Table(
    "row",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date),
    Column("at", UTCDateTime),
)
START = datetime(2020, 1, 1, tzinfo=UTC)
# Ten rows on four days: pages must break ties on the id.
ROWS = [
    {"id": i, "day": date(2020, 1, 1 + i % 4), "at": START + timedelta(hours=i)} for i in range(10)
]


@pytest.fixture
def connection() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(row.insert(), ROWS)
        yield conn
    engine.dispose()


def _all_pages(connection: Connection, order: SortOrder, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        after = read_cursor(cursor, cursor_date, cursor_int)
        statement = seek(select(row), [row.c.day, row.c.id], after, order).limit(limit + 1)
        rows = connection.execute(statement).all()
        page = page_of(rows, limit, lambda r: (r.day.isoformat(), r.id), lambda r: r.id)
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("order", list(SortOrder))
def test_pages_cover_every_row_once_in_key_order(connection: Connection, order: SortOrder) -> None:
    expected = [r["id"] for r in sorted(ROWS, key=lambda r: (r["day"], r["id"]))]
    if order is SortOrder.DESC:
        expected.reverse()
    assert _all_pages(connection, order, limit=3) == expected


def test_seek_binds_a_timestamp_with_its_column_type(connection: Connection) -> None:
    # The same instant in another zone: compared as UTC, as stored.
    after = (START + timedelta(hours=4)).astimezone(timezone(timedelta(hours=2)))
    statement = seek(select(row.c.id), [row.c.at], [after])
    assert connection.execute(statement).scalars().all() == [5, 6, 7, 8, 9]
