"""The shared value types accept what the services store and refuse the rest as a 422."""

from datetime import date
from typing import Annotated, Any

import pytest
from pydantic import TypeAdapter, ValidationError

from bp_common.types import (
    Acronym,
    CountryCode,
    CurrencyCode,
    GoalNumber,
    LongText,
    Quarter,
    Year,
    bounded_text,
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
