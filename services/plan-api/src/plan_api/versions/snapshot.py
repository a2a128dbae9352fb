"""The plan's content as a version freezes it, and the item-by-item difference of two versions.
Pure functions over plain data: the snapshot is stored as JSON and never recomputed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plan_api.activities.events import ActivityV1
from plan_api.activities.models import Activity
from plan_api.plans.models import ActionPoint, Goal, Plan
from plan_api.versions.schemas import (
    ActionPointContent,
    ActivityContent,
    Change,
    FieldChange,
    GoalContent,
    PlanContent,
)

# Bookkeeping, not content: a new revision alone is no change to the plan.
_NOT_COMPARED = {"revision"}


def plan_content(
    plan: Plan, goals: Iterable[Goal], points: Iterable[ActionPoint], activities: Iterable[Activity]
) -> PlanContent:
    by_goal: dict[int | None, list[ActionPointContent]] = {}
    for point in sorted(points, key=lambda p: (p.position, str(p.id))):
        by_goal.setdefault(point.goal, []).append(ActionPointContent(id=point.id, text=point.text))
    ordered = sorted(activities, key=lambda a: (a.goal, a.year, a.quarter or 0, a.title, str(a.id)))
    return PlanContent(
        title=plan.title,
        period_start=plan.period_start,
        period_end=plan.period_end,
        goals=[
            GoalContent(number=g.number, title=g.title, action_points=by_goal.get(g.number, []))
            for g in sorted(goals, key=lambda g: g.number)
        ],
        action_points=by_goal.get(None, []),
        activities=[
            ActivityContent.model_validate(
                ActivityV1.of(a).data() | {"description": a.description, "lead": a.lead}
            )
            for a in ordered
        ],
    )


def diff(before: PlanContent, after: PlanContent) -> list[Change]:
    """What changed from ``before`` to ``after``, item by item, with field-level values."""
    return [
        *_compare("plan", {None: _plan_fields(before)}, {None: _plan_fields(after)}),
        *_compare("goal", _goals(before), _goals(after)),
        *_compare("action_point", _points(before), _points(after)),
        *_compare("activity", _activities(before), _activities(after)),
    ]


def _compare(
    item: Any, before: dict[Any, dict[str, Any]], after: dict[Any, dict[str, Any]]
) -> list[Change]:
    changes = []
    for ref in [*before, *(ref for ref in after if ref not in before)]:
        old, new = before.get(ref), after.get(ref)
        if new is None:
            changes.append(Change(item=item, ref=ref, change="removed", before=old))
        elif old is None:
            changes.append(Change(item=item, ref=ref, change="added", after=new))
        else:
            fields = [
                FieldChange(field=name, before=old.get(name), after=new.get(name))
                for name in dict.fromkeys([*old, *new])
                if name not in _NOT_COMPARED and old.get(name) != new.get(name)
            ]
            if fields:
                changes.append(Change(item=item, ref=ref, change="modified", fields=fields))
    return changes


def _plan_fields(content: PlanContent) -> dict[str, Any]:
    return content.model_dump(mode="json", include={"title", "period_start", "period_end"})


def _goals(content: PlanContent) -> dict[Any, dict[str, Any]]:
    return {g.number: {"number": g.number, "title": g.title} for g in content.goals}


def _points(content: PlanContent) -> dict[Any, dict[str, Any]]:
    located = [(None, p) for p in content.action_points] + [
        (g.number, p) for g in content.goals for p in g.action_points
    ]
    return {str(p.id): {"id": str(p.id), "goal": goal, "text": p.text} for goal, p in located}


def _activities(content: PlanContent) -> dict[Any, dict[str, Any]]:
    return {str(a.activity_id): a.model_dump(mode="json") for a in content.activities}
