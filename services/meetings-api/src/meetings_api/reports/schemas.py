from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bp_common.events.contract import EventReader


class ReportFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"
    MD = "md"


class ReportLanguage(StrEnum):
    EN = "en"


class ResultRow(BaseModel):
    indicator: str
    title: str
    goal: int
    year: int
    value: float
    target: float | None = None
    progress: float | None = None


class ResultsSnapshotOut(BaseModel):
    """indicators-api's rollups by goal x indicator x year as they stood when the meeting was
    held (the results as presented there), as this service keeps them."""

    model_config = ConfigDict(from_attributes=True)

    meeting_id: uuid.UUID
    taken_at: datetime = Field(description="When the meeting was announced held.")
    rows: list[ResultRow]


class SnapshotTaken(EventReader):
    """Kept with the meeting as the results presented there (the report's results section);
    once: another snapshot of the same meeting (a redelivery, a replay) is ignored."""

    meeting_id: uuid.UUID
    taken_at: datetime
    rows: list[ResultRow] = Field(max_length=100_000)


# -- the report as the templates and the Word writer read it ----------------------------------

# Characters XML 1.0 cannot carry (Word's and the PDF's text would be refused with them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text written by people, as the report may carry it: markup and field codes stay text (the
# writers escape it); only characters no document format can hold are dropped.
Text = Annotated[str, AfterValidator(lambda text: _NOT_XML.sub("", text))]


class Statement(BaseModel):
    """One intervention as the report words it: who, and what (``lead`` before the words)."""

    speaker: Text
    text: Text
    lead: Text = ""


class InterventionGroup(BaseModel):
    """Interventions of one kind on an agenda item, grouped as the Secretariat's summaries do."""

    heading: Text
    statements: list[Statement]


class Paragraph(BaseModel):
    number: int
    day: int | None = None
    title: Text
    presenter: Text | None = None
    statements: list[Statement] = []
    groups: list[InterventionGroup] = []


class DecisionLine(BaseModel):
    kind: Text
    text: Text
    plan_version: int | None = None
    reservations: list[Text] = []


class ComingActivity(BaseModel):
    title: Text
    when: Text
    hosts: list[Text]
    status: Text


class Report(BaseModel):
    dialogue: Text
    title: Text
    place: Text
    dates: Text
    chair: Text | None
    co_chair: Text | None
    draft: bool
    participants: int
    countries: list[Text]
    organisations: list[Text]
    attendance_number: int
    # The attendance paragraph and what the results section says of its table, in words.
    attendance: Text
    results_note: Text
    paragraphs: list[Paragraph]
    decisions_number: int
    decisions: list[DecisionLine]
    coming_year: int
    coming_number: int
    coming_activities: list[ComingActivity]
    results_number: int
    results: ResultsSnapshotOut | None
