"""Events this context publishes on ``meetings.events``."""

MEETING_SCHEDULED = "meetings.meeting.scheduled.v1"
MEETING_HELD = "meetings.meeting.held.v1"
MEETING_CANCELLED = "meetings.meeting.cancelled.v1"

TOPIC = "meetings.events"
