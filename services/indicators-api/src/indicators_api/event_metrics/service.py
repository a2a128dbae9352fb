"""Facts of the dialogue's own activity: counted once per meeting or activity and host country,
and fed to the rollups of the indicators whose ``source`` is their metric.

An activity's facts follow its news (plan-api sends the whole activity with each): one per host
country, in the activity's year or quarter as it stands, none once it is cancelled. Which news
wins is decided by its revision (plan-api bumps it on every change): the revision of the latest
news applied is kept per activity, and news at that revision or older is stale and changes
nothing, whenever it arrives (a redelivery, a republished or re-driven event, a replay). plan-api
never changes a cancelled activity, so every other news of it is older than its cancellation:
once cancelled, an activity is never counted again, whatever the order the events come in."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

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
# What a held meeting's corrected delegation list changes (it stays one meeting held).
_ATTENDANCE_METRICS = (EventMetric.PARTICIPANTS, EventMetric.COUNTRIES_REPRESENTED)


def _source_lock(metric: EventMetric) -> str:
    # Taken by fact handlers (counting, moving and cancelling) and by the creation of an
    # indicator fed by the metric, so a fact arriving while such an indicator is created is
    # counted exactly once, and an activity's news are applied one after the other.
    return f"indicators:source:{metric.value}"


class EventMetricService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.metrics = EventMetricRepository(session)
        self.indicators = IndicatorRepository(session)
        self.rollups = RollupService(session, outbox)

    async def count(self, facts: Sequence[Fact]) -> None:
        await self._lock(fact.metric for fact in facts)
        await self.rollups.announce(await self._add(facts))

    async def count_meeting(self, meeting_id: str, revision: int, facts: Sequence[Fact]) -> None:
        """A meeting held: its facts are counted once (keyed by the meeting). If a corrected
        attendance of a later revision came first, its facts stand (this news finds them
        counted) and the revision kept stays the later one."""
        await self._lock([*_ATTENDANCE_METRICS, *(fact.metric for fact in facts)])
        applied = await self.metrics.applied_revision(meeting_id)
        if applied is None or revision > applied:
            await self.metrics.mark_applied(meeting_id, revision)
        await self.rollups.announce(await self._add(facts))

    async def correct_meeting(self, meeting_id: str, revision: int, facts: Sequence[Fact]) -> None:
        """A held meeting's attendance corrected: its participants and countries represented
        become ``facts``' (taken back and counted anew, rollups recomputed), unless news at this
        revision or a later one was applied. The meeting counts as held either way (once)."""
        await self._lock([*_ATTENDANCE_METRICS, *(fact.metric for fact in facts)])
        applied = await self.metrics.applied_revision(meeting_id)
        if applied is not None and revision <= applied:
            return  # stale, or heard already
        await self.metrics.mark_applied(meeting_id, revision)
        wanted = set(facts)
        counted: set[Fact] = set()
        changed: list[Group] = []
        for metric in _ATTENDANCE_METRICS:
            had = set(await self.metrics.facts_of_source(metric, meeting_id))
            counted |= had
            gone = had - wanted
            if gone:
                changed += await self._take_back(metric, meeting_id, gone)
        changed += await self._add([fact for fact in facts if fact not in counted])
        await self.rollups.announce(changed)

    async def apply_activity(self, activity_id: str, revision: int, facts: Sequence[Fact]) -> None:
        """Make the activity's facts ``facts``, those of its news at ``revision`` (none once it is
        cancelled or has no host), unless news at this revision or a later one was applied.

        Facts it no longer has (a host gone, or moved to another year or quarter) are removed and
        the metric values and the rollups of their groups recomputed from the facts left (a max
        or a latest cannot be decremented); new facts are then added. Every group changed is
        announced."""
        # Under one lock for all of an activity's news, so two of them cannot interleave (a
        # replay and the live consumer may handle an activity's events at the same time).
        await self._lock([*_ACTIVITY_METRICS, *(fact.metric for fact in facts)])
        applied = await self.metrics.applied_revision(activity_id)
        if applied is not None and revision <= applied:
            return  # stale, or heard already
        await self.metrics.mark_applied(activity_id, revision)
        wanted = set(facts)
        counted: set[Fact] = set()
        changed: list[Group] = []
        for metric in _ACTIVITY_METRICS:
            had = set(await self.metrics.facts_of_source(metric, activity_id))
            counted |= had
            # Removed first: a fact moved to another period keeps its key (activity, country).
            gone = had - wanted
            if gone:
                changed += await self._take_back(metric, activity_id, gone)
        changed += await self._add([fact for fact in facts if fact not in counted])
        await self.rollups.announce(changed)

    async def cancel_activity(self, activity_id: str, revision: int) -> None:
        """Stop counting an activity. An activity never counted only has its revision kept."""
        await self.apply_activity(activity_id, revision, [])

    async def _lock(self, metrics: Iterable[EventMetric]) -> None:
        for metric in sorted(set(metrics)):
            await advisory_lock(self.session, _source_lock(metric))

    async def _take_back(
        self, metric: EventMetric, source_id: str, gone: Collection[Fact]
    ) -> list[Group]:
        """Remove the source's ``gone`` facts; the groups of fed indicators changed."""
        countries = {fact.country for fact in gone}
        groups = sorted({(fact.country, fact.year) for fact in gone})
        changed: list[Group] = []
        fed = await self.indicators.with_source(Source(metric.value))
        if fed:
            # Recomputed from the other facts of the groups, before the source's go.
            await self.rollups.replace(
                self.metrics.groups_of_source_fed(metric, source_id, countries),
                self.metrics.rows_beside_source(metric, source_id, countries),
            )
            changed = [(i.code, i.goal, c, y) for i in fed for c, y in groups]
        await self.metrics.delete_source(metric, source_id, countries)
        await self.metrics.recount(metric, groups)
        return changed

    async def _add(self, facts: Sequence[Fact]) -> list[Group]:
        """Count the facts not counted yet; the groups of fed indicators changed."""
        changed: list[Group] = []
        for fact in facts:
            if not await self.metrics.record(fact):
                continue
            await self.metrics.increment(fact.metric, fact.country, fact.year, fact.value)
            fed = await self.indicators.with_source(Source(fact.metric.value))
            if fed:
                await self.rollups.merge(self.metrics.rows_of_fact(fact))
                changed += [(i.code, i.goal, fact.country, fact.year) for i in fed]
        return changed

    async def forget_all(self) -> None:
        """Forget every fact and revision applied, and the rollups of the indicators they feed,
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
