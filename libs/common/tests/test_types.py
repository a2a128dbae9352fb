"""The shared value types accept what the services store and refuse the rest as a 422."""

import json
import re
import string
from datetime import date
from typing import Annotated, Any

import pytest
from pydantic import TypeAdapter, ValidationError

from bp_common.types import (
    COUNTRY_PATTERN,
    CURRENCY_PATTERN,
    Acronym,
    BodyBool,
    CountryCode,
    CurrencyCode,
    GoalNumber,
    IsoDate,
    IsoDateTime,
    LongText,
    Quarter,
    QueryBool,
    Year,
    bounded_text,
    is_country_code,
    quarter_of,
)

Title = TypeAdapter(Annotated[str, bounded_text(5)])
Filter = TypeAdapter(Annotated[str, bounded_text(5, min_length=None)])


def refused(adapter: TypeAdapter[Any], value: object) -> str:
    with pytest.raises(ValidationError) as error:
        adapter.validate_python(value)
    return str(error.value.errors()[0]["type"])


def test_text_is_trimmed_before_its_bounds_are_checked() -> None:
    assert Title.validate_python("  hello  ") == "hello"
    assert Title.validate_python("a\nb") == "a\nb"
    assert refused(Title, "   ") == "string_too_short"
    assert refused(Title, "toolong") == "string_too_long"


def test_text_refuses_nul_which_postgresql_cannot_store() -> None:
    assert refused(Title, "a\x00b") == "string_pattern_mismatch"
    assert refused(Filter, "\x00") == "string_pattern_mismatch"


def test_a_filter_may_be_empty() -> None:
    assert Filter.validate_python("") == ""


def test_long_text_takes_a_whole_statement() -> None:
    adapter = TypeAdapter(LongText)
    assert len(adapter.validate_python("x" * 10_000)) == 10_000
    assert refused(adapter, "x" * 10_001) == "string_too_long"


@pytest.mark.parametrize(
    ("type_", "given", "stored"),
    [
        (CountryCode, " tr ", "TR"),
        (CountryCode, "xk", "XK"),  # Kosovo, user-assigned
        (CurrencyCode, "eur", "EUR"),
        (Acronym, " unodc ", "UNODC"),
        (Acronym, "glo.act", "GLO.ACT"),
    ],
)
def test_codes_are_normalised_to_upper_case(type_: Any, given: str, stored: str) -> None:
    assert TypeAdapter(type_).validate_python(given) == stored


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (CountryCode, "ZZ"),
        (CountryCode, "TUR"),
        (CurrencyCode, "ABC"),
        (Acronym, "1OM"),
        (Acronym, "A" * 21),
        (Year, 1899),
        (Year, 2201),
        (Quarter, 0),
        (Quarter, 5),
        (GoalNumber, 0),
        (GoalNumber, 100),
    ],
)
def test_values_out_of_their_domain_are_refused(type_: Any, value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(type_).validate_python(value)


@pytest.mark.parametrize(
    ("day", "quarter"),
    [(date(2020, 1, 1), 1), (date(2020, 3, 31), 1), (date(2020, 4, 1), 2), (date(2020, 12, 31), 4)],
)
def test_quarter_of(day: date, quarter: int) -> None:
    assert quarter_of(day) == quarter


def test_the_country_pattern_of_the_document_is_exactly_the_codes_the_server_takes() -> None:
    letters = string.ascii_uppercase
    for code in (a + b for a in letters for b in letters):
        assert bool(re.fullmatch(COUNTRY_PATTERN, code)) == is_country_code(code), code
    assert TypeAdapter(CountryCode).json_schema()["pattern"] == COUNTRY_PATTERN
    assert re.fullmatch(CURRENCY_PATTERN, "EUR")
    assert not re.fullmatch(CURRENCY_PATTERN, "ABC")


@pytest.mark.parametrize("value", ["2020-02-29", date(2020, 2, 29)])
def test_a_date_is_taken_in_iso_form(value: object) -> None:
    assert TypeAdapter(IsoDate).validate_python(value) == date(2020, 2, 29)


@pytest.mark.parametrize(
    "value", [0, 1582934400, "0", "1582934400", "20200229", "2020-2-29", "2020-02-29T00:00:00"]
)
def test_a_date_is_not_a_number_nor_another_form(value: object) -> None:
    assert refused(TypeAdapter(IsoDate), value) == "date_format"


def test_an_instant_carries_its_offset() -> None:
    adapter = TypeAdapter(IsoDateTime)
    assert adapter.validate_python("2026-01-31T12:00:00+01:00").utcoffset() is not None
    assert adapter.validate_python("2026-01-31T12:00:00.5Z").microsecond == 500_000
    for value in (0, "1769860800", "2026-01-31", "2026-01-31T12:00:00"):
        assert refused(adapter, value) in ("datetime_format", "timezone_aware"), value


def test_a_query_boolean_is_true_or_false_only() -> None:
    adapter = TypeAdapter(QueryBool)
    assert (adapter.validate_python("true"), adapter.validate_python("false")) == (True, False)
    for value in ("1", "0", "yes", "on", "True", "", 1):
        assert refused(adapter, value) == "bool_format", value
    body = TypeAdapter(BodyBool)
    assert body.validate_json("true") is True
    for text in ('"true"', "1", "0"):
        with pytest.raises(ValidationError):
            body.validate_python(json.loads(text))
