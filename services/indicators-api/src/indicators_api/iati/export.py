"""Projects and their results written as IATI 2.03 activities (valid against the official
schema; codelist values from ``data/codelists``), streamed: lxml's incremental writer, fed one
period of results at a time from a server-side cursor."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

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


def _narrative(parent: etree._Element | None, tag: str, text: str) -> etree._Element:
    element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    etree.SubElement(element, "narrative").text = text
    return element


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


@dataclass(frozen=True)
class Plan:
    """What a document is written from, read and checked before its first byte: a refusal is
    still a problem answer, not a cut stream."""

    reporting: Org
    projects: Sequence[Project]
    partners: Mapping[str, IatiOrganisation]
    # Each project's indicators that have results to export, in code order.
    indicator_codes: Mapping[str, Sequence[str]]
    indicators: Mapping[str, Indicator]


# One indicator's results of one project, ordered by period (``period_key``, ``period``).
RowsOf = Callable[[str, str], AsyncIterator[Result]]


async def document(
    plan: Plan, rows_of: RowsOf, generated: datetime | None = None, today: date | None = None
) -> AsyncIterator[bytes]:
    """The ``iati-activities`` document as it is written: one chunk per period of results, so
    the memory it takes is one period's, whatever the size of the export."""
    stamp = (generated or datetime.now(UTC)).replace(microsecond=0).isoformat()
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="{VERSION}" '
        f'generated-datetime="{stamp}">\n'
    ).encode()
    for project in plan.projects:
        async for chunk in _activity(plan, project, rows_of, today):
            yield chunk
        yield b"\n"
    yield b"</iati-activities>\n"


async def _activity(
    plan: Plan, project: Project, rows_of: RowsOf, today: date | None
) -> AsyncIterator[bytes]:
    out = io.BytesIO()

    def written() -> bytes:
        chunk = out.getvalue()
        out.seek(0)
        out.truncate()
        return chunk

    with etree.xmlfile(out, encoding="utf-8", buffered=False) as xf, xf.element("iati-activity"):
        for element in _about(plan, project, today or datetime.now(UTC).date()):
            xf.write(element)
        for code in plan.indicator_codes.get(project.code, ()):
            indicator = plan.indicators[code]
            with xf.element("result", type=_code("ResultType", RESULT_TYPE[indicator.level])):
                xf.write(_narrative(None, "title", indicator.title))
                with xf.element("indicator", _indicator_attributes(indicator)):
                    for element in _indicator_about(indicator):
                        xf.write(element)
                    period: list[Result] = []
                    async for row in rows_of(project.code, code):
                        if period and row.period != period[0].period:
                            xf.write(_period(indicator, period))
                            yield written()
                            period = []
                        period.append(row)
                    if period:
                        xf.write(_period(indicator, period))
            yield written()
    yield written()


def _about(plan: Plan, project: Project, today: date) -> Iterator[etree._Element]:
    """The activity's elements before its results."""
    reporting = plan.reporting
    identifier = etree.Element("iati-identifier")
    identifier.text = project.iati_identifier or f"{reporting.ref}-{project.code}"
    yield identifier
    reporting_org = etree.Element("reporting-org", ref=reporting.ref, type="40")
    etree.SubElement(reporting_org, "narrative").text = reporting.name or reporting.acronym
    yield reporting_org
    yield _narrative(None, "title", project.title)
    funded = f" Funded by {project.donor}." if project.donor else ""
    description = _narrative(None, "description", f"{project.title}.{funded}")
    description.set("type", "1")
    yield description
    for acronym in project.implementing_organisations:
        partner = plan.partners.get(acronym)
        attributes = {"role": _code("OrganisationRole", IMPLEMENTING)}
        if partner is not None and partner.iati_id:
            attributes["ref"] = partner.iati_id
        org = etree.Element("participating-org", attributes)
        etree.SubElement(org, "narrative").text = acronym
        yield org
    status = IMPLEMENTATION if project.ends_on >= today else FINALISATION
    yield etree.Element("activity-status", code=_code("ActivityStatus", status))
    for kind, day in ((PLANNED_START, project.starts_on), (PLANNED_END, project.ends_on)):
        yield etree.Element(
            "activity-date", type=_code("ActivityDateType", kind), **{"iso-date": str(day)}
        )
    for country in project.countries:
        yield etree.Element("recipient-country", code=_code("Country", country))


def _indicator_attributes(indicator: Indicator) -> dict[str, str]:
    return {
        "measure": _code("IndicatorMeasure", INDICATOR_MEASURE[indicator.measure]),
        "ascending": "1" if indicator.ascending else "0",
    }


def _indicator_about(indicator: Indicator) -> Iterator[etree._Element]:
    """The indicator's elements before its periods."""
    yield _narrative(None, "title", indicator.title)
    yield etree.Element(
        "reference",
        vocabulary=_code("IndicatorVocabulary", PLATFORM_VOCABULARY),
        code=indicator.code,
        **{"indicator-uri": PLATFORM_INDICATOR_URI},
    )
    if indicator.baseline_year is not None:
        attributes = {"year": str(indicator.baseline_year)}
        if indicator.baseline_value is not None and indicator.measure is not Measure.QUALITATIVE:
            attributes["value"] = _number(indicator.baseline_value)
        yield etree.Element("baseline", attributes)


def _figure(row: Result) -> tuple[str, list[tuple[str, str]]]:
    """A stable order of one period's actuals, by what they are (an import's own ids do not
    travel)."""
    return row.country or "", sorted((row.disaggregation or {}).items())


def _period(indicator: Indicator, rows: list[Result]) -> etree._Element:
    """One period of an indicator: its dates, its target (a year's), and its actuals."""
    text = rows[0].period
    period = parse_period(text)
    assert period is not None  # stored periods were parsed on the way in
    qualitative = indicator.measure is Measure.QUALITATIVE
    element = etree.Element("period")
    etree.SubElement(element, "period-start", {"iso-date": str(period.starts_on)})
    etree.SubElement(element, "period-end", {"iso-date": str(period.ends_on)})
    target = indicator.target_for(period.year) if text == str(period.year) else None
    if target is not None and not qualitative:
        etree.SubElement(element, "target", value=_number(target))
    for row in sorted(rows, key=_figure):
        _actual(element, row, qualitative)
    return element


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
