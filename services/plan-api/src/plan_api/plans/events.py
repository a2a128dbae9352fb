"""The topic every context of plan-api publishes on (types in each context's ``events``)."""

TOPIC = "plan.events"
