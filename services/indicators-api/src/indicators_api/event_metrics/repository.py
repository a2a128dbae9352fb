from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Select, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from indicators_api.event_metrics.models import EventFact, EventMetric, EventMetricValue
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
