"""Amendment events on ``plan.events`` (payloads in docs/events.md)."""

AMENDMENT_DECIDED = "plan.amendment.decided.v1"
