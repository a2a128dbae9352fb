"""Value types shared by the API schemas of every service: codes as the ISO lists have them, free
text PostgreSQL can store, the ranges of years, quarters and goal numbers, and dates, times and
booleans taken only in their one textual form.

Each type's JSON Schema (in the OpenAPI document) says what it checks: a constraint is declared
on the inner type, which the normalising ``BeforeValidator`` wraps, so that pydantic keeps it in
the schema (placed after the validator, it is checked but left out)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

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


def code_list_pattern(codes: Iterable[str]) -> str:
    """A regular expression matching exactly ``codes``, grouped by all but their last letter
    (``^(?:A[DEF]|B[AB])$``): the document lists the codes the server knows without an enum,
    of which a fuzzer would try every value on every operation."""
    groups: dict[str, list[str]] = {}
    for code in sorted(set(codes)):
        groups.setdefault(code[:-1], []).append(code[-1])
    return "^(?:" + "|".join(f"{p}[{''.join(last)}]" for p, last in groups.items()) + ")$"


COUNTRY_PATTERN = code_list_pattern(
    [country.alpha_2 for country in pycountry.countries] + sorted(_EXTRA_COUNTRY_CODES)
)
CURRENCY_PATTERN = code_list_pattern(currency.alpha_3 for currency in pycountry.currencies)

# Upper case in the schema; the server also takes lower case and surrounding spaces.
CountryCode = Annotated[
    Annotated[
        str,
        Field(
            pattern=COUNTRY_PATTERN,
            description="ISO 3166-1 alpha-2 (and XK, Kosovo).",
            examples=["TR", "BG"],
        ),
        AfterValidator(_known_country),
    ],
    BeforeValidator(stripped_upper),
]
CurrencyCode = Annotated[
    Annotated[
        str,
        Field(pattern=CURRENCY_PATTERN, description="ISO 4217.", examples=["EUR"]),
        AfterValidator(_known_currency),
    ],
    BeforeValidator(stripped_upper),
]
# The acronym of an implementing or reporting organisation, in any case (stored upper case):
# a query string cannot tell `true` the text from `true` the boolean, so the document must not
# call lower case invalid when the server takes it.
Acronym = Annotated[
    Annotated[
        str,
        StringConstraints(pattern=r"^[A-Z][A-Z0-9.&-]{0,19}$"),
        WithJsonSchema(
            {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9.&-]{0,19}$", "examples": ["IOM"]}
        ),
    ],
    BeforeValidator(stripped_upper),
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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})"
)


def _iso_text(pattern: re.Pattern[str], kind: str, form: str) -> BeforeValidator:
    """Let through only ISO 8601 text (or a value already parsed): pydantic's own parsing would
    also take numbers, ``0`` in a query as well as in JSON, as Unix timestamps."""

    def check(value: object) -> object:
        if isinstance(value, date) or (isinstance(value, str) and pattern.fullmatch(value)):
            return value
        raise PydanticCustomError(
            f"{kind}_format",
            "Expected a {kind} in ISO 8601 form, {form}",
            {"kind": kind, "form": form},
        )

    return BeforeValidator(check)


def _without_null(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def unclearable() -> Any:
    """The default of a PATCH field that may be left out but not set to null (a required
    attribute): the model refuses null, and this says so in the schema (no null branch)."""
    return Field(default=None, json_schema_extra=_without_null)


# A calendar date, as JSON and query strings must send it: YYYY-MM-DD.
IsoDate = Annotated[date, _iso_text(_ISO_DATE, "date", "YYYY-MM-DD")]
# An instant with its offset: 2026-01-31T12:00:00Z or ...+01:00.
IsoDateTime = Annotated[
    AwareDatetime, _iso_text(_ISO_DATE_TIME, "datetime", "YYYY-MM-DDThh:mm:ss with Z or an offset")
]


def _true_or_false(value: object) -> object:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_format", "Expected true or false")


# A boolean in a query string: exactly `true` or `false` (not 1, yes, on...).
QueryBool = Annotated[bool, BeforeValidator(_true_or_false)]
# A boolean in a JSON body: JSON's true or false, not 1 or "true".
BodyBool = StrictBool


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1
