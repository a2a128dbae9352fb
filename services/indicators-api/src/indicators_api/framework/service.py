"""The results framework: indicators under the plan's priority goals, and the snapshots of it
taken when a plan version is endorsed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, InvalidInput, NotFound
from bp_common.events.outbox import Outbox
from bp_common.orm import utcnow
from bp_common.pagination import (
    Page,
    cursor_datetime,
    cursor_text,
    cursor_uuid,
    page_of,
    read_cursor,
)
from bp_common.revisions import Precondition
from indicators_api.event_metrics.repository import EventMetricRepository
from indicators_api.event_metrics.service import EventMetricService
from indicators_api.framework import events
from indicators_api.framework.models import Indicator, Measure, Source
from indicators_api.framework.repository import IndicatorRepository, SnapshotRepository
from indicators_api.framework.schemas import (
    FrameworkGoal,
    FrameworkOut,
    GoalOut,
    IndicatorCreate,
    IndicatorFilters,
    IndicatorOut,
    IndicatorUpdate,
    PlanEndorsed,
    SnapshotOut,
)
from indicators_api.results.repository import ResultRepository
from indicators_api.rollups.service import RollupService

# Until a plan is endorsed, goals 1..6 (the six priority goals) are accepted, untitled.
DEFAULT_GOALS = tuple(range(1, 7))


class IndicatorNotFound(NotFound):
    code = "indicator_not_found"


class IndicatorExists(Conflict):
    code = "indicator_exists"


class UnknownGoal(InvalidInput):
    code = "unknown_goal"


class MeasureConflictsWithResults(Conflict):
    code = "measure_conflicts_with_results"


class DisaggregationInUse(Conflict):
    code = "disaggregation_in_use"


# Fields whose change moves the indicator's values or progress: its rollups are recomputed and
# every group announced, so the dashboard's standing and other readers follow.
_MOVES_ROLLUPS = {"measure", "aggregation", "cumulative", "ascending", "baseline", "targets"}


def _state(indicator: Indicator) -> dict[str, Any]:
    """The indicator as a create body states it, in JSON."""
    return IndicatorOut.model_validate(indicator).model_dump(
        mode="json", exclude={"id", "created_at", "updated_at"}
    )


class FrameworkService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.indicators = IndicatorRepository(session)
        self.snapshots = SnapshotRepository(session)

    async def goals(self) -> list[GoalOut]:
        latest = await self.snapshots.latest()
        if latest is None:
            return [GoalOut(number=n) for n in DEFAULT_GOALS]
        return [GoalOut.model_validate(goal) for goal in latest.goals]

    async def check_goals(self, goals: Sequence[tuple[list[str | int], int]]) -> None:
        """Refuse goals (given with their location in the request) the plan does not have."""
        known = {goal.number for goal in await self.goals()}
        errors = [
            FieldError(loc=loc, code=UnknownGoal.code, message=f"{goal} is not a plan goal")
            for loc, goal in goals
            if goal not in known
        ]
        if errors:
            raise UnknownGoal(
                f"Goals must be among the endorsed plan's: {sorted(known)}.", errors=errors
            )

    async def create(self, data: IndicatorCreate) -> Indicator:
        await self.check_goals([(["body", "goal"], data.goal)])
        values = data.model_dump(exclude={"baseline", "targets"})
        indicator = Indicator(
            **values,
            baseline_year=data.baseline.year if data.baseline else None,
            baseline_value=data.baseline.value if data.baseline else None,
            targets=[target.model_dump() for target in data.targets],
        )
        if not await self.indicators.insert(indicator):
            raise IndicatorExists(f"An indicator with code {data.code} exists.")
        if indicator.source is not Source.REPORTED:
            await EventMetricService(self.session, self.outbox).feed(indicator)
        return indicator

    async def get(self, code: str, *, for_update: bool = False) -> Indicator:
        indicator = await self.indicators.get(code, for_update=for_update)
        if indicator is None:
            raise IndicatorNotFound(f"No indicator with code {code}.")
        return indicator

    async def update(
        self, code: str, data: IndicatorUpdate, precondition: Precondition
    ) -> Indicator:
        """Correct an indicator against the revision its corrector read. The result is checked
        as a new indicator would be, and against its standing results (a measure they do not
        fit, a dimension they may use). Snapshots taken before keep it as it was."""
        indicator = await self.get(code, for_update=True)
        precondition.check(indicator.revision, "indicator")
        state = _state(indicator)
        # The fields given, whole (a nested model's defaults included).
        dumped = data.model_dump(mode="json")
        given = {name: dumped[name] for name in data.model_fields_set}
        if "targets" in given:
            given["targets"] = sorted(given["targets"], key=lambda target: target["year"])
        changes = {name: value for name, value in given.items() if value != state[name]}
        if not changes:  # a repeated request
            return indicator
        merged = self._checked(state | changes)
        await self._fits_results(indicator, merged, changes)
        for name in ("title", "level", "measure", "ascending", "aggregation", "cumulative"):
            setattr(indicator, name, getattr(merged, name))
        indicator.baseline_year = merged.baseline.year if merged.baseline else None
        indicator.baseline_value = merged.baseline.value if merged.baseline else None
        indicator.targets = [target.model_dump() for target in merged.targets]
        indicator.disaggregations = [str(d) for d in merged.disaggregations]
        indicator.updated_at = utcnow()
        await self.session.flush()
        await self.outbox.emit(
            self.session,
            events.IndicatorCorrectedV1.of(indicator, changed=sorted(changes)),
        )
        if changes.keys() & _MOVES_ROLLUPS:
            rollups = RollupService(self.session, self.outbox)
            if indicator.source is Source.REPORTED:
                rows = ResultRepository.rows_of_indicator(indicator)
            else:
                rows = EventMetricRepository.rows_of_metric(indicator)
            await rollups.announce(await rollups.recompute(indicator.code, rows))
        return indicator

    @staticmethod
    def _checked(state: dict[str, Any]) -> IndicatorCreate:
        """The corrected indicator, checked by the rules of a new one."""
        try:
            return IndicatorCreate.model_validate(state)
        except ValidationError as exc:
            raise InvalidInput(
                "The corrected indicator would not be valid; nothing was changed.",
                errors=[
                    FieldError(loc=["body", *e["loc"]], code=e["type"], message=e["msg"])
                    for e in exc.errors(include_url=False)
                ],
            ) from exc

    async def _fits_results(
        self, indicator: Indicator, merged: IndicatorCreate, changes: dict[str, Any]
    ) -> None:
        if not changes.keys() & {"measure", "disaggregations"}:
            return
        count, texts, top = await ResultRepository(self.session).standing_values_of_indicator(
            indicator.code
        )
        if not count:
            return
        old, new = indicator.measure, merged.measure
        if old is not new and Measure.QUALITATIVE in (old, new):
            raise MeasureConflictsWithResults(
                f"{count} results reported for {indicator.code} are "
                f"{'text' if texts else 'numbers'}: a {new.value} indicator cannot hold them. "
                "Withdraw them first; nothing was changed."
            )
        if new is Measure.PERCENTAGE and top is not None and top > 100:
            raise MeasureConflictsWithResults(
                f"Results reported for {indicator.code} reach {top:g}: not a percentage. "
                "Nothing was changed."
            )
        dropped = set(indicator.disaggregations) - {str(d) for d in merged.disaggregations}
        if dropped:
            raise DisaggregationInUse(
                f"{indicator.code} has {count} results, which may be disaggregated by "
                f"{', '.join(sorted(dropped))}: a dimension is only removed from an indicator "
                "without results. Nothing was changed."
            )

    async def list(
        self, filters: IndicatorFilters, limit: int, cursor: str | None
    ) -> Page[IndicatorOut]:
        after = read_cursor(cursor, cursor_text)
        rows = await self.indicators.list(filters, limit=limit + 1, after=after)
        return page_of(rows, limit, lambda i: (i.code,), IndicatorOut.model_validate)

    async def framework(self) -> FrameworkOut:
        latest = await self.snapshots.latest()
        goals = await self.goals()
        indicators = await self.indicators.list(IndicatorFilters())
        return FrameworkOut(
            plan_id=latest.plan_id if latest else None,
            version=latest.version if latest else None,
            endorsed_at=latest.endorsed_at if latest else None,
            goals=[
                FrameworkGoal(
                    number=goal.number,
                    title=goal.title,
                    indicators=[
                        IndicatorOut.model_validate(i) for i in indicators if i.goal == goal.number
                    ],
                )
                for goal in goals
            ],
        )

    async def list_snapshots(self, limit: int, cursor: str | None) -> Page[SnapshotOut]:
        before = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.snapshots.list(limit=limit + 1, before=before)
        return page_of(
            rows,
            limit,
            lambda s: (s.endorsed_at.isoformat(), str(s.id)),
            SnapshotOut.model_validate,
        )

    async def endorse(self, plan: PlanEndorsed, endorsed_at: datetime) -> None:
        """Adopt the endorsed plan's goals and keep the framework as it stood (once per plan
        version, however often the event is delivered)."""
        indicators = await self.indicators.list(IndicatorFilters())
        await self.snapshots.insert(
            {
                "plan_id": plan.plan_id,
                "version": plan.version,
                "title": plan.title,
                "meeting_id": plan.meeting_id,
                "endorsed_at": endorsed_at,
                "goals": [goal.model_dump() for goal in plan.goals],
                "indicators": [
                    IndicatorOut.model_validate(i).model_dump(mode="json") for i in indicators
                ],
            }
        )
