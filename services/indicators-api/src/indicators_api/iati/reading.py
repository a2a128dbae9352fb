"""An activity's results read into import rows, by the IATI results rules and the partner's
mapping. Pure: the projects are resolved afterwards, per batch."""

from __future__ import annotations

import calendar
import hashlib
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lxml import etree

from indicators_api.codelists import Dimension
from indicators_api.iati.document import Activity, Problem

# The vocabulary of the platform's own indicator codes (IATI IndicatorVocabulary 99, reporting
# organisation, with this URI): the export writes it, so its output maps back unaided.
PLATFORM_VOCABULARY = "99"
PLATFORM_INDICATOR_URI = "https://budapestprocess.org/iati/indicators"
COUNTRY = "country"
QUALITATIVE = "5"
NUMERIC_MEASURES = frozenset({"1", "2", "3", "4"})
MAX_EXTERNAL_ID = 200

# Stable codes of the results rules and the mapping.
IDENTIFIER_NOT_PREFIXED = "identifier_not_prefixed"
REPORTING_ORG_NOT_ORGANISATION = "reporting_org_not_organisation"
REFERENCE_AT_BOTH_LEVELS = "reference_at_result_and_indicator"
UNMAPPED_INDICATOR = "unmapped_indicator"
UNMAPPED_DIMENSION = "unmapped_dimension"
PERIOD_START_AFTER_END = "period_start_after_end"
PERIOD_NOT_PLATFORM_PERIOD = "period_not_platform_period"
VALUE_NOT_NUMERIC = "value_not_numeric"
VALUE_ON_QUALITATIVE = "value_on_qualitative"


@dataclass(frozen=True)
class Mapping:
    indicators: dict[str, str] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityRow:
    xpath: str
    row: dict[str, Any]  # a result row as the JSON import takes it, without its project


