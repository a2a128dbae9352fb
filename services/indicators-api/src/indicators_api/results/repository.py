"""Results and their set-based import.

An import is staged in a temporary table (COPY on PostgreSQL, one executemany on SQLite), then
classified, written and rolled up by a fixed number of statements whatever its size."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    Uuid,
    and_,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    text,
    true,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable, DropTable

from bp_common.db import advisory_lock, dialect_insert, dialect_of
from bp_common.errors import NotFound
from bp_common.orm import JSONType, utcnow
from bp_common.pagination import seek
from bp_common.repository import Repository
from indicators_api.framework.models import Indicator
from indicators_api.results.models import Result, ResultImport, ResultWithdrawal
from indicators_api.results.schemas import ResultFilters, StagedRow
from indicators_api.rollups.models import NONE
from indicators_api.rollups.service import Group

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

_temporary = MetaData()
# The import's rows; ``status`` is set by the classification against the stored rows.
STAGE = Table(
    "result_stage",
    _temporary,
    Column("id", Uuid),
    Column("organisation", String(20)),
    Column("external_id", String(200)),
    Column("project", String(50)),
    Column("indicator", String(50)),
    Column("goal", Integer),
    Column("period", String(7)),
    Column("year", Integer),
    Column("period_key", Integer),
    Column("country", String(2)),
    Column("disaggregation", JSONType),
    Column("value_number", Float),
    Column("value_text", Text),
    Column("comment", Text),
    Column("status", String(10), nullable=False, server_default=CREATED),
    # A stored row (standing or withdrawn) has this organisation/external_id: UPDATE, not INSERT.
    Column("stored", Boolean, nullable=False, server_default=false()),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# Rollup groups that lose or change a row (the prior versions of updated rows).
TOUCHED = Table(
    "result_touched_group",
    _temporary,
    Column("indicator", String(50)),
    Column("goal", Integer),
    Column("country", String(2)),
    Column("year", Integer),
    Column("organisation", String(20)),
    Column("project", String(50)),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# The external ids of a withdrawal (by request, or left out of a replace import).
WITHDRAWING = Table(
    "result_withdrawing",
    _temporary,
    Column("external_id", String(200)),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
STAGED_COLUMNS = list(StagedRow._fields)
_JSON_AT = STAGED_COLUMNS.index("disaggregation")
# Stored columns an import may change (the row keeps its id and organisation/external_id).
_WRITTEN = [c for c in STAGED_COLUMNS if c not in ("id", "goal")]
_CHANGEABLE = [c for c in _WRITTEN if c not in ("organisation", "external_id")]
# A withdrawn result pushed again stands again.
_STANDING_AGAIN = {"withdrawn_at": None, "withdrawn_by": None, "withdrawal_reason": None}

_result = Result.__table__
_stage = STAGE.c
_touched = TOUCHED.c
_withdrawing = WITHDRAWING.c
_standing = _result.c.withdrawn_at.is_(None)
_same_result = and_(
    _result.c.organisation == _stage.organisation, _result.c.external_id == _stage.external_id
)


def _in_touched(indicator: Any, goal: Any, country: Any, year: Any, org: Any, project: Any) -> Any:
    return exists().where(
        _touched.indicator == indicator,
        _touched.goal == goal,
        _touched.country == country,
        _touched.year == year,
        _touched.organisation == org,
        _touched.project == project,
    )


def _copy_record(row: StagedRow) -> tuple[Any, ...]:
    if row.disaggregation is None:
        return row
    values = list(row)
    values[_JSON_AT] = orjson.dumps(row.disaggregation).decode()  # asyncpg takes JSON as text
    return tuple(values)


def _rows_in_touched_groups() -> Select:
    """Every standing stored row of the groups noted in ``TOUCHED``, as rollup fact rows."""
    country = func.coalesce(_result.c.country, NONE)
    return (
        select(
            _result.c.indicator,
            Indicator.goal,
            country.label("country"),
            _result.c.year,
            _result.c.organisation,
            _result.c.project,
            _result.c.value_number.label("value"),
            _result.c.period_key,
        )
        .select_from(_result.join(Indicator, Indicator.code == _result.c.indicator))
        .where(
            _standing,
            _in_touched(
                _result.c.indicator,
                Indicator.goal,
                country,
                _result.c.year,
                _result.c.organisation,
                _result.c.project,
            ),
        )
    )


class ImportBatch:
    """The rows of one import, staged for set-based statements."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def classify(self) -> dict[str, int]:
        """Mark each staged row created, updated or unchanged against the stored rows; count."""
        # One pass over the stored rows (UPDATE ... FROM result), not two: a staged row that
        # matches a stored one is unchanged if every changeable column is equal, else updated;
        # one matching a withdrawn result stands again: created (it was in no rollup).
        identical = and_(*(_result.c[c].is_not_distinct_from(_stage[c]) for c in _CHANGEABLE))
        await self.session.execute(
            update(STAGE)
            .where(_same_result)
            .values(
                status=case((~_standing, CREATED), (identical, UNCHANGED), else_=UPDATED),
                stored=true(),
            )
        )
        counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0}
        statement = select(_stage.status, func.count()).group_by(_stage.status)
        for status, count in await self.session.execute(statement):
            counts[status] = count
        return counts

    async def write(self) -> None:
        """Note the groups the prior versions leave, then upsert the new and changed rows."""
        prior = (
            select(
                _result.c.indicator,
                Indicator.goal,
                func.coalesce(_result.c.country, NONE),
                _result.c.year,
                _result.c.organisation,
                _result.c.project,
            )
            .distinct()
            .select_from(
                _result.join(STAGE, _same_result).join(
                    Indicator, Indicator.code == _result.c.indicator
                )
            )
            .where(_stage.status == UPDATED)
        )
        await self.session.execute(insert(TOUCHED).from_select(list(TOUCHED.c.keys()), prior))
        # Two plain statements rather than one upsert: an INSERT of the rows not stored yet, an
        # UPDATE of the stored ones that change (or stand again). Measured on PostgreSQL, the
        # upsert's conflict handling cost more than the second statement. No concurrent import
        # of the organisation can insert the same keys meanwhile: the caller holds its lock.
        await self.session.execute(
            insert(_result).from_select(
                ["id", *_WRITTEN],
                select(_stage.id, *(_stage[c] for c in _WRITTEN)).where(~_stage.stored),
            )
        )
        await self.session.execute(
            update(_result)
            .where(_same_result, _stage.stored, _stage.status != UNCHANGED)
            .values(
                {c: _stage[c] for c in _CHANGEABLE} | {"updated_at": utcnow(), **_STANDING_AGAIN}
            )
        )

    async def standing_in_scope(self, organisation: str) -> list[str]:
        """``mode=replace``: the external ids of the organisation's standing results in a
        (project, indicator, period) the import reports (those it does not name are left out:
        the caller subtracts the ids it has in hand, which no plan can get wrong)."""
        scopes = select(_stage.project, _stage.indicator, _stage.period).distinct().subquery()
        statement = (
            select(_result.c.external_id)
            .select_from(
                _result.join(
                    scopes,
                    and_(
                        scopes.c.project == _result.c.project,
                        scopes.c.indicator == _result.c.indicator,
                        scopes.c.period == _result.c.period,
                    ),
                )
            )
            .where(_result.c.organisation == organisation, _standing)
        )
        return list((await self.session.scalars(statement)).all())

    # -- rollup fact rows (see rollups.repository) ------------------------------------------

    @staticmethod
    def touched_groups() -> Select:
        return select(*TOUCHED.c)

    @staticmethod
    def rows_in_touched_groups() -> Select:
        """Every standing row (after the write) of the groups that lost or changed a row."""
        return _rows_in_touched_groups()

    @staticmethod
    def added_rows_elsewhere() -> Select:
        """New and changed rows that land in groups not being recomputed: pure additions."""
        country = func.coalesce(_stage.country, NONE)
        return select(
            _stage.indicator,
            _stage.goal,
            country.label("country"),
            _stage.year,
            _stage.organisation,
            _stage.project,
            _stage.value_number.label("value"),
            _stage.period_key,
        ).where(
            _stage.status != UNCHANGED,
            ~_in_touched(
                _stage.indicator,
                _stage.goal,
                country,
                _stage.year,
                _stage.organisation,
                _stage.project,
            ),
        )

    async def changed_groups(self) -> list[Group]:
        statement = union(
            select(_touched.indicator, _touched.goal, _touched.country, _touched.year),
            select(
                _stage.indicator, _stage.goal, func.coalesce(_stage.country, NONE), _stage.year
            ).where(_stage.status != UNCHANGED),
        )
        rows = await self.session.execute(statement)
        return [(row.indicator, row.goal, row.country, row.year) for row in rows]


