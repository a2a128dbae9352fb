"""Value types of this service's own schemas; those every service shares are bp_common.types."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field

from indicators_api.periods import MAX_YEAR, MIN_YEAR

H = TypeVar("H", bound=Hashable)


def unique(values: Sequence[H]) -> Sequence[H]:
    seen: set[H] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed more than once")
        seen.add(value)
    return values


# A list that names each value once: refused otherwise, and the schema says so.
UniqueList = Annotated[
    list[H], AfterValidator(unique), Field(json_schema_extra={"uniqueItems": True})
]

# Projects and indicators are named by codes partners already use (e.g. GLO.ACT).
Code = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$", examples=["IMM-SR", "GLO.ACT"])
]
# A year a reporting period can name: one short of bp_common.types.Year.
ReportingYear = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]
# Bound of any numeric value: sums of many stay far from overflowing a double (or JSON).
MAX_VALUE = 1e15
# An IATI activity identifier: the reporting organisation's identifier, a hyphen, its own code.
IatiIdentifier = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,149}$",
        examples=["XM-DAC-47066-IMM-SR"],
    ),
]
