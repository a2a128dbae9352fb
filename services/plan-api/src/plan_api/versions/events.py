"""Version events on ``plan.events`` (payloads in docs/events.md)."""

VERSION_CIRCULATED = "plan.version.circulated.v1"
PLAN_ENDORSED = "plan.endorsed.v1"
