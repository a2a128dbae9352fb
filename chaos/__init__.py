"""Fault tests of the distributed mode (``make chaos``): the broker, a consumer, a relay, a
replica and the database are killed or restarted while writes flow, and each scenario reports
what was sent, what arrived, what was lost and what was applied twice. See docs/reliability.md."""
