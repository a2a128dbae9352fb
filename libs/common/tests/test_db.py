import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bp_common.db import is_connection_problem


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")), True),
        (OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")), False),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (ConnectionRefusedError(111, "Connection refused"), True),
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
