"""Events the calendar is built from: plan-api's activities and this service's own meetings."""

from meetings_api.meetings.events import (
    MEETING_CANCELLED,
    MEETING_HELD,
    MEETING_RESCHEDULED,
    MEETING_SCHEDULED,
    MEETING_UPDATED,
)

PLAN_ACTIVITY_PROPOSED = "plan.activity.proposed.v1"
PLAN_ACTIVITY_HOSTED = "plan.activity.hosted.v1"
PLAN_ACTIVITY_SCHEDULED = "plan.activity.scheduled.v1"
PLAN_ACTIVITY_UNSCHEDULED = "plan.activity.unscheduled.v1"
PLAN_ACTIVITY_UPDATED = "plan.activity.updated.v1"
PLAN_ACTIVITY_CANCELLED = "plan.activity.cancelled.v1"
PLAN_ACTIVITY_HELD = "plan.activity.held.v1"
PLAN_ENDORSED = "plan.endorsed.v1"

ACTIVITY_EVENTS = (
    PLAN_ACTIVITY_PROPOSED,
    PLAN_ACTIVITY_HOSTED,
    PLAN_ACTIVITY_SCHEDULED,
    PLAN_ACTIVITY_UNSCHEDULED,
    PLAN_ACTIVITY_UPDATED,
    PLAN_ACTIVITY_CANCELLED,
    PLAN_ACTIVITY_HELD,
)
MEETING_EVENTS = (
    MEETING_SCHEDULED,
    MEETING_RESCHEDULED,
    MEETING_UPDATED,
    MEETING_HELD,
    MEETING_CANCELLED,
)
