"""The report written out: HTML and Markdown from Jinja2 templates (autoescaped: what delegates
wrote never becomes markup), PDF by WeasyPrint from the same HTML (A4, the dialogue's name in
the page header, page numbers, a draft mark on every page), Word by python-docx (text in runs,
so nothing a delegate wrote becomes a field). Everything here is synchronous and CPU-bound: the
API runs it on the renderers' own threads, bounded in time."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import jinja2

from meetings_api.reports.schemas import Report, ReportFormat
from meetings_api.reports.service import join_list

if TYPE_CHECKING:
    from docx.text.paragraph import Paragraph as DocxParagraph

# WeasyPrint and python-docx are imported when first used: WeasyPrint alone takes seconds to
# import, which every process of this service (and every bpctl command) would otherwise pay.

MEDIA_TYPES = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.MD: "text/markdown; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def capfirst(text: str) -> str:
    return text[:1].upper() + text[1:]


def number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def markdown_text(text: str) -> str:
    """Text that stays text in Markdown: its punctuation escaped, on one line. (The template's
    autoescaping then turns <, > and & into entities.)"""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("meetings_api.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        join_list=join_list, capfirst=capfirst, number=number, percent=percent, md=markdown_text
    )
    return environment


_TEMPLATES = _environment()


def render_html(report: Report, lang: str = "en") -> str:
    return _TEMPLATES.get_template("report.html.j2").render(report=report, lang=lang)


def render_markdown(report: Report, lang: str = "en") -> str:
    return _TEMPLATES.get_template("report.md.j2").render(report=report, lang=lang)


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    """The report is self-contained: WeasyPrint fetches nothing (no file, no network)."""
    raise ValueError(f"the report fetches no resources ({url[:80]})")


def render_pdf(report: Report, lang: str = "en") -> bytes:
    import weasyprint

    html = weasyprint.HTML(string=render_html(report, lang), url_fetcher=_no_fetching)
    pdf: bytes = html.write_pdf()
    return pdf


# -- Word -------------------------------------------------------------------------------------


def _field(paragraph: DocxParagraph, instruction: str) -> None:
    """A field the report itself places (page numbers); delegate text is never one."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _numbered(document: Any, number: int, *parts: tuple[str, bool]) -> DocxParagraph:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.add_run(f"{number}.\t").bold = True
    for text, bold in parts:
        paragraph.add_run(text).bold = bold
    return paragraph


def _table(document: Any, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    for row in rows:
        for cell, text in zip(table.add_row().cells, row, strict=True):
            cell.text = text


def render_docx(report: Report, lang: str = "en") -> bytes:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    document = docx.Document()
    document.core_properties.title = f"{report.title}, {report.dates}"
    document.core_properties.language = lang
    document.styles["Normal"].font.size = Pt(10.5)
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(22)
    section.top_margin, section.bottom_margin = Mm(25), Mm(22)
    header = section.header.paragraphs[0]
    header.add_run(report.dialogue)
    if report.draft:
        mark = header.add_run("\tDRAFT")
        mark.bold = True
        mark.font.color.rgb = RGBColor(0xBB, 0, 0)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Page ")
    _field(footer, "PAGE")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES")

    document.add_heading(report.title, level=0)
    meta = f"{report.place}, {report.dates}"
    if report.chair:
        meta += f" · Chair: {report.chair}"
    if report.co_chair:
        meta += f" · Co-Chair: {report.co_chair}"
    document.add_paragraph(meta)
    document.add_heading("Draft summary" if report.draft else "Summary", level=1)

    _numbered(document, report.attendance_number, (report.attendance, False))
    day = None
    for paragraph in report.paragraphs:
        if paragraph.day and paragraph.day != day:
            day = paragraph.day
            document.add_heading(f"Day {day}", level=2)
        presenter = f" ({paragraph.presenter})" if paragraph.presenter else ""
        spoken = "".join(f" {capfirst(s.speaker)}: {s.text}" for s in paragraph.statements)
        _numbered(
            document, paragraph.number, (paragraph.title, True), (f"{presenter}.{spoken}", False)
        )
        for group in paragraph.groups:
            document.add_paragraph().add_run(f"{group.heading}:").italic = True
            for s in group.statements:
                lead = f" {s.lead}" if s.lead else ""
                document.add_paragraph(
                    f"{capfirst(s.speaker)}{lead}: {s.text}", style="List Bullet"
                )

    _numbered(
        document,
        report.decisions_number,
        ("Decisions.", True),
        ("" if report.decisions else " None recorded.", False),
    )
    for d in report.decisions:
        version = f" (plan version {d.plan_version})" if d.plan_version else ""
        reservations = "".join(
            f" {capfirst(state)} entered a reservation and did not join the decision."
            for state in d.reservations
        )
        document.add_paragraph(f"{d.kind}{version}: {d.text}{reservations}", style="List Bullet")

    _numbered(
        document,
        report.coming_number,
        (f"Meetings and activities in {report.coming_year} and their hosts.", True),
        ("" if report.coming_activities else " None in the calendar yet.", False),
    )
    if report.coming_activities:
        _table(
            document,
            ("Meeting or activity", "When", "Hosts", "Status"),
            [
                (a.title, a.when, ", ".join(a.hosts) or "—", a.status)
                for a in report.coming_activities
            ],
        )

    _numbered(
        document,
        report.results_number,
        ("Results as presented. ", True),
        (report.results_note, False),
    )
    if report.results and report.results.rows:
        _table(
            document,
            ("Goal", "Indicator", "Year", "Value", "Target", "Progress"),
            [
                (
                    str(r.goal),
                    f"{r.indicator} {r.title}",
                    str(r.year),
                    number(r.value),
                    number(r.target),
                    percent(r.progress),
                )
                for r in report.results.rows
            ],
        )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


RENDERERS: dict[ReportFormat, Callable[[Report, str], bytes]] = {
    ReportFormat.HTML: lambda report, lang: render_html(report, lang).encode(),
    ReportFormat.MD: lambda report, lang: render_markdown(report, lang).encode(),
    ReportFormat.PDF: render_pdf,
    ReportFormat.DOCX: render_docx,
}
