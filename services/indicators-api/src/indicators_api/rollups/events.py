"""Events this context publishes on ``indicators.events``."""

ROLLUP_UPDATED = "indicators.rollup.updated.v1"
