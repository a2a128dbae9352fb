"""Async SQLAlchemy engine, the per-request session that its dependency commits, and the few
statements that differ between PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

# A session's info key listing the outbox events it wrote: handed to the relay after the commit.
OUTBOX_WRITTEN = "outbox_written"

# False in the background workers (outbox relay, event consumers): they retry a statement that
# met a dropped connection until the database answers, so a checkout ping would only add a round
# trip to every event's path. Requests keep it: a restarted database must cost them nothing.
_ping_on_checkout_enabled: ContextVar[bool] = ContextVar("ping_on_checkout", default=True)


@contextmanager
def without_checkout_ping() -> Iterator[None]:
    """Pooled connections checked out in this context (and the tasks it starts) are used
    without a ping first; for callers that retry on a connection problem."""
    token = _ping_on_checkout_enabled.set(False)
    try:
        yield
    finally:
        _ping_on_checkout_enabled.reset(token)


class Database:
    """One service's database: engine, session factory, and the hooks run after a commit."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # A pooled connection is checked before use, so a restarted database costs no request.
        # SQLite: SQLAlchemy's pre-ping. PostgreSQL: _ping_on_checkout below, which does the same
        # in one round trip where asyncpg's pre-ping takes three (BEGIN, a statement, ROLLBACK).
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": self.is_sqlite}
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # Up to 2 x pool_size connections, as before, but all kept once opened: an overflow
            # connection is closed as soon as it is returned, so a steady load above pool_size
            # concurrent requests opened a new connection (a PostgreSQL backend fork, ~6 ms) for
            # about one request in ten in the gateway benchmark (16 concurrent requests).
            kwargs |= {"pool_size": 2 * pool_size, "max_overflow": 0}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        else:
            event.listen(self.engine.sync_engine, "checkout", _ping_on_checkout)
        # A Session subclass of our own, so the after-commit hook fires for this database only
        # (several services share one process in the embedded mode).
        session_class = type("ServiceSession", (Session,), {})
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=session_class
        )
        self._commit_listeners: dict[str, list[Callable[[Any], None]]] = {}
        event.listen(session_class, "after_commit", self._after_commit)
        # What a rolled-back transaction wrote is gone: its flags must not reach the listeners
        # at the session's next commit.
        event.listen(session_class, "after_rollback", self._after_rollback)

    def on_outbox_commit(self, listener: Callable[[list[Any]], None]) -> None:
        """Call ``listener`` with the outbox events a transaction wrote, once it committed."""
        self._commit_listeners.setdefault(OUTBOX_WRITTEN, []).append(listener)

    def on_commit_of(self, flag: str, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit of a session whose ``info[flag]`` was set."""
        self._commit_listeners.setdefault(flag, []).append(lambda _value: listener())

    def _after_commit(self, session: Session) -> None:
        for flag, listeners in self._commit_listeners.items():
            value = session.info.pop(flag, None)
            if value:
                for listener in listeners:
                    listener(value)

    def _after_rollback(self, session: Session) -> None:
        for flag in self._commit_listeners:
            session.info.pop(flag, None)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on any error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def connections_in_use(self) -> int:
        checked_out = getattr(self.engine.pool, "checkedout", None)
        return int(checked_out()) if checked_out is not None else 0

    async def dispose(self) -> None:
        await self.engine.dispose()


# SQLite's transient conditions; its other OperationalErrors ("no such table") are bugs.
_SQLITE_TRANSIENT = ("database is locked", "unable to open database", "disk i/o error")
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,  # "the database system is shutting down / starting up"
)


def is_connection_problem(exc: BaseException) -> bool:
    """True when the database could not be reached or dropped the connection, as opposed to a
    statement it refused: the first is a 503 worth retrying, the second a bug."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, OperationalError) and any(
            marker in str(exc.orig).lower() for marker in _SQLITE_TRANSIENT
        ):
            return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _UNREACHABLE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _ping_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling for asyncpg, as SQLAlchemy documents it for pool events:
    ``SELECT 1`` in the simple-query protocol (one round trip, no prepared statement, no
    transaction, so also fine behind a transaction-mode pgbouncer). If it fails, the pool drops
    every connection older than now (the database was probably restarted, as with pre-ping) and
    checks out a new one, up to three attempts. Profiled: asyncpg's own pre-ping made three of
    the six round trips of a simple read."""
    if not _ping_on_checkout_enabled.get():
        return
    try:
        dbapi_connection.run_async(lambda driver: driver.execute("SELECT 1"))
    except Exception as exc:
        raise InvalidatePoolError(f"the pooled connection failed its ping: {exc!r}") from exc


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with "database is locked"
    # when another writer holds the lock (SQLite does not wait there, to avoid a deadlock);
    # taking the write lock at BEGIN makes concurrent writers queue on busy_timeout instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not emit its own BEGIN: _sqlite_begin_immediate does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else ""


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the session's dialect (PostgreSQL or SQLite)."""
    dialect = dialect_of(session)
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {dialect!r}")


async def advisory_lock(session: AsyncSession, key: str) -> None:
    """Serialise the transactions that take the same ``key`` until they end (PostgreSQL).
    SQLite needs nothing: it admits one writer at a time."""
    if dialect_of(session) == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
