"""Each indicator's value per group (`by`), with its own rule applied, consistent with every
result and event received so far. Values are kept per indicator x goal x country x year x
organisation x project as results and events arrive (in the same transaction); coarser groupings
combine those, so reading never rescans the results.

Rules, per indicator (`aggregation`, `cumulative`):

- A *per-period* indicator (`cumulative=false`) combines every row of the group: `sum` adds the
  values, `mean` averages them, `max` takes the largest, `latest` takes the value of the group's
  latest period (periods ordered by end date, then month < quarter < year; the rows of that
  period, e.g. its disaggregated parts, add up).
- A *cumulative* indicator reports running totals, so periods are never added up. Each series
  (one organisation's reports for one project and country, or the dialogue's own activity in one
  host country) counts with its value at its latest period within the group: within the year
  when grouped by year, over all years otherwise. The rule then combines the series: `sum` adds
  them, `mean` averages the rows of their latest periods, `max` takes the largest, `latest` the
  latest.
- A qualitative indicator's value is the number of reports.

`target` is the indicator's target for the row's year (when grouped by year or filtered on one)
and `progress = (value - baseline) / (target - baseline)`, a missing baseline counting as 0. The
same formula measures progress towards a lower target (`ascending=false`). When the target
equals the baseline, progress is 1 once the value is at or beyond the target in the indicator's
direction, else 0."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.events.outbox import Outbox
from indicators_api.framework.models import Aggregation, Indicator, Measure
from indicators_api.framework.repository import IndicatorRepository
from indicators_api.rollups import events
from indicators_api.rollups.models import NONE, Rollup
from indicators_api.rollups.repository import RollupRepository, SnapshotRepository
from indicators_api.rollups.schemas import RollupFilters, RollupOut, RollupSnapshotOut

DIMENSIONS = ("goal", "country", "year", "organisation", "project")
# indicator, goal, country, year of a changed fine group (country "" when none)
Group = tuple[str, int, str, int]


@dataclass(frozen=True, slots=True)
class _Part:
    total: float
    count: int
    top: float | None
    latest_key: int
    latest_value: float


def _parts(indicator: Indicator, members: Sequence[Rollup]) -> list[_Part]:
    if not indicator.cumulative:
        return [
            _Part(m.value_sum, m.value_count, m.value_max, m.latest_key, m.latest_value)
            for m in members
        ]
    latest: dict[tuple[int, str, str, str], Rollup] = {}
    for m in members:
        series = (m.goal, m.country, m.organisation, m.project)
        if series not in latest or m.latest_key > latest[series].latest_key:
            latest[series] = m
    return [
        _Part(m.latest_value, m.latest_count, m.latest_value, m.latest_key, m.latest_value)
        for m in latest.values()
    ]


def value_of(indicator: Indicator, members: Sequence[Rollup]) -> float:
    if indicator.measure is Measure.QUALITATIVE:
        return float(sum(m.value_count for m in members))
    parts = _parts(indicator, members)
    rule = indicator.aggregation
    if rule is Aggregation.SUM:
        return sum(p.total for p in parts)
    if rule is Aggregation.MEAN:
        count = sum(p.count for p in parts)
        return sum(p.total for p in parts) / count if count else 0.0
    if rule is Aggregation.MAX:
        return max((p.top for p in parts if p.top is not None), default=0.0)
    last = max(p.latest_key for p in parts)
    return sum(p.latest_value for p in parts if p.latest_key == last)


def progress_of(indicator: Indicator, value: float, target: float) -> float:
    baseline = indicator.baseline_value or 0.0
    if target == baseline:
        reached = value >= target if indicator.ascending else value <= target
        return 1.0 if reached else 0.0
    return (value - baseline) / (target - baseline)


class RollupService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.rollups = RollupRepository(session)
        self.indicators = IndicatorRepository(session)
        self.snapshots = SnapshotRepository(session)
        self.session = session
        self.outbox = outbox

    # -- writers (called in the transaction that stores the rows) --------------------------

    async def merge(self, rows: Select) -> None:
        await self.rollups.merge(rows)

    async def replace(self, groups: Select, rows: Select) -> None:
        await self.rollups.replace(groups, rows)

    async def forget(self, indicator_codes: Collection[str]) -> None:
        await self.rollups.delete_of_indicators(indicator_codes)

    async def recompute(self, code: str, rows: Select) -> list[Group]:
        """Rebuild one indicator's rollups from ``rows``, all of its fact rows; its groups,
        before and after, to announce."""
        before = await self.rollups.groups_of(code)
        await self.rollups.delete_of_indicators([code])
        await self.rollups.merge(rows)
        return sorted(set(before) | set(await self.rollups.groups_of(code)))

    async def announce(self, groups: Iterable[Group]) -> None:
        """One ``indicators.rollup.updated.v1`` per indicator, naming its changed groups."""
        by_indicator: dict[str, set[tuple[int, str, int]]] = defaultdict(set)
        for indicator, goal, country, year in groups:
            by_indicator[indicator].add((goal, country, year))
        for indicator, changed in sorted(by_indicator.items()):
            await self.outbox.emit(
                self.session,
                events.RollupUpdatedV1(
                    indicator=indicator,
                    groups=[
                        events.RollupGroupV1(goal=goal, country=country or None, year=year)
                        for goal, country, year in sorted(changed, key=lambda g: (g[0], g[2], g[1]))
                    ],
                ),
            )

    # -- reader -----------------------------------------------------------------------------

    async def rows(self, filters: RollupFilters, by: Sequence[str]) -> list[RollupOut]:
        fine = await self.rollups.fine(filters)
        indicators = await self.indicators.by_codes({row.indicator for row in fine})
        # A dimension shows when grouped by, or when a filter fixes it.
        shown = [d for d in DIMENSIONS if d in by or getattr(filters, d) is not None]
        groups: dict[tuple[Any, ...], list[Rollup]] = defaultdict(list)
        for row in fine:
            groups[(row.indicator, *(getattr(row, d) for d in shown))].append(row)
        answer = []
        for key, members in groups.items():
            indicator = indicators[key[0]]
            dims: dict[str, Any] = {
                d: (v if v != NONE else None) for d, v in zip(shown, key[1:], strict=True)
            }
            value = value_of(indicator, members)
            target = None
            if dims.get("year") is not None and indicator.measure is not Measure.QUALITATIVE:
                target = indicator.target_for(dims["year"])
            answer.append(
                RollupOut(
                    indicator=indicator.code,
                    **dims,
                    value=value,
                    target=target,
                    progress=None if target is None else progress_of(indicator, value, target),
                )
            )
        return answer

    # -- the results as presented at a meeting -----------------------------------------------

    async def freeze_for_meeting(self, meeting_id: uuid.UUID, taken_at: datetime) -> None:
        """Keep the rollups by goal x indicator x year as they stand now, once per meeting, and
        announce them. A redelivered or replayed ``held`` finds the snapshot and leaves it: it
        was what the meeting saw, which a rebuild today could not reproduce."""
        if await self.snapshots.exists(meeting_id):
            return
        rows = await self.rows(RollupFilters(), ["goal", "year"])
        titles = {
            code: indicator.title
            for code, indicator in (
                await self.indicators.by_codes({row.indicator for row in rows})
            ).items()
        }
        frozen = sorted(
            (
                events.SnapshotRowV1(
                    indicator=row.indicator,
                    title=titles[row.indicator],
                    goal=row.goal or 0,
                    year=row.year or 0,
                    value=row.value,
                    target=row.target,
                    progress=row.progress,
                )
                for row in rows
            ),
            key=lambda r: (r.goal, r.indicator, r.year),
        )
        snapshot = events.RollupSnapshotTakenV1(
            meeting_id=meeting_id, taken_at=taken_at, rows=frozen
        )
        stored = await self.snapshots.insert(
            {"meeting_id": meeting_id, "taken_at": taken_at, "rows": snapshot.data()["rows"]}
        )
        if stored:
            await self.outbox.emit(self.session, snapshot)

    async def snapshots_of(self, meeting_id: uuid.UUID) -> list[RollupSnapshotOut]:
        """The meeting's snapshot, none while it is not held (or its news has not arrived)."""
        snapshot = await self.snapshots.of_meeting(meeting_id)
        return [] if snapshot is None else [RollupSnapshotOut.model_validate(snapshot)]
