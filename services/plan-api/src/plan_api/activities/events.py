"""Activity events on ``plan.events`` (payloads in docs/events.md)."""

ACTIVITY_PROPOSED = "plan.activity.proposed.v1"
ACTIVITY_HOSTED = "plan.activity.hosted.v1"
ACTIVITY_SCHEDULED = "plan.activity.scheduled.v1"
ACTIVITY_CANCELLED = "plan.activity.cancelled.v1"
ACTIVITY_HELD = "plan.activity.held.v1"
