"""The meeting writes its own summary: the demo's Istanbul meeting as PDF, Word, HTML and
Markdown, read back as text; the results as presented, frozen at the meeting; delegate text that
stays text; a draft and a cancelled meeting. The whole story is loaded and each document
rendered once for the module (a PDF takes about a second)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import docx
import httpx
import pypdf
import pytest

from bp_common.testing import eventually, running
from bpctl.demo import Demo, load_demo
from bpctl.embedded import EmbeddedPlatform
from meetings_api.demo import COUNTRY_HEADCOUNTS, ORGANISATION_HEADCOUNTS
from meetings_api.reports.countries import PROCESS_NAMES

KEY = "bp_admin_report-key"
ADMIN = {"Authorization": f"Bearer {KEY}"}

# The source's list (som-istanbul-2019-summary.txt, paragraph 1), verbatim.
SOURCE_COUNTRIES = (
    "Afghanistan, Armenia, Austria, Azerbaijan, Belarus, Belgium, Bulgaria, Czech Republic, "
    "Denmark, Finland, Georgia, Germany, Greece, Hungary, Iraq, Italy, Kyrgyzstan, Latvia, "
    "Moldova, Montenegro, the Netherlands, North Macedonia, Norway, Pakistan, Poland, Portugal, "
    "Romania, Russian Federation, Serbia, Slovenia, Spain, Sweden, Switzerland, Tajikistan, "
    "Turkey, Ukraine and the United Kingdom"
)
SOURCE_ORGANISATIONS = [
    "European Commission",
    "Council of the European Union",
    "European External Action Service (EEAS)",
    "European Asylum Support Office (EASO)",
    "European Border and Coast Guard Agency (FRONTEX)",
    "Black Sea Economic Cooperation (BSEC)",
    "International Centre for Migration Policy Development (ICMPD)",
    "International Labour Organization (ILO)",
    # The registry's spelling; the source has "Organisation".
    "International Organization for Migration (IOM)",
    "United Nations Office on Drugs and Crime (UNODC)",
    "United Nations Development Programme (UNDP)",
]
# Markup and Word field codes a delegate might type.
HOSTILE = (
    '<script>alert("x")</script> { DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc" } '
    '{ INCLUDETEXT "C:\\\\secret.txt" } **bold** [link](javascript:alert(1))'
)


def source_names() -> list[str]:
    return [name.strip() for name in re.split(r", | and ", SOURCE_COUNTRIES)]


def one_line(text: str) -> str:
    """Extracted text with line breaks and hyphenation-free wrapping undone."""
    return " ".join(text.split())


def pdf_pages(content: bytes) -> list[str]:
    return [one_line(page.extract_text()) for page in pypdf.PdfReader(io.BytesIO(content)).pages]


def docx_text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return one_line(" ".join([p.text for p in document.paragraphs] + cells))


def docx_part(content: bytes, part: str) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return package.read(part).decode()


@dataclass
class Rendered:
    demo: Demo
    documents: dict[str, bytes] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    snapshot_in_indicators: list[dict[str, Any]] = field(default_factory=list)
    after_import: dict[str, Any] = field(default_factory=dict)
    after_import_in_indicators: list[dict[str, Any]] = field(default_factory=list)
    live_before: list[dict[str, Any]] = field(default_factory=list)
    live_after: list[dict[str, Any]] = field(default_factory=list)
    draft: dict[str, bytes] = field(default_factory=dict)
    cancelled: httpx.Response | None = None
    unknown: httpx.Response | None = None
    bad_format: httpx.Response | None = None
    draft_snapshot: httpx.Response | None = None


async def report(client: httpx.AsyncClient, meeting_id: str, format_: str) -> bytes:
    response = await client.get(
        f"/v1/meetings/{meeting_id}/report", params={"format": format_}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    return response.content


async def send(client: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, path, json=body, headers=ADMIN)
    assert response.status_code < 300, response.text
    return response.json()


async def hostile_meeting(client: httpx.AsyncClient) -> str:
    """A planned meeting where a delegate's words are markup and field codes."""
    meeting = await send(
        client,
        "POST",
        "/v1/meetings",
        {
            "title": "Thematic meeting on return",
            "kind": "thematic_meeting",
            "starts_on": "2020-06-04",
            "ends_on": "2020-06-05",
            "city": "Riga",
            "country": "LV",
        },
    )
    base = f"/v1/meetings/{meeting['id']}"
    await send(client, "PUT", f"{base}/delegations", [{"participant": "LV", "headcount": 2}])
    body = {"delegation": "LV", "kind": "statement", "text": HOSTILE}
    await send(client, "POST", f"{base}/interventions", body)
    return str(meeting["id"])


