"""Activity events on ``plan.events`` (payloads in docs/events.md)."""

ACTIVITY_PROPOSED = "plan.activity.proposed.v1"
ACTIVITY_HOSTED = "plan.activity.hosted.v1"
ACTIVITY_SCHEDULED = "plan.activity.scheduled.v1"
# The meeting that was to carry it out was cancelled: scheduled no more.
ACTIVITY_UNSCHEDULED = "plan.activity.unscheduled.v1"
# Any edit other than a (re)scheduling, which is ACTIVITY_SCHEDULED whatever changed with it.
ACTIVITY_UPDATED = "plan.activity.updated.v1"
ACTIVITY_CANCELLED = "plan.activity.cancelled.v1"
ACTIVITY_HELD = "plan.activity.held.v1"
