"""Metrics (Prometheus) and traces (OpenTelemetry) of every service process."""
