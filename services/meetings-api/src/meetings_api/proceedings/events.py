"""Events this context publishes on ``meetings.events`` (payloads in docs/events.md)."""

INTERVENTION_RECORDED = "meetings.intervention.recorded.v1"
DECISION_RECORDED = "meetings.decision.recorded.v1"
