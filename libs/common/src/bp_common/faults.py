"""Crash points for the fault tests: kill the process at the most delicate moment (between a
database commit and what follows it), the way SIGKILL would, to prove nothing is lost or doubled."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)


class CrashPoint:
    def __init__(self, name: str, after: int | None) -> None:
        self.name = name
        self.remaining = after

    def reached(self, count: int = 1) -> None:
        """Count ``count`` occurrences; exit the process at once when the budget is spent."""
        if self.remaining is None:
            return
        self.remaining -= count
        if self.remaining <= 0:
            logger.critical("fault test: crashing at %s", self.name)
            os._exit(137)