class WithdrawalBatch:
    """The external ids of one withdrawal of an organisation's results, staged."""

    def __init__(self, session: AsyncSession, organisation: str) -> None:
        self.session = session
        self.organisation = organisation

    def _named(self) -> Any:
        return and_(
            _result.c.organisation == self.organisation,
            _result.c.external_id.in_(select(_withdrawing.external_id)),
        )

    async def classify(self) -> tuple[set[str], set[str]]:
        """The named ids of standing results, and of results withdrawn already."""
        statement = select(_result.c.external_id, _standing.label("standing")).where(self._named())
        standing: set[str] = set()
        withdrawn: set[str] = set()
        for external_id, is_standing in await self.session.execute(statement):
            (standing if is_standing else withdrawn).add(external_id)
        return standing, withdrawn

    async def withdraw(self, *, by: str, reason: str) -> None:
        """Note the groups the named standing results leave, then make them tombstones."""
        groups = (
            select(
                _result.c.indicator,
                Indicator.goal,
                func.coalesce(_result.c.country, NONE),
                _result.c.year,
                _result.c.organisation,
                _result.c.project,
            )
            .distinct()
            .select_from(_result.join(Indicator, Indicator.code == _result.c.indicator))
            .where(self._named(), _standing)
        )
        await self.session.execute(insert(TOUCHED).from_select(list(TOUCHED.c.keys()), groups))
        now = utcnow()
        await self.session.execute(
            update(_result)
            .where(self._named(), _standing)
            .values(withdrawn_at=now, withdrawn_by=by, withdrawal_reason=reason, updated_at=now)
        )

    @staticmethod
    def touched_groups() -> Select:
        return select(*TOUCHED.c)

    @staticmethod
    def rows_in_touched_groups() -> Select:
        """Every result still standing in the groups the withdrawn ones left."""
        return _rows_in_touched_groups()

    async def changed_groups(self) -> list[Group]:
        statement = select(
            _touched.indicator, _touched.goal, _touched.country, _touched.year
        ).distinct()
        rows = await self.session.execute(statement)
        return [(row.indicator, row.goal, row.country, row.year) for row in rows]


