"""Benchmarks of the platform against its physical limits, measured side by side in one run."""
