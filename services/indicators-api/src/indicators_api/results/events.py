"""Events this context publishes on ``indicators.events``."""

RESULTS_IMPORTED = "indicators.results.imported.v1"

TOPIC = "indicators.events"
