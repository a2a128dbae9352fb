from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from indicators_api.event_metrics.models import EventMetric, EventMetricValue


class EventMetricRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
