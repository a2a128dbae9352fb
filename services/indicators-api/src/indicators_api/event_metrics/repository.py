from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bp_common.db import dialect_insert
from indicators_api.event_metrics.models import (
    EventFact,
    EventMetric,
    EventMetricValue,
    SourceRevision,
)
from indicators_api.event_metrics.schemas import Fact
from indicators_api.framework.models import Indicator, Source
from indicators_api.rollups.models import NONE


class EventMetricRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, fact: Fact) -> bool:
        """Store a fact; False if it was already counted (the same meeting or activity)."""
        statement = (
            dialect_insert(self.session, EventFact.__table__)
            .values(**asdict(fact))
            .on_conflict_do_nothing(index_elements=["metric", "source_id", "country"])
        )
        return bool((await self.session.execute(statement)).rowcount)  # type: ignore[attr-defined]

    async def delete_all(self) -> None:
        await self.session.execute(delete(EventFact))
        await self.session.execute(delete(EventMetricValue))
        await self.session.execute(delete(SourceRevision))

    async def applied_revision(self, source_id: str) -> int | None:
        """The revision of the source's latest news applied, if any was."""
        statement = select(SourceRevision.revision).where(SourceRevision.source_id == source_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def mark_applied(self, source_id: str, revision: int) -> None:
        insert_ = dialect_insert(self.session, SourceRevision.__table__)
        await self.session.execute(
            insert_.values(source_id=source_id, revision=revision).on_conflict_do_update(
                index_elements=["source_id"], set_={"revision": insert_.excluded.revision}
            )
        )

    async def facts_of_source(self, metric: EventMetric, source_id: str) -> list[Fact]:
        statement = select(EventFact).where(
            EventFact.metric == metric, EventFact.source_id == source_id
        )
        return [
            Fact(f.metric, f.source_id, f.country, f.year, f.period, f.period_key, f.value)
            for f in await self.session.scalars(statement)
        ]

    async def delete_source(
        self, metric: EventMetric, source_id: str, countries: Collection[str]
    ) -> None:
        await self.session.execute(
            delete(EventFact).where(_of_source(EventFact, metric, source_id, countries))
        )

    async def recount(self, metric: EventMetric, groups: Collection[tuple[str, int]]) -> None:
        """Set the metric's value in each (country, year) group to the sum of its facts; a group
        left without facts has no value at all, as if it had never been counted."""
        if not groups:
            return
        value = EventMetricValue
        await self.session.execute(
            delete(value).where(value.metric == metric, _among(value.country, value.year, groups))
        )
        summed = (
            select(EventFact.metric, EventFact.country, EventFact.year, func.sum(EventFact.value))
            .where(EventFact.metric == metric, _among(EventFact.country, EventFact.year, groups))
            .group_by(EventFact.metric, EventFact.country, EventFact.year)
        )
        await self.session.execute(
            insert(value).from_select(["metric", "country", "year", "value"], summed)
        )

    async def increment(self, metric: EventMetric, country: str, year: int, by: float) -> None:
        insert = dialect_insert(self.session, EventMetricValue.__table__)
        await self.session.execute(
            insert.values(
                metric=metric.value, country=country, year=year, value=by
            ).on_conflict_do_update(
                index_elements=["metric", "country", "year"],
                set_={"value": EventMetricValue.__table__.c.value + insert.excluded.value},
            )
        )

    async def groups_of(self, metric: EventMetric) -> list[tuple[str, int]]:
        """The countries and years the metric has facts for."""
        statement = (
            select(EventFact.country, EventFact.year)
            .where(EventFact.metric == metric)
            .distinct()
            .order_by(EventFact.country, EventFact.year)
        )
        return [(row.country, row.year) for row in await self.session.execute(statement)]

    async def list(
        self, metric: EventMetric, country: str | None, year: int | None
    ) -> list[EventMetricValue]:
        statement = select(EventMetricValue).where(EventMetricValue.metric == metric)
        if country is not None:
            statement = statement.where(EventMetricValue.country == country)
        if year is not None:
            statement = statement.where(EventMetricValue.year == year)
        statement = statement.order_by(EventMetricValue.year, EventMetricValue.country)
        return list((await self.session.scalars(statement)).all())

    # -- rollup fact rows (see rollups.repository) ------------------------------------------

    @staticmethod
    def rows_of_metric(indicator: Indicator) -> Select:
        """Every fact of the indicator's source, as rows of that indicator."""
        return select(
            literal(indicator.code).label("indicator"),
            literal(indicator.goal).label("goal"),
            EventFact.country,
            EventFact.year,
            literal(NONE).label("organisation"),
            literal(NONE).label("project"),
            EventFact.value,
            EventFact.period_key,
        ).where(EventFact.metric == EventMetric(indicator.source.value))

    @staticmethod
    def groups_of_source_fed(
        metric: EventMetric, source_id: str, countries: Collection[str]
    ) -> Select:
        """The rollup groups (key columns) the source's facts of the metric in ``countries`` are
        in, in every indicator fed by the metric."""
        return (
            _facts_as_rollup_rows(metric)
            .where(_of_source(EventFact, metric, source_id, countries))
            .distinct()
        )

    @staticmethod
    def rows_beside_source(
        metric: EventMetric, source_id: str, countries: Collection[str]
    ) -> Select:
        """Every other fact in the groups the source's facts in ``countries`` are in: those
        groups without them. (A group has one country, so the source's only fact in it is one of
        those.)"""
        gone = aliased(EventFact, name="gone")
        return _facts_as_rollup_rows(metric, EventFact.value, EventFact.period_key).where(
            EventFact.source_id != source_id,
            exists().where(
                _of_source(gone, metric, source_id, countries),
                gone.country == EventFact.country,
                gone.year == EventFact.year,
            ),
        )

    @staticmethod
    def rows_of_fact(fact: Fact) -> Select:
        """One new fact, as a row of every indicator fed by its metric."""
        return select(
            Indicator.code.label("indicator"),
            Indicator.goal,
            literal(fact.country).label("country"),
            literal(fact.year).label("year"),
            literal(NONE).label("organisation"),
            literal(NONE).label("project"),
            literal(fact.value).label("value"),
            literal(fact.period_key).label("period_key"),
        ).where(Indicator.source == Source(fact.metric.value))


def _facts_as_rollup_rows(metric: EventMetric, *extra: InstrumentedAttribute[Any]) -> Select:
    """The metric's facts as rollup rows (key columns, then ``extra``) of every indicator it
    feeds."""
    return (
        select(
            Indicator.code.label("indicator"),
            Indicator.goal,
            EventFact.country,
            EventFact.year,
            literal(NONE).label("organisation"),
            literal(NONE).label("project"),
            *extra,
        )
        .select_from(EventFact)
        .join(Indicator, Indicator.source == Source(metric.value))
        .where(EventFact.metric == metric)
    )


def _of_source(
    fact: type[EventFact], metric: EventMetric, source_id: str, countries: Collection[str]
) -> ColumnElement[bool]:
    return and_(
        fact.metric == metric, fact.source_id == source_id, fact.country.in_(list(countries))
    )


def _among(
    country: InstrumentedAttribute[str],
    year: InstrumentedAttribute[int],
    groups: Collection[tuple[str, int]],
) -> ColumnElement[bool]:
    return or_(*(and_(country == c, year == y) for c, y in groups))
