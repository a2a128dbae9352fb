"""IATI 2.03 documents for the tests, written by hand the way a partner's system would."""

from __future__ import annotations

from lxml import etree

from indicators_api.iati.document import activities_schema

IOM_REF = "XM-DAC-47066"
ACTIVITY_ID = f"{IOM_REF}-IMM-SR"


def period(start: str, end: str, *actuals: str, target: str = "") -> str:
    return (
        f'<period><period-start iso-date="{start}"/><period-end iso-date="{end}"/>'
        f"{target}{''.join(actuals)}</period>"
    )


def actual(value: str | None, *dimensions: tuple[str, str], comment: str | None = None) -> str:
    attribute = f' value="{value}"' if value is not None else ""
    dims = "".join(f'<dimension name="{n}" value="{v}"/>' for n, v in dimensions)
    text = f"<comment><narrative>{comment}</narrative></comment>" if comment else ""
    return f"<actual{attribute}>{dims}{text}</actual>"


def indicator(
    *periods: str, measure: str = "1", reference: str = "", title: str = "Migrants assisted"
) -> str:
    return (
        f'<indicator measure="{measure}" ascending="1"><title><narrative>{title}</narrative>'
        f"</title>{reference}{''.join(periods)}</indicator>"
    )


def reference(vocabulary: str, code: str) -> str:
    return f'<reference vocabulary="{vocabulary}" code="{code}"/>'


def result(*indicators: str, result_reference: str = "") -> str:
    return (
        '<result type="1"><title><narrative>Outputs</narrative></title>'
        f"{result_reference}{''.join(indicators)}</result>"
    )


def activity(*results: str, identifier: str = ACTIVITY_ID, ref: str = IOM_REF) -> str:
    return (
        f"<iati-activity><iati-identifier>{identifier}</iati-identifier>"
        f'<reporting-org ref="{ref}" type="40"><narrative>IOM</narrative></reporting-org>'
        "<title><narrative>Improving Migration Management</narrative></title>"
        "<description><narrative>Migration management</narrative></description>"
        '<participating-org role="4" ref="XM-DAC-47066"/>'
        '<activity-status code="2"/>'
        '<activity-date type="1" iso-date="2019-01-01"/>'
        f"{''.join(results)}</iati-activity>"
    )


def document(*activities: str, version: str = "2.03") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="{version}" '
        f'generated-datetime="2020-12-31T10:00:00Z">{"".join(activities)}</iati-activities>'
    ).encode()


def schema_errors(xml: bytes) -> list[str]:
    """What the official schema says of a whole document (empty when valid)."""
    schema = activities_schema()
    schema.validate(etree.fromstring(xml))
    return [f"{e.path}: {e.message}" for e in schema.error_log]
