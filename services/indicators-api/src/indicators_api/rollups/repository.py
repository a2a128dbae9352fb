"""The rollup table, maintained with set-based statements.

Writers hand in a ``Select`` of *fact rows* labelled ``indicator, goal, country, year,
organisation, project, value, period_key`` (results, staged import rows or event facts); it is
aggregated per group here and merged into, or substituted for, the stored groups."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, case, delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from indicators_api.rollups.models import Rollup, RollupSnapshot
from indicators_api.rollups.schemas import RollupFilters

KEY = ("indicator", "goal", "country", "year", "organisation", "project")
STATE = ("value_sum", "value_count", "value_max", "latest_key", "latest_value", "latest_count")


def aggregate(rows: Select) -> Select:
    """One row per group with the state the rules need; "latest" sums the values of the group's
    latest period (one pass: a window finds that period, conditional sums pick its rows)."""
    src = rows.subquery("fact_rows")
    ranked = select(
        *src.c, func.max(src.c.period_key).over(partition_by=[src.c[k] for k in KEY]).label("last")
    ).subquery("ranked")
    at_last = ranked.c.period_key == ranked.c.last
    group = [ranked.c[k] for k in KEY]
    return select(
        *group,
        func.coalesce(func.sum(ranked.c.value), 0.0).label("value_sum"),
        func.count().label("value_count"),
        func.max(ranked.c.value).label("value_max"),
        func.max(ranked.c.last).label("latest_key"),
        func.coalesce(func.sum(case((at_last, ranked.c.value))), 0.0).label("latest_value"),
        func.sum(case((at_last, 1), else_=0)).label("latest_count"),
    ).group_by(*group)


class RollupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def merge(self, rows: Select) -> None:
        """Add rows that are new to their groups: sums and counts add up, max and latest only
        move forward, so no group is re-read."""
        table = Rollup.__table__
        statement = dialect_insert(self.session, table).from_select([*KEY, *STATE], aggregate(rows))
        old, new = table.c, statement.excluded
        later, same = new.latest_key > old.latest_key, new.latest_key == old.latest_key
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=list(KEY),
                set_={
                    "value_sum": old.value_sum + new.value_sum,
                    "value_count": old.value_count + new.value_count,
                    "value_max": case(
                        (old.value_max.is_(None), new.value_max),
                        (new.value_max > old.value_max, new.value_max),
                        else_=old.value_max,
                    ),
                    "latest_key": case((later, new.latest_key), else_=old.latest_key),
                    "latest_value": case(
                        (later, new.latest_value),
                        (same, old.latest_value + new.latest_value),
                        else_=old.latest_value,
                    ),
                    "latest_count": case(
                        (later, new.latest_count),
                        (same, old.latest_count + new.latest_count),
                        else_=old.latest_count,
                    ),
                },
            )
        )

    async def groups_of(self, code: str) -> list[tuple[str, int, str, int]]:
        """The indicator's (indicator, goal, country, year) groups with values."""
        statement = (
            select(Rollup.indicator, Rollup.goal, Rollup.country, Rollup.year)
            .where(Rollup.indicator == code)
            .distinct()
        )
        return [(i, g, c, y) for i, g, c, y in await self.session.execute(statement)]

    async def delete_of_indicators(self, codes: Collection[str]) -> None:
        await self.session.execute(delete(Rollup).where(Rollup.indicator.in_(codes)))

    async def replace(self, groups: Select, rows: Select) -> None:
        """Recompute ``groups`` (selected as the key columns) from ``rows``, all of their rows:
        for groups that lost or changed a row, where max and latest cannot be repaired."""
        touched = groups.subquery("touched")
        await self.session.execute(
            delete(Rollup).where(exists().where(*(touched.c[k] == getattr(Rollup, k) for k in KEY)))
        )
        await self.session.execute(
            insert(Rollup.__table__).from_select([*KEY, *STATE], aggregate(rows))
        )

    async def fine(self, filters: RollupFilters) -> list[Rollup]:
        statement = select(Rollup)
        for name in ("indicator", "goal", "country", "year", "organisation", "project"):
            value = getattr(filters, name)
            if value is not None:
                statement = statement.where(getattr(Rollup, name) == value)
        return list((await self.session.scalars(statement.order_by(*KEY))).all())


class SnapshotRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def exists(self, meeting_id: uuid.UUID) -> bool:
        statement = select(exists().where(RollupSnapshot.meeting_id == meeting_id))
        return bool(await self.session.scalar(statement))

    async def insert(self, values: dict[str, Any]) -> bool:
        """False if the meeting has its snapshot already: a snapshot is never replaced."""
        statement = (
            dialect_insert(self.session, RollupSnapshot.__table__)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["meeting_id"])
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def of_meeting(self, meeting_id: uuid.UUID) -> RollupSnapshot | None:
        return await self.session.get(RollupSnapshot, meeting_id)