@pytest.fixture(scope="module")
async def rendered(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rendered]:
    # Deadlines far beyond any render: the test is about the documents, not the machine's speed.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REPORT_TIMEOUT_S", "120")
        platform = EmbeddedPlatform(
            tmp_path_factory.mktemp("report"),
            KEY,
            load_demo_data=False,
            gateway_options={"upstream_timeout_s": 120},
        )
    async with running(platform.gateway) as client:
        demo = await load_demo(client, KEY)
        meeting = f"/v1/meetings/{demo.meeting_id}"
        done = Rendered(demo)

        async def snapshot_arrived() -> bool:
            response = await client.get(f"{meeting}/results-snapshot", headers=ADMIN)
            return response.status_code == 200

        await eventually(snapshot_arrived)
        for format_ in ("pdf", "docx", "html", "md"):
            done.documents[format_] = await report(client, demo.meeting_id, format_)
        done.snapshot = await send(client, "GET", f"{meeting}/results-snapshot")
        snapshots = f"/v1/rollups/snapshots?meeting={demo.meeting_id}"
        done.snapshot_in_indicators = await send(client, "GET", snapshots)

        # A later import: the live rollups move, the snapshots do not.
        rollups = "/v1/rollups?by=goal,year&indicator=GLOACT-TRAINED"
        done.live_before = await send(client, "GET", rollups)
        later = {
            "external_id": "UNODC-TRAINED-AF-2020-Q1",
            "project": "GLO.ACT",
            "indicator": "GLOACT-TRAINED",
            "period": "2019-Q4",
            "country": "AF",
            "value": 500,
        }
        response = await client.post(
            "/v1/results/import",
            json={"results": [later]},
            headers={"Authorization": f"Bearer {demo.keys['UNODC']}"},
        )
        assert response.status_code == 200, response.text
        done.live_after = await send(client, "GET", rollups)
        done.after_import = await send(client, "GET", f"{meeting}/results-snapshot")
        done.after_import_in_indicators = await send(client, "GET", snapshots)

        draft_id = await hostile_meeting(client)
        for format_ in ("pdf", "docx", "html", "md"):
            done.draft[format_] = await report(client, draft_id, format_)
        done.draft_snapshot = await client.get(
            f"/v1/meetings/{draft_id}/results-snapshot", headers=ADMIN
        )
        done.bad_format = await client.get(
            f"/v1/meetings/{draft_id}/report", params={"format": "odt"}, headers=ADMIN
        )
        await send(client, "POST", f"/v1/meetings/{draft_id}/cancel")
        done.cancelled = await client.get(f"/v1/meetings/{draft_id}/report", headers=ADMIN)
        done.unknown = await client.get(
            "/v1/meetings/00000000-0000-4000-8000-000000000000/report", headers=ADMIN
        )
        yield done


def test_the_country_names_are_the_sources() -> None:
    names = source_names()
    assert len(names) == 37
    assert sorted(PROCESS_NAMES[code] for code in COUNTRY_HEADCOUNTS) == sorted(names)


@pytest.mark.parametrize("format_", ["pdf", "docx"])
def test_the_demo_summary_says_what_the_source_says(rendered: Rendered, format_: str) -> None:
    content = rendered.documents[format_]
    text = " ".join(pdf_pages(content)) if format_ == "pdf" else docx_text(content)
    assert "82 participants" in text
    assert "37 countries" in text
    # In the source's alphabetical order, by its names.
    assert SOURCE_COUNTRIES in text
    for name in source_names():
        assert name in text
    assert f"{len(ORGANISATION_HEADCOUNTS)} organisations" in text
    for organisation in SOURCE_ORGANISATIONS:
        assert organisation in text, organisation
    for country in ("Bulgaria", "Latvia", "Azerbaijan"):
        assert re.search(rf"{country} offered to host “[^”]+” in 2020", text), country
    assert "Serbia asked for an amendment: Proposes to add the word 'prevention'" in text
    assert text.count("North Macedonia asked for an amendment") == 3
    assert "Endorsement (plan version 2): The Chair and the participating countries endorse" in text
    assert "Czech Republic entered a reservation and did not join the decision" in text
    # The coming year's activities with their hosts, from the calendar.
    assert "Meetings and activities in 2020 and their hosts" in text
    assert "Black Sea working group meeting on return and reintegration" in text
    # The results as presented: the meeting counted itself (1 of 6 meetings held in 2019).
    assert "Results as presented" in text
    assert "Meetings of the dialogue held" in text
    assert "DRAFT" not in text


