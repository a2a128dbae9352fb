"""Value types shared by the API schemas of every service: codes as the ISO lists have them, free
text PostgreSQL can store, and the ranges of years, quarters and goal numbers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Kosovo's user-assigned code, used by the dialogue's own documents.
_EXTRA_COUNTRY_CODES = {"XK"}
# PostgreSQL refuses NUL in text: refuse it on input, as a 422, rather than fail on insert.
NUL_FREE = r"^[^\x00]*$"


def stripped_upper(value: object) -> object:
    """Codes and acronyms compare in upper case, however the caller typed them."""
    return value.strip().upper() if isinstance(value, str) else value


def _known_country(code: str) -> str:
    if code not in _EXTRA_COUNTRY_CODES and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code")
    return code


def _known_currency(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"'{code}' is not an ISO 4217 currency code")
    return code


CountryCode = Annotated[
    str,
    BeforeValidator(stripped_upper),
    Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$", examples=["TR", "BG"]),
    AfterValidator(_known_country),
]
CurrencyCode = Annotated[
    str,
    BeforeValidator(stripped_upper),
    Field(pattern=r"^[A-Z]{3}$", examples=["EUR"]),
    AfterValidator(_known_currency),
]
# The acronym of an implementing or reporting organisation.
Acronym = Annotated[
    str,
    BeforeValidator(stripped_upper),
    Field(pattern=r"^[A-Z][A-Z0-9.&-]{0,19}$", examples=["IOM", "UNODC"]),
]


def is_country_code(value: str) -> bool:
    code = value.strip().upper()
    return len(code) == 2 and (
        code in _EXTRA_COUNTRY_CODES or pycountry.countries.get(alpha_2=code) is not None
    )


def bounded_text(max_length: int, *, min_length: int | None = 1) -> StringConstraints:
    """Free text, trimmed, free of NUL and of ``min_length`` to ``max_length`` characters once
    trimmed: ``Annotated[str, bounded_text(300)]``. A filter that may be empty passes
    ``min_length=None``."""
    return StringConstraints(
        strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=NUL_FREE
    )


# A statement recorded at a meeting. plan-api turns some into amendments and hosting offers, so
# both services take the same length.
LongText = Annotated[str, bounded_text(10_000)]

Year = Annotated[int, Field(ge=1900, le=2200)]
Quarter = Annotated[int, Field(ge=1, le=4)]
# A priority goal of the plan; which ones exist is checked against the endorsed plan.
GoalNumber = Annotated[int, Field(ge=1, le=99)]


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1
