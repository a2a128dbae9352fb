import sqlite3
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from bp_common.db import Database, advisory_lock, dialect_of, is_connection_problem
from bp_common.events.outbox import service_outbox
from bp_common.events.store import messaging_tables
from bp_common.orm import JSONType, new_metadata


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")), False),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
    ],
)
def test_only_unreachable_databases_count_as_unavailable(
    error: BaseException, transient: bool
) -> None:
    assert is_connection_problem(error) is transient


def test_a_wrapped_connection_error_is_found_in_the_chain() -> None:
    outer = RuntimeError("query failed")
    outer.__cause__ = ConnectionResetError("reset by peer")
    assert is_connection_problem(outer)


async def test_sqlite_sessions_need_no_advisory_lock(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/lock.db")
    try:
        async with database.transaction() as session:
            assert dialect_of(session) == "sqlite"
            await advisory_lock(session, "indicators:results:IOM")  # a no-op, no pg function
    finally:
        await database.dispose()


def test_json_columns_are_jsonb_on_postgresql_only() -> None:
    assert JSONType.compile(dialect=postgresql.dialect()) == "JSONB"
    assert JSONType.compile(dialect=sqlite.dialect()) == "JSON"


def test_handlers_and_requests_of_a_service_share_its_outbox_source() -> None:
    tables = messaging_tables(new_metadata())
    outbox = service_outbox(tables, "plan")
    assert (outbox.table, outbox.source) == (tables.outbox, "/plan")