def test_the_pdf_is_a4_with_the_dialogue_and_page_numbers_on_every_page(
    rendered: Rendered,
) -> None:
    reader = pypdf.PdfReader(io.BytesIO(rendered.documents["pdf"]))
    pages = pdf_pages(rendered.documents["pdf"])
    assert len(pages) >= 2
    for number, (page, text) in enumerate(zip(reader.pages, pages, strict=True), 1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
        # The margin boxes (header, then footer) come last in the extracted text.
        assert text.endswith(f"Budapest Process Page {number} of {len(pages)}")


def test_the_word_document_has_the_header_and_page_numbers(rendered: Rendered) -> None:
    document = docx.Document(io.BytesIO(rendered.documents["docx"]))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert section.header.paragraphs[0].text == "Budapest Process"
    footer = docx_part(rendered.documents["docx"], "word/footer1.xml")
    assert 'w:instr="PAGE"' in footer
    assert 'w:instr="NUMPAGES"' in footer


def test_html_and_markdown_carry_the_same_summary(rendered: Rendered) -> None:
    html = rendered.documents["html"].decode()
    markdown = rendered.documents["md"].decode()
    for text in (html, markdown):
        assert "82 participants from 37 countries" in text
        assert "Czech Republic entered a reservation" in text
    assert "<h2>Summary</h2>" in html
    assert "## Summary" in markdown


def test_the_results_snapshot_is_what_the_meeting_saw(rendered: Rendered) -> None:
    snapshot = rendered.snapshot
    assert snapshot["meeting_id"] == rendered.demo.meeting_id
    assert rendered.snapshot_in_indicators == [snapshot]
    rows = {(r["indicator"], r["year"]): r for r in snapshot["rows"]}
    # The meeting's own activity is in it. Whether the partners' first reports are too depends on
    # when indicators-api heard of the meeting (the demo reports right after holding it): the
    # snapshot is the rollups as they stood then, which the next test holds fixed.
    assert rows[("BP-MEETINGS-HELD", 2019)]["value"] == 1
    assert rows[("BP-PARTICIPANTS", 2019)]["value"] == 82


def test_a_later_import_changes_the_rollups_not_the_snapshot(rendered: Rendered) -> None:
    assert rendered.live_after != rendered.live_before
    assert rendered.after_import == rendered.snapshot
    assert rendered.after_import_in_indicators == rendered.snapshot_in_indicators


def test_a_meeting_not_held_gives_a_draft_marked_on_every_page(rendered: Rendered) -> None:
    pages = pdf_pages(rendered.draft["pdf"])
    assert all("DRAFT" in page for page in pages)
    assert "Draft summary" in pages[0]
    document = docx.Document(io.BytesIO(rendered.draft["docx"]))
    assert "DRAFT" in document.sections[0].header.paragraphs[0].text
    assert "Draft summary" in rendered.draft["html"].decode()
    assert rendered.draft_snapshot is not None
    assert rendered.draft_snapshot.status_code == 404
    assert rendered.draft_snapshot.json()["code"] == "results_snapshot_not_found"


def test_a_delegate_statement_stays_text(rendered: Rendered) -> None:
    html = rendered.draft["html"].decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    markdown = rendered.draft["md"].decode()
    assert "<script>" not in markdown
    assert "\\*\\*bold\\*\\* \\[link\\](javascript:alert(1))" in markdown
    # Word: the field codes are characters of a run, no field anywhere in the body.
    body = docx_part(rendered.draft["docx"], "word/document.xml")
    for field_markup in ("w:fldChar", "w:instrText", "w:fldSimple"):
        assert field_markup not in body
    assert HOSTILE in docx_text(rendered.draft["docx"])
    assert '<script>alert("x")</script>' in pdf_pages(rendered.draft["pdf"])[0]


def test_refusals_are_problems(rendered: Rendered) -> None:
    for response, status, code in (
        (rendered.cancelled, 409, "meeting_cancelled"),
        (rendered.unknown, 404, "meeting_not_found"),
        (rendered.bad_format, 422, "validation_failed"),
    ):
        assert response is not None
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
