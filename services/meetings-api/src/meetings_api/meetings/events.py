"""Events this context publishes on ``meetings.events`` (payloads in docs/events.md)."""

MEETING_SCHEDULED = "meetings.meeting.scheduled.v1"
MEETING_RESCHEDULED = "meetings.meeting.rescheduled.v1"
MEETING_UPDATED = "meetings.meeting.updated.v1"
MEETING_HELD = "meetings.meeting.held.v1"
MEETING_CANCELLED = "meetings.meeting.cancelled.v1"

TOPIC = "meetings.events"
