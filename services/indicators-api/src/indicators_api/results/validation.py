"""Row-by-row validation of an import: the shape of every row in one pass, then its references
against sets loaded once per request. Each invalid row gets exactly one error (its first)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from indicators_api.fields import MAX_VALUE
from indicators_api.framework.models import Indicator, Measure, Source
from indicators_api.periods import parse_period
from indicators_api.projects.models import Project
from indicators_api.results.schemas import ResultRow, RowError, StagedRow

# Stable codes of the row errors found past the shape (shape errors carry pydantic's types).
DUPLICATE_EXTERNAL_ID = "duplicate_external_id"
UNKNOWN_PROJECT = "unknown_project"
NOT_IMPLEMENTED = "project_not_implemented_by_organisation"
UNKNOWN_INDICATOR = "unknown_indicator"
INDICATOR_NOT_REPORTED = "indicator_not_reported"
GOAL_NOT_IN_PROJECT = "indicator_goal_not_in_project"
INVALID_PERIOD = "invalid_period"
PERIOD_OUTSIDE_PROJECT = "period_outside_project"
COUNTRY_NOT_IN_PROJECT = "country_not_in_project"
DISAGGREGATION_NOT_DECLARED = "disaggregation_not_declared"
VALUE_NOT_NUMERIC = "value_not_numeric"
VALUE_NOT_TEXT = "value_not_text"
VALUE_OUT_OF_RANGE = "value_out_of_range"


def row_error(
    index: int, external_id: Any, code: str, loc: Sequence[str | int], message: str
) -> RowError:
    return RowError(
        index=index,
        external_id=external_id if isinstance(external_id, str) else None,
        code=code,
        loc=["results", index, *loc],
        message=message,
    )


def check_shapes(
    raw_rows: Sequence[Any], known_errors: Mapping[int, RowError]
) -> tuple[list[tuple[int, ResultRow]], list[RowError]]:
    """Shape of every row; an ``external_id`` seen before in the request rejects the row
    (the first occurrence keeps it, valid or not)."""
    rows: list[tuple[int, ResultRow]] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rows):
        external_id = raw.get("external_id") if isinstance(raw, dict) else None
        if index in known_errors:
            errors.append(known_errors[index])
        elif isinstance(external_id, str) and external_id in seen:
            errors.append(
                row_error(
                    index,
                    external_id,
                    DUPLICATE_EXTERNAL_ID,
                    ["external_id"],
                    "an earlier row of this request has the same external_id",
                )
            )
        else:
            try:
                rows.append((index, ResultRow.model_validate(raw)))
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                loc = [part if isinstance(part, str | int) else str(part) for part in first["loc"]]
                errors.append(row_error(index, external_id, first["type"], loc, first["msg"]))
        if isinstance(external_id, str):
            seen.add(external_id)
    return rows, errors


class _Rejected(Exception):
    def __init__(self, code: str, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.code, self.loc, self.message = code, loc, message


@dataclass(frozen=True, slots=True)
class _ProjectScope:
    organisations: frozenset[str]
    countries: frozenset[str]
    goals: frozenset[int]
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class _IndicatorScope:
    """The indicator fields a row is checked against, read once from the ORM object (attribute
    access on a mapped instance costs a descriptor call, ten thousand times per import)."""

    goal: int
    measure: Measure
    disaggregations: frozenset[str]


class RowValidator:
    """Checks a well-shaped row against the project and the indicator it names."""

    def __init__(
        self,
        organisation: str,
        projects: Mapping[str, Project],
        indicators: Mapping[str, Indicator],
        *,
        text_values: bool,
    ) -> None:
        self.organisation = organisation
        self.projects = {
            code: _ProjectScope(
                frozenset(p.implementing_organisations),
                frozenset(p.countries),
                frozenset(p.goals),
                p.starts_on,
                p.ends_on,
            )
            for code, p in projects.items()
        }
        self.indicators = indicators
        # CSV cells are text: numbers are read from them for numeric indicators.
        self.text_values = text_values
        # The checks that depend only on the (project, indicator) pair, done once per pair: an
        # import names a handful of pairs thousands of times. Holds the pair's scopes, or the
        # rejection (its message names only the pair's codes and the organisation).
        self._pairs: dict[tuple[str, str], tuple[_ProjectScope, _IndicatorScope] | _Rejected] = {}

    def check(self, index: int, row: ResultRow) -> StagedRow | RowError:
        try:
            return self._staged(row)
        except _Rejected as rejected:
            return row_error(index, row.external_id, rejected.code, rejected.loc, rejected.message)

    def _pair(
        self, project_code: str, indicator_code: str
    ) -> tuple[_ProjectScope, _IndicatorScope]:
        key = (project_code, indicator_code)
        checked = self._pairs.get(key)
        if checked is None:
            try:
                checked = self._check_pair(project_code, indicator_code)
            except _Rejected as rejected:
                checked = rejected
            self._pairs[key] = checked
        if isinstance(checked, _Rejected):
            # A fresh exception per row: a raised instance carries its traceback along.
            raise _Rejected(checked.code, checked.loc, checked.message)
        return checked

    def _check_pair(
        self, project_code: str, indicator_code: str
    ) -> tuple[_ProjectScope, _IndicatorScope]:
        project = self.projects.get(project_code)
        if project is None:
            raise _Rejected(UNKNOWN_PROJECT, ["project"], f"no project {project_code}")
        if self.organisation not in project.organisations:
            raise _Rejected(
                NOT_IMPLEMENTED,
                ["project"],
                f"{self.organisation} does not implement project {project_code}",
            )
        indicator = self.indicators.get(indicator_code)
        if indicator is None:
            raise _Rejected(UNKNOWN_INDICATOR, ["indicator"], f"no indicator {indicator_code}")
        if indicator.source is not Source.REPORTED:
            raise _Rejected(
                INDICATOR_NOT_REPORTED,
                ["indicator"],
                f"indicator {indicator_code} is fed by events ({indicator.source.value})",
            )
        if indicator.goal not in project.goals:
            raise _Rejected(
                GOAL_NOT_IN_PROJECT,
                ["indicator"],
                f"indicator {indicator_code} is under goal {indicator.goal}, "
                f"not one of project {project_code}'s",
            )
        scope = _IndicatorScope(
            indicator.goal, indicator.measure, frozenset(indicator.disaggregations or ())
        )
        return project, scope

    def _staged(self, row: ResultRow) -> StagedRow:
        project, indicator = self._pair(row.project, row.indicator)
        period = parse_period(row.period)
        if period is None:
            raise _Rejected(INVALID_PERIOD, ["period"], "expected YYYY, YYYY-Qn or YYYY-MM")
        if period.ends_on < project.starts_on or period.starts_on > project.ends_on:
            raise _Rejected(
                PERIOD_OUTSIDE_PROJECT,
                ["period"],
                f"{row.period} is outside the project's {project.starts_on}..{project.ends_on}",
            )
        country = row.country.strip().upper() if row.country else None
        if country is not None and country not in project.countries:
            raise _Rejected(
                COUNTRY_NOT_IN_PROJECT,
                ["country"],
                f"{row.country} is not one of the project's countries",
            )
        disaggregation = row.disaggregation.canonical() if row.disaggregation else None
        for dimension in disaggregation or ():
            if dimension not in indicator.disaggregations:
                raise _Rejected(
                    DISAGGREGATION_NOT_DECLARED,
                    ["disaggregation", dimension],
                    f"indicator {row.indicator} is not disaggregated by {dimension}",
                )
        number, text = self._value(indicator.measure, row.value)
        return StagedRow(
            uuid.uuid4(),
            self.organisation,
            row.external_id,
            row.project,
            row.indicator,
            indicator.goal,
            period.text,
            period.year,
            period.key,
            country,
            disaggregation,
            number,
            text,
            row.comment,
        )

    def _value(self, measure: Measure, value: Any) -> tuple[float | None, str | None]:
        if measure is Measure.QUALITATIVE:
            if not isinstance(value, str) or not value.strip():
                raise _Rejected(VALUE_NOT_TEXT, ["value"], "a qualitative indicator takes text")
            if len(value) > 4000:
                raise _Rejected(VALUE_OUT_OF_RANGE, ["value"], "at most 4000 characters")
            return None, value
        if self.text_values and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Rejected(VALUE_NOT_NUMERIC, ["value"], f"a {measure.value} value is a number")
        if not 0 <= value <= (100 if measure is Measure.PERCENTAGE else MAX_VALUE):
            bounds = "between 0 and 100" if measure is Measure.PERCENTAGE else f"0 to {MAX_VALUE:g}"
            raise _Rejected(VALUE_OUT_OF_RANGE, ["value"], f"a {measure.value} value is {bounds}")
        return float(value), None
