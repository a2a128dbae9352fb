"""Facts of the dialogue's own activity: counted once per meeting or activity and host country,
and fed to the rollups of the indicators whose ``source`` is their metric.

An activity cancelled after it was hosted no longer counts: its facts are removed and the groups
they were in recounted from the facts left. Which of an activity's news wins is decided by its
revision (plan-api bumps it on every change): a cancellation is kept with its revision, and
hosted news at that revision or older is stale and not counted, whenever it arrives (a
redelivery, a republished or re-driven event). plan-api never changes a cancelled activity, so
every hosted event of a cancelled activity is older than its cancellation: once cancelled, an
activity is never counted again, whatever the order the events come in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import advisory_lock
from bp_common.events.outbox import Outbox
from indicators_api.event_metrics.models import EventMetric
from indicators_api.event_metrics.repository import EventMetricRepository
from indicators_api.event_metrics.schemas import EventMetricOut, EventMetricTotal, Fact
from indicators_api.framework.models import Indicator, Source
from indicators_api.framework.repository import IndicatorRepository
from indicators_api.rollups.service import Group, RollupService

# The metrics counted from plan-api's activity events.
_ACTIVITY_METRICS = (EventMetric.ACTIVITIES_HOSTED,)


def _source_lock(metric: EventMetric) -> str:
    # Taken by fact handlers (counting and cancelling) and by the creation of an indicator fed
    # by the metric, so a fact arriving while such an indicator is created is counted exactly
    # once, and an activity's hosted and cancelled news are applied one after the other.
    return f"indicators:source:{metric.value}"


class EventMetricService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.metrics = EventMetricRepository(session)
        self.indicators = IndicatorRepository(session)
        self.rollups = RollupService(session, outbox)

    async def count(self, facts: Sequence[Fact]) -> None:
        await self._lock(fact.metric for fact in facts)
        await self._record(facts)

    async def count_activity(self, activity_id: str, revision: int, facts: Sequence[Fact]) -> None:
        """Count an activity's facts, unless it was cancelled at this revision or a later one."""
        # Under the lock a cancellation takes, so the two cannot interleave (a replay and the
        # live consumer may handle an activity's events at the same time).
        await self._lock([*_ACTIVITY_METRICS, *(fact.metric for fact in facts)])
        cancelled = await self.metrics.cancelled_revision(activity_id)
        if cancelled is not None and revision <= cancelled:
            return
        await self._record(facts)

    async def cancel_activity(self, activity_id: str, revision: int) -> None:
        """Stop counting an activity: remove its facts, recount the metric values and recompute
        the rollups of the groups they were in (a max or a latest cannot be decremented), and
        announce those groups. An activity never counted only has its cancellation kept."""
        await self._lock(_ACTIVITY_METRICS)
        cancelled = await self.metrics.cancelled_revision(activity_id)
        if cancelled is not None and cancelled >= revision:
            return  # heard already
        await self.metrics.mark_cancelled(activity_id, revision)
        changed: list[Group] = []
        for metric in _ACTIVITY_METRICS:
            groups = await self.metrics.groups_of_source(metric, activity_id)
            if not groups:
                continue
            fed = await self.indicators.with_source(Source(metric.value))
            if fed:
                # Recomputed from the other facts of the groups, before the source's go.
                await self.rollups.replace(
                    self.metrics.groups_of_source_fed(metric, activity_id),
                    self.metrics.rows_beside_source(metric, activity_id),
                )
                changed += [(i.code, i.goal, c, y) for i in fed for c, y in groups]
            await self.metrics.delete_source(metric, activity_id)
            await self.metrics.recount(metric, groups)
        await self.rollups.announce(changed)

    async def _lock(self, metrics: Iterable[EventMetric]) -> None:
        for metric in sorted(set(metrics)):
            await advisory_lock(self.session, _source_lock(metric))

    async def _record(self, facts: Sequence[Fact]) -> None:
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
        """Forget every fact and cancellation, and the rollups of the indicators they feed,
        before a replay counts them again. Partners' results and their rollups are the
        service's own data."""
        await self._lock(EventMetric)
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
