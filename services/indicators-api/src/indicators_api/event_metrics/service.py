"""Facts of the dialogue's own activity: counted once per meeting or activity and host country,
and fed to the rollups of the indicators whose ``source`` is their metric."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import advisory_lock
from bp_common.events.outbox import Outbox
from indicators_api.event_metrics.models import EventMetric
from indicators_api.event_metrics.repository import EventMetricRepository
from indicators_api.event_metrics.schemas import EventMetricOut, EventMetricTotal, Fact
from indicators_api.framework.models import Indicator, Source
from indicators_api.framework.repository import IndicatorRepository
from indicators_api.rollups.service import Group, RollupService


def _source_lock(metric: EventMetric) -> str:
    # Taken by fact handlers and by the creation of an indicator fed by the metric, so a fact
    # arriving while such an indicator is created is counted exactly once.
    return f"indicators:source:{metric.value}"


class EventMetricService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.metrics = EventMetricRepository(session)
        self.indicators = IndicatorRepository(session)
        self.rollups = RollupService(session, outbox)

    async def count(self, facts: Sequence[Fact]) -> None:
        for metric in sorted({fact.metric for fact in facts}):
            await advisory_lock(self.session, _source_lock(metric))
        changed: list[Group] = []
        for fact in facts:
            if not await self.metrics.record(fact):
                continue
            await self.metrics.increment(fact.metric, fact.country, fact.year, fact.value)
            fed = await self.indicators.with_source(Source(fact.metric.value))
            if fed:
                await self.rollups.merge(self.metrics.rows_of_fact(fact))
                changed += [(i.code, i.goal, fact.country, fact.year) for i in fed]
        await self.rollups.announce(changed)

    async def forget_all(self) -> None:
        """Forget every fact, and the rollups of the indicators they feed, before a replay
        counts them again. Partners' results and their rollups are the service's own data."""
        for metric in sorted(EventMetric):
            await advisory_lock(self.session, _source_lock(metric))
        await self.metrics.delete_all()
        await self.rollups.forget([i.code for i in await self.indicators.event_fed()])

    async def feed(self, indicator: Indicator) -> None:
        """Give a new event-fed indicator the rollups of the facts counted so far."""
        metric = EventMetric(indicator.source.value)
        await advisory_lock(self.session, _source_lock(metric))
        await self.rollups.merge(self.metrics.rows_of_metric(indicator))
        groups = await self.metrics.groups_of(metric)
        await self.rollups.announce(
            (indicator.code, indicator.goal, country, year) for country, year in groups
        )

    async def total(
        self, metric: EventMetric, country: str | None, year: int | None
    ) -> EventMetricTotal:
        rows = await self.metrics.list(metric, country, year)
        breakdown = [EventMetricOut.model_validate(row) for row in rows]
        return EventMetricTotal(
            metric=metric, value=sum(row.value for row in breakdown), breakdown=breakdown
        )