@dataclass
class ReadActivity:
    identifier: str | None
    xpath: str
    reporting_ref: str = ""
    rows: list[ActivityRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def platform_period(start: date, end: date) -> str | None:
    """``YYYY``, ``YYYY-Qn`` or ``YYYY-MM`` when [start, end] is exactly one."""
    if start.year != end.year or start.day != 1:
        return None
    if end.day != calendar.monthrange(end.year, end.month)[1]:
        return None
    if (start.month, end.month) == (1, 12):
        return f"{start.year:04d}"
    if start.month == end.month:
        return f"{start.year:04d}-{start.month:02d}"
    if start.month % 3 == 1 and end.month == start.month + 2:
        return f"{start.year:04d}-Q{end.month // 3}"
    return None


def read_activity(activity: Activity, mapping: Mapping, registered_ref: str | None) -> ReadActivity:
    return _Reader(activity, mapping).read(registered_ref)


def _numeric(text: str | None) -> float | None:
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _narrative(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    texts = [(n.text or "").strip() for n in element.findall("narrative")]
    joined = "\n".join(t for t in texts if t)
    return joined or None


def _external_id(identifier: str, row: dict[str, Any]) -> str:
    """Stable per figure (activity, indicator, period, country, slice): re-imports upsert."""
    slices = ",".join(f"{k}={v}" for k, v in sorted((row.get("disaggregation") or {}).items()))
    parts = [identifier, row["indicator"], row["period"], row.get("country") or "", slices]
    text = "iati:" + "|".join(parts)
    if len(text) <= MAX_EXTERNAL_ID:
        return text
    return "iati:" + hashlib.sha256(text.encode()).hexdigest()


class _Reader:
    def __init__(self, activity: Activity, mapping: Mapping) -> None:
        self.activity = activity
        self.mapping = mapping
        self.out = ReadActivity(activity.identifier, activity.xpath)

    def problem(self, xpath: str, code: str, message: str) -> None:
        self.out.problems.append(Problem(self.out.identifier, xpath, code, message))

    def read(self, registered_ref: str | None) -> ReadActivity:
        element = self.activity.element
        identifier = self.out.identifier or ""
        ref = (element.find("reporting-org").get("ref") or "").strip()
        self.out.reporting_ref = ref
        if registered_ref and ref != registered_ref:
            self.problem(
                f"{self.out.xpath}/reporting-org",
                REPORTING_ORG_NOT_ORGANISATION,
                f"reporting-org/@ref is {ref!r}; the organisation's IATI identifier is "
                f"{registered_ref!r}",
            )
            return self.out
        if not identifier.startswith(ref):
            self.problem(
                f"{self.out.xpath}/iati-identifier",
                IDENTIFIER_NOT_PREFIXED,
                f"{identifier!r} does not begin with the reporting organisation's {ref!r}",
            )
            return self.out
        for r, result in enumerate(element.findall("result"), 1):
            for i, indicator in enumerate(result.findall("indicator"), 1):
                self._indicator(result, indicator, f"{self.out.xpath}/result[{r}]/indicator[{i}]")
        return self.out

    def _indicator(self, result: etree._Element, indicator: etree._Element, xpath: str) -> None:
        references = indicator.findall("reference")
        if result.find("reference") is not None and references:
            self.problem(
                xpath, REFERENCE_AT_BOTH_LEVELS, "reference at both result and indicator level"
            )
            return
        measure = indicator.get("measure", "")
        if not self._values_fit(indicator, measure, xpath):
            return
        code = self._indicator_code(indicator, references)
        if code is None:
            keys = [f"{r.get('vocabulary')}:{r.get('code')}" for r in references]
            title = _narrative(indicator.find("title"))
            self.problem(
                xpath,
                UNMAPPED_INDICATOR,
                f"no framework indicator for {', '.join(keys) or repr(title)}: add it to the "
                "organisation's IATI mapping",
            )
            return
        for p, period in enumerate(indicator.findall("period"), 1):
            self._period(period, code, measure, f"{xpath}/period[{p}]")

    def _values_fit(self, indicator: etree._Element, measure: str, xpath: str) -> bool:
        """Baseline, targets and actuals: numbers for measures 1-4, no value if qualitative."""
        valued = [
            (f"{xpath}/baseline[{b}]", e) for b, e in enumerate(indicator.findall("baseline"), 1)
        ]
        for p, period in enumerate(indicator.findall("period"), 1):
            for name in ("target", "actual"):
                valued += [
                    (f"{xpath}/period[{p}]/{name}[{n}]", e)
                    for n, e in enumerate(period.findall(name), 1)
                ]
        fits = True
        for where, element in valued:
            value = element.get("value")
            if measure in NUMERIC_MEASURES and _numeric(value) is None:
                self.problem(where, VALUE_NOT_NUMERIC, f"measure {measure} needs a numeric value")
                fits = False
            elif measure == QUALITATIVE and value is not None:
                self.problem(where, VALUE_ON_QUALITATIVE, "a qualitative indicator has no value")
                fits = False
        return fits

    def _indicator_code(
        self, indicator: etree._Element, references: list[etree._Element]
    ) -> str | None:
        for reference in references:
            vocabulary, code = reference.get("vocabulary"), reference.get("code")
            if (
                vocabulary == PLATFORM_VOCABULARY
                and reference.get("indicator-uri") == PLATFORM_INDICATOR_URI
                and code
            ):
                return code
            mapped = self.mapping.indicators.get(f"{vocabulary}:{code}")
            if mapped:
                return mapped
        title = _narrative(indicator.find("title"))
        return self.mapping.indicators.get(title) if title else None

    def _period(self, period: etree._Element, indicator: str, measure: str, xpath: str) -> None:
        start_text = period.find("period-start").get("iso-date")
        end_text = period.find("period-end").get("iso-date")
        start = date.fromisoformat(str(start_text)[:10])
        end = date.fromisoformat(str(end_text)[:10])
        if start > end:
            self.problem(xpath, PERIOD_START_AFTER_END, f"starts {start}, after its end {end}")
            return
        text = platform_period(start, end)
        if text is None:
            self.problem(
                xpath,
                PERIOD_NOT_PLATFORM_PERIOD,
                f"{start}..{end} is not exactly one year, quarter or month",
            )
            return
        for a, actual in enumerate(period.findall("actual"), 1):
            self._actual(actual, indicator, measure, text, f"{xpath}/actual[{a}]")

    def _actual(
        self, actual: etree._Element, indicator: str, measure: str, period: str, xpath: str
    ) -> None:
        row: dict[str, Any] = {"indicator": indicator, "period": period}
        comment = _narrative(actual.find("comment"))
        if measure == QUALITATIVE:
            row["value"] = comment
        else:
            row["value"] = _numeric(actual.get("value"))
            if comment:
                row["comment"] = comment
        slices: dict[str, str] = {}
        for d, dimension in enumerate(actual.findall("dimension"), 1):
            mapped = self._dimension(dimension.get("name", ""), dimension.get("value", ""))
            if mapped is None:
                self.problem(
                    f"{xpath}/dimension[{d}]",
                    UNMAPPED_DIMENSION,
                    f"dimension {dimension.get('name')}={dimension.get('value')} has no "
                    "disaggregation code: add it to the organisation's IATI mapping",
                )
                return
            name, value = mapped
            if name == COUNTRY:
                row["country"] = value
            else:
                slices[name] = value
        if slices:
            row["disaggregation"] = slices
        row["external_id"] = _external_id(self.out.identifier or "", row)
        self.out.rows.append(ActivityRow(xpath, row))

    def _dimension(self, name: str, value: str) -> tuple[str, str] | None:
        pair = self.mapping.dimensions.get(f"{name}:{value}")
        if pair is not None and ":" in pair:
            ours, code = pair.split(":", 1)
            return ours, code
        ours = self.mapping.dimensions.get(name, name)
        if ours == COUNTRY or ours in {d.value for d in Dimension}:
            return ours, value
        return None
