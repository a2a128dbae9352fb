"""Reading an ``iati-activities`` document as a stream: one activity in memory at a time,
each checked against the official IATI 2.03 schema (``data/``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

from lxml import etree

from bp_common.errors import DomainError, InvalidInput

DATA = Path(__file__).parent / "data"
ROOT = "iati-activities"
ACTIVITY = "iati-activity"
VERSION = "2.03"
MAX_SCHEMA_ERRORS = 1000  # listed in the answer; the count beyond is given


@lru_cache(maxsize=1)
def activities_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "iati-activities-schema.xsd")))


class NotIatiActivities(DomainError):
    status = 422
    code = "not_iati_activities"


class UnsupportedIatiVersion(DomainError):
    status = 422
    code = "unsupported_iati_version"


@dataclass(frozen=True)
class Problem:
    """One finding, the way the IATI validator reports it."""

    activity: str | None
    xpath: str
    code: str
    message: str


@dataclass(frozen=True)
class Activity:
    position: int  # 1-based, as in the XPath
    element: etree._Element

    @property
    def xpath(self) -> str:
        return f"/{ROOT}/{ACTIVITY}[{self.position}]"

    @property
    def identifier(self) -> str | None:
        text = self.element.findtext("iati-identifier")
        return text.strip() if text else None


def activities(source: IO[bytes]) -> Iterator[Activity]:
    """The document's activities in order; each one is freed once the caller moves on."""
    parser = etree.iterparse(
        source, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
    )
    depth = 0
    position = 0
    try:
        for event, element in parser:
            if event == "start":
                depth += 1
                if depth == 1:
                    _check_root(element)
                continue
            depth -= 1
            if depth == 1 and element.tag == ACTIVITY:
                position += 1
                yield Activity(position, element)
                element.clear()
                root = element.getparent()
                while root is not None and len(root) and root[0] is not element:
                    del root[0]
                if root is not None and len(root):
                    del root[0]
    except etree.XMLSyntaxError as exc:
        raise _malformed(exc) from exc


def _check_root(root: etree._Element) -> None:
    if root.tag != ROOT:
        raise NotIatiActivities(f"The root element is <{root.tag}>, not <{ROOT}>.")
    version = root.get("version", "")
    if not version.startswith("2."):
        raise UnsupportedIatiVersion(
            f"This is an IATI {version or 'unversioned'} document; send IATI {VERSION}."
        )


def root_attributes(source: IO[bytes]) -> dict[str, str]:
    try:
        for _, element in etree.iterparse(
            source, events=("start",), resolve_entities=False, no_network=True
        ):
            _check_root(element)
            return dict(element.attrib)
    except etree.XMLSyntaxError as exc:
        raise _malformed(exc) from exc
    return {}


def _malformed(exc: etree.XMLSyntaxError) -> InvalidInput:
    return InvalidInput(f"The body is not well-formed XML: {exc}", code="malformed_xml")


def schema_problems(source: IO[bytes]) -> tuple[list[Problem], int]:
    """Every schema error of the document (at most ``MAX_SCHEMA_ERRORS`` listed, with the
    total): each activity is validated inside a copy of the document's root."""
    schema = activities_schema()
    source.seek(0)
    attributes = root_attributes(source)
    source.seek(0)
    problems: list[Problem] = []
    total = 0
    seen_any = False
    for activity in activities(source):
        seen_any = True
        wrapper = etree.Element(ROOT, attributes)
        wrapper.append(copy.deepcopy(activity.element))
        if schema.validate(wrapper):
            continue
        prefix = f"/{ROOT}/{ACTIVITY}"
        for entry in schema.error_log:
            total += 1
            if len(problems) < MAX_SCHEMA_ERRORS:
                path = entry.path or prefix
                if path.startswith(prefix):
                    path = activity.xpath + path[len(prefix) :]
                problems.append(
                    Problem(
                        activity.identifier,
                        path,
                        f"schema.{entry.type_name.lower()}",
                        entry.message,
                    )
                )
    if not seen_any and not schema.validate(etree.Element(ROOT, attributes)):
        for entry in schema.error_log:
            total += 1
            code = f"schema.{entry.type_name.lower()}"
            problems.append(Problem(None, f"/{ROOT}", code, entry.message))
    return problems, total