class ResultNotFound(NotFound):
    code = "result_not_found"


class ResultRepository(Repository[Result]):
    model = Result
    not_found = ResultNotFound
    noun = "result"

    async def lock_organisation(self, organisation: str) -> None:
        """One import at a time per organisation: the classification and the rollup deltas
        rely on the stored rows not moving under them."""
        await advisory_lock(self.session, f"indicators:results:{organisation}")

    @asynccontextmanager
    async def staged(self, rows: Sequence[StagedRow]) -> AsyncIterator[ImportBatch]:
        connection = await self.session.connection()
        for table in (STAGE, TOUCHED):
            await connection.execute(DropTable(table, if_exists=True))
            await connection.execute(CreateTable(table))
        if dialect_of(self.session) == "postgresql":
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None  # an asyncpg connection
            await driver.copy_records_to_table(
                STAGE.name, records=[_copy_record(r) for r in rows], columns=STAGED_COLUMNS
            )
            # Statistics, so the planner joins the staged rows to the results by index: the row
            # count and the join key's columns are what it needs. Analysing every column cost
            # ~20 ms per 10,000 rows (ANALYZE sorts each column for its statistics), these two ~3.
            await connection.execute(text(f"ANALYZE {STAGE.name} (organisation, external_id)"))
        elif rows:
            await self.session.execute(insert(STAGE), [r._asdict() for r in rows])
        yield ImportBatch(self.session)
        # Not on failure: the rollback discards them (PostgreSQL), or the next import (SQLite).
        for table in (STAGE, TOUCHED):
            await connection.execute(DropTable(table))

    @asynccontextmanager
    async def withdrawing(
        self, organisation: str, external_ids: Sequence[str]
    ) -> AsyncIterator[WithdrawalBatch]:
        connection = await self.session.connection()
        for table in (WITHDRAWING, TOUCHED):
            await connection.execute(DropTable(table, if_exists=True))
            await connection.execute(CreateTable(table))
        if dialect_of(self.session) == "postgresql":
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None  # an asyncpg connection
            await driver.copy_records_to_table(
                WITHDRAWING.name, records=[(i,) for i in external_ids], columns=["external_id"]
            )
            await connection.execute(text(f"ANALYZE {WITHDRAWING.name}"))
        elif external_ids:
            await self.session.execute(
                insert(WITHDRAWING), [{"external_id": i} for i in external_ids]
            )
        yield WithdrawalBatch(self.session, organisation)
        for table in (WITHDRAWING, TOUCHED):
            await connection.execute(DropTable(table))

    async def find_withdrawal(self, organisation: str, key: str) -> ResultWithdrawal | None:
        statement = select(ResultWithdrawal).where(
            ResultWithdrawal.organisation == organisation, ResultWithdrawal.idempotency_key == key
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def record_withdrawal(self, values: dict[str, Any]) -> bool:
        """False if the idempotency key was taken meanwhile (a concurrent request)."""
        statement = (
            dialect_insert(self.session, ResultWithdrawal.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["organisation", "idempotency_key"])
        )
        return bool((await self.session.execute(statement)).rowcount)

    async def find_import(self, organisation: str, key: str) -> ResultImport | None:
        statement = select(ResultImport).where(
            ResultImport.organisation == organisation, ResultImport.idempotency_key == key
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def record_import(self, values: dict[str, Any]) -> bool:
        """False if the idempotency key was taken meanwhile (a concurrent request)."""
        statement = (
            dialect_insert(self.session, ResultImport.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["organisation", "idempotency_key"])
        )
        return bool((await self.session.execute(statement)).rowcount)

    async def list(
        self, filters: ResultFilters, *, limit: int, after: Sequence[Any] | None = None
    ) -> list[Result]:
        statement = select(Result)
        for name in ("project", "indicator", "period", "country", "organisation", "year"):
            value = getattr(filters, name)
            if value is not None:
                statement = statement.where(getattr(Result, name) == value)
        if not filters.include_withdrawn:
            statement = statement.where(Result.withdrawn_at.is_(None))
        keys = [Result.organisation, Result.external_id]
        statement = seek(statement, keys, after).limit(limit)
        return list((await self.session.scalars(statement)).all())

    # -- what a correction of a project or an indicator must keep valid -----------------------

    async def standing_scope_of_project(
        self, code: str
    ) -> Sequence[tuple[str, str, str | None, int]]:
        """Distinct (period, organisation, country, indicator goal) of the project's standing
        results: what its dates, implementers, countries and goals must still cover."""
        statement = (
            select(_result.c.period, _result.c.organisation, _result.c.country, Indicator.goal)
            .distinct()
            .select_from(_result.join(Indicator, Indicator.code == _result.c.indicator))
            .where(_result.c.project == code, _standing)
        )
        rows = await self.session.execute(statement)
        return [(period, org, country, goal) for period, org, country, goal in rows]

    async def standing_values_of_indicator(self, code: str) -> tuple[int, int, float | None]:
        """The indicator's standing results: how many, how many with text, the largest number."""
        statement = select(
            func.count(), func.count(_result.c.value_text), func.max(_result.c.value_number)
        ).where(_result.c.indicator == code, _standing)
        count, texts, top = (await self.session.execute(statement)).one()
        return int(count), int(texts), top

    @staticmethod
    def rows_of_indicator(indicator: Indicator) -> Select:
        """Every standing result of the indicator, as rollup fact rows."""
        return select(
            _result.c.indicator,
            literal(indicator.goal).label("goal"),
            func.coalesce(_result.c.country, NONE).label("country"),
            _result.c.year,
            _result.c.organisation,
            _result.c.project,
            _result.c.value_number.label("value"),
            _result.c.period_key,
        ).where(_result.c.indicator == indicator.code, _standing)
