"""Reporting periods: ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

_PATTERN = re.compile(r"(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?")
# The same forms, for JSON Schema (the document) and query filters.
PERIOD_PATTERN = r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
_MONTH, _QUARTER, _YEAR = 1, 2, 3
MIN_YEAR, MAX_YEAR = 1900, 2199


@dataclass(frozen=True, slots=True)
class Period:
    text: str
    year: int
    starts_on: date
    ends_on: date
    # Total order of periods for "latest": by end date, then month < quarter < year, so a
    # year's figure is later than its last quarter's or December's.
    key: int


@lru_cache(maxsize=4096)  # an import repeats a handful of periods thousands of times
def parse_period(text: str) -> Period | None:
    match = _PATTERN.fullmatch(text)
    if match is None or not MIN_YEAR <= int(match[1]) <= MAX_YEAR:
        return None
    year = int(match[1])
    if match[2]:
        first, last, rank = 3 * int(match[2]) - 2, 3 * int(match[2]), _QUARTER
    elif match[3]:
        first = last = int(match[3])
        rank = _MONTH
    else:
        first, last, rank = 1, 12, _YEAR
    ends_on = date(year, last, calendar.monthrange(year, last)[1])
    key = (ends_on.year * 10_000 + ends_on.month * 100 + ends_on.day) * 10 + rank
    return Period(text, year, date(year, first, 1), ends_on, key)


def month_period(day: date) -> Period:
    period = parse_period(f"{day.year:04d}-{day.month:02d}")
    assert period is not None
    return period


def year_or_quarter_period(year: int, quarter: int | None) -> Period | None:
    return parse_period(f"{year:04d}-Q{quarter}" if quarter else f"{year:04d}")
