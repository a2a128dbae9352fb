"""Projects and their results written as IATI 2.03 activities (valid against the official
schema; codelist values from ``data/codelists``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from itertools import groupby

from lxml import etree

from indicators_api.framework.models import Indicator, Level, Measure
from indicators_api.iati.document import DATA, VERSION
from indicators_api.iati.models import IatiOrganisation
from indicators_api.iati.reading import COUNTRY, PLATFORM_INDICATOR_URI, PLATFORM_VOCABULARY
from indicators_api.periods import parse_period
from indicators_api.projects.models import Project
from indicators_api.results.models import Result

RESULT_TYPE = {Level.OUTPUT: "1", Level.OUTCOME: "2", Level.IMPACT: "3"}
INDICATOR_MEASURE = {Measure.UNIT: "1", Measure.PERCENTAGE: "2", Measure.QUALITATIVE: "5"}
IMPLEMENTING = "4"  # OrganisationRole
PLANNED_START, PLANNED_END = "1", "3"  # ActivityDateType
IMPLEMENTATION, FINALISATION = "2", "3"  # ActivityStatus


@cache
def codelist(name: str) -> frozenset[str]:
    """The codes of a committed IATI codelist."""
    tree = etree.parse(str(DATA / "codelists" / f"{name}.xml"))
    return frozenset(code.text or "" for code in tree.iter("code"))


def _code(name: str, value: str) -> str:
    if value not in codelist(name):  # a mapping above out of step with the committed codelist
        raise ValueError(f"{value} is not in the IATI {name} codelist")
    return value


@dataclass(frozen=True)
class Org:
    ref: str
    name: str | None
    acronym: str


def _narrative(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    etree.SubElement(element, "narrative").text = text
    return element


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def activity(
    reporting: Org,
    project: Project,
    partners: Mapping[str, IatiOrganisation | None],
    results: Sequence[Result],
    indicators: Mapping[str, Indicator],
    today: date | None = None,
) -> bytes:
    today = today or datetime.now(UTC).date()
    root = etree.Element("iati-activity")
    identifier = project.iati_identifier or f"{reporting.ref}-{project.code}"
    etree.SubElement(root, "iati-identifier").text = identifier
    reporting_org = etree.SubElement(root, "reporting-org", ref=reporting.ref, type="40")
    etree.SubElement(reporting_org, "narrative").text = reporting.name or reporting.acronym
    _narrative(root, "title", project.title)
    funded = f" Funded by {project.donor}." if project.donor else ""
    _narrative(root, "description", f"{project.title}.{funded}").set("type", "1")
    for acronym, partner in partners.items():
        attributes = {"role": _code("OrganisationRole", IMPLEMENTING)}
        if partner is not None and partner.iati_id:
            attributes["ref"] = partner.iati_id
        org = etree.SubElement(root, "participating-org", attributes)
        etree.SubElement(org, "narrative").text = acronym
    status = IMPLEMENTATION if project.ends_on >= today else FINALISATION
    etree.SubElement(root, "activity-status", code=_code("ActivityStatus", status))
    for kind, day in ((PLANNED_START, project.starts_on), (PLANNED_END, project.ends_on)):
        etree.SubElement(
            root, "activity-date", type=_code("ActivityDateType", kind), **{"iso-date": str(day)}
        )
    for country in project.countries:
        etree.SubElement(root, "recipient-country", code=_code("Country", country))
    for code, rows in groupby(sorted(results, key=_figure), key=lambda r: r.indicator):
        _result(root, indicators[code], list(rows))
    return etree.tostring(root, encoding="utf-8")


def _figure(row: Result) -> tuple[str, int, str, list[tuple[str, str]]]:
    """A stable order of the actuals, by what they are (an import's own ids do not travel)."""
    slices = sorted((row.disaggregation or {}).items())
    return row.indicator, row.period_key, row.country or "", slices


def _result(activity_element: etree._Element, indicator: Indicator, rows: list[Result]) -> None:
    result = etree.SubElement(
        activity_element, "result", type=_code("ResultType", RESULT_TYPE[indicator.level])
    )
    _narrative(result, "title", indicator.title)
    element = etree.SubElement(
        result,
        "indicator",
        measure=_code("IndicatorMeasure", INDICATOR_MEASURE[indicator.measure]),
        ascending="1" if indicator.ascending else "0",
    )
    _narrative(element, "title", indicator.title)
    etree.SubElement(
        element,
        "reference",
        vocabulary=_code("IndicatorVocabulary", PLATFORM_VOCABULARY),
        code=indicator.code,
        **{"indicator-uri": PLATFORM_INDICATOR_URI},
    )
    qualitative = indicator.measure is Measure.QUALITATIVE
    if indicator.baseline_year is not None:
        attributes = {"year": str(indicator.baseline_year)}
        if indicator.baseline_value is not None and not qualitative:
            attributes["value"] = _number(indicator.baseline_value)
        etree.SubElement(element, "baseline", attributes)
    for text, period_rows in groupby(rows, key=lambda r: r.period):
        period = parse_period(text)
        assert period is not None  # stored periods were parsed on the way in
        period_element = etree.SubElement(element, "period")
        etree.SubElement(period_element, "period-start", {"iso-date": str(period.starts_on)})
        etree.SubElement(period_element, "period-end", {"iso-date": str(period.ends_on)})
        target = indicator.target_for(period.year) if text == str(period.year) else None
        if target is not None and not qualitative:
            etree.SubElement(period_element, "target", value=_number(target))
        for row in period_rows:
            _actual(period_element, row, qualitative)


def _actual(period: etree._Element, row: Result, qualitative: bool) -> None:
    actual = etree.SubElement(period, "actual")
    if not qualitative and row.value_number is not None:
        actual.set("value", _number(row.value_number))
    if row.country:
        etree.SubElement(actual, "dimension", name=COUNTRY, value=row.country)
    for name, value in sorted((row.disaggregation or {}).items()):
        etree.SubElement(actual, "dimension", name=name, value=value)
    text = row.value_text if qualitative else row.comment
    if text:
        _narrative(actual, "comment", text)


def document(activities: Iterable[bytes], generated: datetime | None = None) -> Iterator[bytes]:
    stamp = (generated or datetime.now(UTC)).replace(microsecond=0).isoformat()
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="{VERSION}" '
        f'generated-datetime="{stamp}">\n'
    ).encode()
    for element in activities:
        yield element + b"\n"
    yield b"</iati-activities>\n"
