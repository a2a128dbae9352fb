"""Value types shared by the API schemas of every service."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator, BeforeValidator, Field

# Kosovo's user-assigned code, used by the dialogue's own documents.
_EXTRA_COUNTRY_CODES = {"XK"}


def _normalise_code(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _known_country(code: str) -> str:
    if code not in _EXTRA_COUNTRY_CODES and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"'{code}' is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str,
    BeforeValidator(_normalise_code),
    Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$", examples=["TR", "BG"]),
    AfterValidator(_known_country),
]


def is_country_code(value: str) -> bool:
    code = value.strip().upper()
    return len(code) == 2 and (
        code in _EXTRA_COUNTRY_CODES or pycountry.countries.get(alpha_2=code) is not None
    )
