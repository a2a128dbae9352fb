"""Value types shared by this service's schemas."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, TypeVar

import pycountry
from pydantic import AfterValidator, BeforeValidator, Field

H = TypeVar("H", bound=Hashable)


def _stripped_upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _known_currency(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return code


def unique(values: Sequence[H]) -> Sequence[H]:
    seen: set[H] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed more than once")
        seen.add(value)
    return values


# Projects and indicators are named by codes partners already use (e.g. GLO.ACT).
Code = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$", examples=["IMM-SR", "GLO.ACT"])
]
Acronym = Annotated[
    str,
    BeforeValidator(_stripped_upper),
    Field(pattern=r"^[A-Z][A-Z0-9.&-]{0,19}$", examples=["IOM", "UNODC"]),
]
CurrencyCode = Annotated[
    str,
    BeforeValidator(_stripped_upper),
    Field(pattern=r"^[A-Z]{3}$", examples=["EUR"]),
    AfterValidator(_known_currency),
]
# Priority goal numbers; which ones exist is checked against the endorsed plan.
Goal = Annotated[int, Field(ge=1, le=99)]
Year = Annotated[int, Field(ge=1900, le=2199)]
# Bound of any numeric value: sums of many stay far from overflowing a double (or JSON).
MAX_VALUE = 1e15


def normalise_acronym(value: str) -> str:
    return value.strip().upper()
