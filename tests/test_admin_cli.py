"""The admin CLI against a running embedded platform, through the public API."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import httpx
import pypdf
from typer.testing import CliRunner

from bpctl.cli import app

from .conftest import Server

runner = CliRunner()


def bpctl(server: Server, *args: str) -> str:
    result = runner.invoke(
        app, [*args, "--url", server.url, "--key", server.admin_key], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_key}"}


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["run"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "limit"],
        ["keys", "revoke"],
        ["results", "import"],
        ["results", "export"],
        ["rollups", "export"],
        ["iati", "import"],
        ["iati", "export"],
        ["demo", "load"],
        ["dlq", "redrive"],
        ["replay"],
        ["meetings", "report"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_replay_refuses_what_it_cannot_rebuild_and_changes_nothing() -> None:
    # plan-api's consumers create its own records; the embedded default has no log to replay.
    for service, env, reason in (
        ("plan-api", {"PLAN_BUS": "kafka"}, "no read models to rebuild"),
        ("meetings-api", {"MEETINGS_BUS": "memory"}, "keeps no log to replay"),
    ):
        result = runner.invoke(app, ["replay", service, "--yes"], env=env)
        assert result.exit_code == 2, result.output
        assert reason in " ".join(result.output.split())
    unknown = runner.invoke(app, ["replay", "gateway", "--yes"])
    assert unknown.exit_code == 2
    assert "choose among meetings-api, plan-api," in unknown.output  # the box wraps the rest


def test_keys_are_created_listed_and_revoked(embedded_server: Server) -> None:
    created = bpctl(
        embedded_server,
        "keys",
        "create",
        "--name",
        "IOM sync",
        "--role",
        "partner",
        "--organisation",
        "IOM",
        "--rate-limit",
        "6000",
    )
    secret = re.search(r"(bp_[0-9a-f]+_\S+)", created)
    assert secret is not None
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    # Authenticated (a partner may not manage keys: 403, not 401).
    assert httpx.get(f"{embedded_server.url}/v1/api-keys", headers=headers).status_code == 403

    listed = [
        json.loads(line) for line in bpctl(embedded_server, "keys", "list", "--json").splitlines()
    ]
    [iom] = [row for row in listed if row["name"] == "IOM sync"]
    assert (iom["role"], iom["organisation"]) == ("partner", "IOM")
    assert iom["rate_limit_per_minute"] == 6000
    assert "9000 requests a minute" in bpctl(embedded_server, "keys", "limit", iom["id"], "9000")
    changed = httpx.get(
        f"{embedded_server.url}/v1/api-keys/{iom['id']}", headers=admin(embedded_server)
    )
    assert changed.json()["rate_limit_per_minute"] == 9000
    assert "the gateway default" in bpctl(embedded_server, "keys", "limit", iom["id"])
    reset = httpx.get(
        f"{embedded_server.url}/v1/api-keys/{iom['id']}", headers=admin(embedded_server)
    )
    assert reset.json()["rate_limit_per_minute"] is None
    assert "key" not in iom
    assert "IOM sync" in bpctl(embedded_server, "keys", "list")
    bpctl(embedded_server, "keys", "revoke", iom["id"])
    assert httpx.get(f"{embedded_server.url}/v1/api-keys", headers=headers).status_code == 401


def test_a_refusal_is_reported_and_exits_non_zero(embedded_server: Server) -> None:
    result = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--name",
            "x",
            "--role",
            "partner",
            "--url",
            embedded_server.url,
            "--key",
            embedded_server.admin_key,
        ],
    )
    assert result.exit_code == 1
    assert "422" in result.output


def results_csv(path: Path, rows: int) -> Path:
    """Rows for the demo's IOM project; every 50th row is invalid (a country not of the project)."""
    lines = ["external_id,project,indicator,period,country,disaggregation.sex,value"]
    for index in range(rows):
        country = "TR" if index % 50 == 0 else ("AF", "PK", "IQ")[index % 3]
        period = f"{2019 + index % 5}-Q{index % 4 + 1}"
        sex = ("female", "male")[index % 2]
        lines.append(
            f"CLI-{index},IMM-SILK-ROUTES,MRC-COUNSELLED,{period},{country},{sex},{index % 97}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def printed_counts(output: str) -> list[int]:
    """The counts row of the import report table: created, updated, unchanged, rejected,
    withdrawn."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) == 5 and all(cell.isdigit() for cell in cells):
            return [int(cell) for cell in cells]
    raise AssertionError(f"no counts in:\n{output}")


def test_a_10000_row_csv_import_prints_the_same_counts_as_the_api(
    embedded_server: Server, tmp_path: Path
) -> None:
    csv_file = results_csv(tmp_path / "results.csv", 10_000)
    api = httpx.post(
        f"{embedded_server.url}/v1/results/import",
        params={"organisation": "IOM", "dry_run": "true"},
        content=csv_file.read_bytes(),
        headers={
            "Authorization": f"Bearer {embedded_server.admin_key}",
            "content-type": "text/csv",
        },
        timeout=120,
    ).json()
    assert (api["created"], api["rejected"]) == (9_800, 200)

    output = bpctl(embedded_server, "results", "import", str(csv_file), "--organisation", "IOM")
    assert printed_counts(output) == [
        api["created"],
        api["updated"],
        api["unchanged"],
        api["rejected"],
        0,
    ]
    assert "rejected rows (first 20 of 200)" in output
    again = bpctl(embedded_server, "results", "import", str(csv_file), "--organisation", "IOM")
    assert printed_counts(again) == [0, 0, 9_800, 200, 0]

    exported = tmp_path / "export.csv"
    bpctl(
        embedded_server,
        "results",
        "export",
        "--out",
        str(exported),
        "--indicator",
        "MRC-COUNSELLED",
    )
    with exported.open() as handle:
        exported_ids = {row["external_id"] for row in csv.DictReader(handle)}
    assert {f"CLI-{i}" for i in range(10_000) if i % 50} <= exported_ids

    # --replace: the first 100 rows again; what IOM reported in those rows' (project,
    # indicator, period) scopes beyond them is withdrawn (the file's 20 periods: all the other
    # rows of the file, and the demo's own reports in those quarters).
    subset = results_csv(tmp_path / "subset.csv", 100)
    replaced = bpctl(
        embedded_server, "results", "import", str(subset), "--organisation", "IOM", "--replace"
    )
    created, updated, unchanged, rejected, withdrawn = printed_counts(replaced)
    assert (created, updated, unchanged, rejected) == (0, 0, 98, 2)
    assert withdrawn >= 9_800 - 98
    standing = httpx.get(
        f"{embedded_server.url}/v1/results",
        params={
            "project": "IMM-SILK-ROUTES",
            "indicator": "MRC-COUNSELLED",
            "organisation": "IOM",
            "limit": 500,
        },
        headers=admin(embedded_server),
    ).json()
    assert {r["external_id"] for r in standing["items"]} == {
        f"CLI-{i}" for i in range(100) if i % 50
    }

    withdrawn_now = bpctl(
        embedded_server,
        "results",
        "withdraw",
        "CLI-1",
        "CLI-2",
        "NOPE",
        "--organisation",
        "IOM",
        "--reason",
        "Counted twice.",
    )
    assert "not withdrawn: NOPE (unknown_external_id)" in withdrawn_now
    tombstone = httpx.get(
        f"{embedded_server.url}/v1/results",
        params={"organisation": "IOM", "include_withdrawn": "true", "limit": 500},
        headers=admin(embedded_server),
    ).json()["items"]
    assert next(r for r in tombstone if r["external_id"] == "CLI-1")["withdrawal_reason"] == (
        "Counted twice."
    )


def test_the_summary_of_a_meeting_is_written_to_a_file(
    embedded_server: Server, tmp_path: Path
) -> None:
    meetings = httpx.get(
        f"{embedded_server.url}/v1/meetings",
        headers={"Authorization": f"Bearer {embedded_server.admin_key}"},
    ).json()["items"]
    [istanbul] = [m for m in meetings if m["city"] == "Istanbul"]
    out = tmp_path / "summary.pdf"
    printed = bpctl(embedded_server, "meetings", "report", istanbul["id"], "--out", str(out))
    assert f"{out.stat().st_size:,} bytes of pdf" in " ".join(printed.split())
    text = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(out).pages)
    assert "82 participants from 37 countries" in text

    unknown = runner.invoke(
        app,
        [
            "meetings",
            "report",
            "00000000-0000-4000-8000-000000000000",
            "--out",
            str(out),
            "--format",
            "md",
            "--url",
            embedded_server.url,
            "--key",
            embedded_server.admin_key,
        ],
    )
    assert unknown.exit_code == 1
    assert "404 meeting_not_found" in unknown.output


def test_the_iati_export_imports_back_through_bpctl(
    embedded_server: Server, tmp_path: Path
) -> None:
    document = tmp_path / "activities.xml"
    # The demo's project implemented by the Secretariat's organisation, which re-imports it.
    project = "IMM-SILK-ROUTES"
    written = bpctl(embedded_server, "iati", "export", "--out", str(document), "--project", project)
    assert "bytes written to" in written
    assert document.read_bytes().count(b"<iati-activity>") == 1
    api = httpx.post(
        f"{embedded_server.url}/v1/iati/import",
        params={"organisation": "ICMPD", "dry_run": "true"},
        content=document.read_bytes(),
        headers={
            "Authorization": f"Bearer {embedded_server.admin_key}",
            "content-type": "application/xml",
        },
        timeout=120,
    ).json()
    # Rows of one figure under several external_ids (the CSV test's) are one IATI actual each:
    # the second is rejected as a duplicate figure; bpctl must say what the API says.
    assert api["created"] > 0, api
    output = bpctl(
        embedded_server, "iati", "import", str(document), "--organisation", "ICMPD", "--dry-run"
    )
    assert "import report (dry run)" in output
    assert printed_counts(output) == [
        api["created"],
        api["updated"],
        api["unchanged"],
        api["rejected"],
        api["withdrawn"],
    ]
