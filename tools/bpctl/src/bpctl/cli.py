"""``bpctl``: run the platform in one process, and the commands people otherwise do by hand.
Every admin command goes through the gateway's public API with an API key."""

from __future__ import annotations

import asyncio
import csv
import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from bp_common.events.redrive import redrive
from bp_common.logging import configure_logging
from bp_common.replay import ReplayRefused, TopicReplay, check_replayable, replay_read_models
from bp_common.runner import configure_process_tracing, freeze_startup_objects
from bpctl.client import ApiError, PlatformClient
from bpctl.demo import StoryError, is_empty, load_demo
from bpctl.embedded import EmbeddedPlatform, admin_key_for
from gateway.settings import GatewaySettings
from indicators_api.app import SPEC as INDICATORS_SPEC
from meetings_api.app import SPEC as MEETINGS_SPEC
from meetings_api.reports.schemas import ReportFormat, ReportLanguage
from plan_api.app import SPEC as PLAN_SPEC

app = typer.Typer(no_args_is_help=True, help="Budapest Process platform: run and administer.")
keys_app = typer.Typer(no_args_is_help=True, help="Issue, list and revoke API keys.")
results_app = typer.Typer(no_args_is_help=True, help="Import and export partner results.")
rollups_app = typer.Typer(no_args_is_help=True, help="Export indicator rollups.")
demo_app = typer.Typer(no_args_is_help=True, help="The Istanbul 2019 demo data.")
dlq_app = typer.Typer(no_args_is_help=True, help="Dead-letter topics.")
meetings_app = typer.Typer(no_args_is_help=True, help="Meetings: their summaries.")
iati_app = typer.Typer(no_args_is_help=True, help="IATI 2.03 activity files in and out.")
app.add_typer(keys_app, name="keys")
app.add_typer(results_app, name="results")
app.add_typer(rollups_app, name="rollups")
app.add_typer(demo_app, name="demo")
app.add_typer(dlq_app, name="dlq")
app.add_typer(meetings_app, name="meetings")
app.add_typer(iati_app, name="iati")
console = Console()

UrlOption = Annotated[str, typer.Option("--url", envvar="BP_URL", help="The gateway's address.")]
KeyOption = Annotated[
    str,
    typer.Option(
        "--key", envvar=["BP_API_KEY", "ADMIN_API_KEY"], help="API key (secretariat for keys)."
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"
# The options of every import.
ReporterOption = Annotated[
    str | None, typer.Option(help="Reporting organisation (secretariat keys).")
]
DryRunOption = Annotated[bool, typer.Option(help="Validate only; store nothing.")]
IdempotencyKeyOption = Annotated[str | None, typer.Option(help="Replays return the first answer.")]
PROGRESS_COLUMNS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())


def _client(url: str, key: str) -> PlatformClient:
    return PlatformClient(url, key)


def _fail(error: ApiError) -> typer.Exit:
    console.print(f"[red]refused:[/red] {error}")
    for item in error.errors[:20]:
        console.print(f"  {item}")
    return typer.Exit(code=1)


def _table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table


@app.callback()
def main() -> None:
    """Budapest Process platform: run and administer."""


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the gateway.")] = 8000,
    var_dir: Annotated[
        Path, typer.Option(help="Where the SQLite databases and the admin key live.")
    ] = Path("var/embedded"),
    demo: Annotated[
        bool, typer.Option(help="Load the Istanbul 2019 demo data into an empty platform.")
    ] = True,
) -> None:
    """Run the whole platform in one process (embedded mode: SQLite, in-process bus)."""
    configure_logging("embedded", os.environ.get("LOG_LEVEL", "INFO"), json=False)
    key, generated = admin_key_for(var_dir, os.environ.get("ADMIN_API_KEY"))
    # One process: the gateway's settings (GATEWAY_TRACING_*, GATEWAY_METRICS_PORT) cover it.
    configure_process_tracing(GatewaySettings(service_name="embedded"))
    platform = EmbeddedPlatform(var_dir, key, load_demo_data=demo)
    origin = "generated now" if generated else "from ADMIN_API_KEY or " + str(var_dir)
    typer.echo(
        f"\nBudapest Process platform (embedded) on http://{host}:{port}\n"
        f"  admin API key ({origin}):\n    {key}\n"
        f"  try: curl -H 'Authorization: Bearer {key}' http://{host}:{port}/v1/meetings\n"
    )
    freeze_startup_objects()  # as in the distributed mode's processes (see its docstring)
    uvicorn.run(platform.gateway, host=host, port=port, log_config=None, access_log=False)


# -- keys -------------------------------------------------------------------------------------

KEY_COLUMNS = ["id", "name", "role", "organisation", "country", "expires_at", "revoked_at"]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    role: Annotated[str, typer.Option(help="secretariat | partner | member | viewer")],
    organisation: Annotated[str | None, typer.Option(help="Partner keys: e.g. IOM.")] = None,
    country: Annotated[str | None, typer.Option(help="Member keys: e.g. BG.")] = None,
    expires_at: Annotated[str | None, typer.Option(help="ISO 8601 with a time zone.")] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option(help="Requests per minute for this key (default: the gateway's)."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Issue a key. Its secret is printed once and cannot be read again."""
    body = {
        "name": name,
        "role": role,
        "organisation": organisation,
        "country": country,
        "expires_at": expires_at,
        "rate_limit_per_minute": rate_limit,
    }
    try:
        with _client(url, key) as client:
            issued = client.post("/v1/api-keys", {k: v for k, v in body.items() if v is not None})
    except ApiError as error:
        raise _fail(error) from error
    console.print(_table("API key issued", [issued], KEY_COLUMNS))
    console.print(f"secret (shown once): [bold]{issued['key']}[/bold]")


@keys_app.command("list")
def keys_list(
    include_revoked: Annotated[bool, typer.Option(help="Also list revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """List the issued keys (never their secrets)."""
    try:
        with _client(url, key) as client:
            rows = list(client.pages("/v1/api-keys", include_revoked=include_revoked))
    except ApiError as error:
        raise _fail(error) from error
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
    else:
        console.print(_table("API keys", rows, KEY_COLUMNS))


@keys_app.command("limit")
def keys_limit(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    per_minute: Annotated[
        int | None,
        typer.Argument(help="Requests per minute; omit to return to the gateway's default."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Change a key's rate limit; the gateway applies it from the key's next request."""
    try:
        with _client(url, key) as client:
            changed = client.request(
                "PATCH", f"/v1/api-keys/{key_id}", json={"rate_limit_per_minute": per_minute}
            )
    except ApiError as error:
        raise _fail(error) from error
    limit = changed["rate_limit_per_minute"]
    console.print(f"{key_id}: {limit or 'the gateway default'} requests a minute")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Revoke a key: its next request is refused."""
    try:
        with _client(url, key) as client:
            client.request("DELETE", f"/v1/api-keys/{key_id}")
    except ApiError as error:
        raise _fail(error) from error
    console.print(f"revoked {key_id}")


# -- results ------------------------------------------------------------------------------------

IMPORT_COUNTS = ["created", "updated", "unchanged", "rejected", "withdrawn"]


def _read_with_progress(path: Path, progress: Progress) -> Iterator[bytes]:
    task = progress.add_task(f"uploading {path.name}", total=path.stat().st_size)
    with path.open("rb") as handle:
        while chunk := handle.read(64 * 1024):
            progress.advance(task, len(chunk))
            yield chunk


@results_app.command("import")
def results_import(
    csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    organisation: ReporterOption = None,
    dry_run: DryRunOption = False,
    idempotency_key: IdempotencyKeyOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            help="mode=replace: withdraw the organisation's results the file leaves out of each "
            "(project, indicator, period) it reports."
        ),
    ] = False,
    show_errors: Annotated[int, typer.Option(help="How many rejected rows to print.")] = 20,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Import a CSV of results in one request (the API's own counts are printed)."""
    _upload_with_report(
        csv_file,
        "/v1/results/import",
        "text/csv",
        {
            "dry_run": str(dry_run).lower(),
            "organisation": organisation,
            "mode": "replace" if replace else "upsert",
        },
        idempotency_key,
        dry_run,
        show_errors,
        {"rows": ["index", "external_id", "code", "loc", "message"]},
        url,
        key,
    )


def _upload_with_report(
    file: Path,
    path: str,
    content_type: str,
    params: dict[str, Any],
    idempotency_key: str | None,
    dry_run: bool,
    show_errors: int,
    error_columns: dict[str, list[str]],
    url: str,
    key: str,
) -> None:
    """Streams the file with a progress bar, then prints the import's report as tables
    (``error_columns``: what an error is called, and its columns)."""
    headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
    columns = [BarColumn(), DownloadColumn(), TimeRemainingColumn()]
    try:
        with _client(url, key) as client, Progress(*columns, console=console) as progress:
            report = client.upload(
                path,
                _read_with_progress(file, progress),
                content_type=content_type,
                params=params,
                headers=headers,
            )
    except ApiError as error:
        raise _fail(error) from error
    console.print(
        _table("import report" + (" (dry run)" if dry_run else ""), [report], IMPORT_COUNTS)
    )
    errors = report.get("errors", [])
    if errors:
        console.print(
            _table(
                f"rejected {next(iter(error_columns))} (first {min(show_errors, len(errors))} of "
                f"{len(errors)})",
                errors[:show_errors],
                next(iter(error_columns.values())),
            )
        )


def _write_csv(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", newline="") as handle:
        writer: csv.DictWriter[str] | None = None
        for row in rows:
            flat = {k: _cell(v) for k, v in row.items()}
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(flat))
                writer.writeheader()
            writer.writerow(flat)
            count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in sorted(value.items()))
    return value


@results_app.command("withdraw")
def results_withdraw(
    external_ids: Annotated[list[str], typer.Argument(help="The organisation's own result ids.")],
    reason: Annotated[str, typer.Option(help="Why: kept with each tombstone.")],
    organisation: ReporterOption = None,
    idempotency_key: IdempotencyKeyOption = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Withdraw results by their external ids (tombstones: out of lists and rollups)."""
    body: dict[str, Any] = {"external_ids": external_ids, "reason": reason}
    if organisation:
        body["organisation"] = organisation
    headers = {"idempotency-key": idempotency_key} if idempotency_key else {}
    try:
        with _client(url, key) as client:
            report = client.request("POST", "/v1/results/withdraw", json=body, headers=headers)
    except ApiError as error:
        raise _fail(error) from error
    console.print(_table("withdrawal", [report], ["withdrawn", "unchanged", "rejected"]))
    for refused in report.get("errors", []):
        console.print(f"not withdrawn: {refused['external_id']} ({refused['code']})")


@results_app.command("export")
def results_export(
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    project: str | None = None,
    indicator: str | None = None,
    country: str | None = None,
    organisation: str | None = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Export stored results as CSV."""
    filters = {
        "project": project,
        "indicator": indicator,
        "country": country,
        "organisation": organisation,
    }
    try:
        with _client(url, key) as client:
            count = _write_csv(out, client.pages("/v1/results", **filters))
    except ApiError as error:
        raise _fail(error) from error
    console.print(f"{count} results written to {out}")


@rollups_app.command("export")
def rollups_export(
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    by: Annotated[
        str, typer.Option(help="Grouping, e.g. goal,country,year.")
    ] = "goal,country,year",
    indicator: str | None = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Export rollups as CSV."""
    try:
        with _client(url, key) as client:
            rows = client.get("/v1/rollups", by=by, indicator=indicator)
    except ApiError as error:
        raise _fail(error) from error
    count = _write_csv(out, iter(rows))
    console.print(f"{count} rollup rows written to {out}")


@meetings_app.command("report")
def meetings_report(
    meeting_id: Annotated[str, typer.Argument(help="The meeting's id.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    format_: Annotated[
        ReportFormat, typer.Option("--format", help="Document format.")
    ] = ReportFormat.PDF,
    lang: Annotated[ReportLanguage, typer.Option(help="Language.")] = ReportLanguage.EN,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Write the meeting's summary (a draft for a meeting not held yet)."""
    try:
        with _client(url, key) as client:
            document = client.download(
                f"/v1/meetings/{meeting_id}/report", format=format_.value, lang=lang.value
            )
    except ApiError as error:
        raise _fail(error) from error
    out.write_bytes(document)
    console.print(f"{len(document):,} bytes of {format_.value} written to {out}")


@iati_app.command("import")
def iati_import(
    xml_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    organisation: ReporterOption = None,
    dry_run: DryRunOption = False,
    idempotency_key: IdempotencyKeyOption = None,
    show_errors: Annotated[int, typer.Option(help="How many refused elements to print.")] = 20,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Import the results of an IATI 2.03 activity file (mapped by the organisation's IATI
    mapping; the API's report is printed)."""
    _upload_with_report(
        xml_file,
        "/v1/iati/import",
        "application/xml",
        {"dry_run": str(dry_run).lower(), "organisation": organisation},
        idempotency_key,
        dry_run,
        show_errors,
        {"elements": ["activity", "xpath", "code", "message"]},
        url,
        key,
    )


@iati_app.command("export")
def iati_export(
    out: Annotated[Path, typer.Option(help="XML file to write.")],
    organisation: str | None = None,
    project: str | None = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = "",
) -> None:
    """Export projects and their results as an IATI 2.03 activity file."""
    params = {"organisation": organisation, "project": project}
    try:
        with _client(url, key) as client:
            size = client.download_to("/v1/iati/activities.xml", out, params)
    except ApiError as error:
        raise _fail(error) from error
    console.print(f"{size} bytes written to {out}")


@demo_app.command("load")
def demo_load(url: UrlOption = DEFAULT_URL, key: KeyOption = "") -> None:
    """Load the Istanbul 2019 story through the API (any deployment; needs a secretariat key)."""

    async def load() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            if not await is_empty(client, key):
                raise typer.BadParameter("the platform already holds meetings or plans")
            demo = await load_demo(client, key, within_s=60)
        console.print(f"loaded: meeting {demo.meeting_id}, plan {demo.plan_id}")
        for who, issued in demo.keys.items():
            console.print(f"  key for {who}: {issued}")

    try:
        asyncio.run(load())
    except StoryError as error:
        console.print(f"[red]the demo could not be loaded:[/red] {error}")
        raise typer.Exit(code=1) from error


# The services whose consumers `replay` can target, by their deployment names.
REPLAYABLE = {
    "meetings-api": MEETINGS_SPEC,
    "plan-api": PLAN_SPEC,
    "indicators-api": INDICATORS_SPEC,
}


# Paragraphs without inner line breaks: the help keeps those of a docstring's later paragraphs.
REPLAY_HELP = "\n\n".join(
    [
        "Rebuild SERVICE's read models from offset 0 of the topics it consumes: the calendar of "
        "meetings-api; the event-fed metrics and their rollups of indicators-api.",
        "Reads the service's own settings from the environment, as the service does (e.g. "
        "MEETINGS_DATABASE_URL, MEETINGS_BUS=kafka, MEETINGS_KAFKA_BOOTSTRAP_SERVERS, "
        "MEETINGS_KAFKA_NAMESPACE).",
        "The service may keep running: the replay and its consumer skip each other's events. "
        "Rollup updates that the rebuilt handlers announce are published again by its relay.",
    ]
)


@app.command(help=REPLAY_HELP)
def replay(
    service: Annotated[
        str, typer.Argument(help=f"One of {', '.join(REPLAYABLE)}.", show_default=False)
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    spec = REPLAYABLE.get(service)
    if spec is None:
        raise typer.BadParameter(f"choose among {', '.join(REPLAYABLE)}", param_hint="SERVICE")
    settings = spec.settings_class()
    try:
        check_replayable(spec, settings)
    except ReplayRefused as refused:
        console.print(f"[red]refused:[/red] {service}: {refused}")
        raise typer.Exit(code=2) from refused
    if not yes:
        typer.confirm(
            f"Delete {service}'s read models and rebuild them from "
            f"{settings.kafka_bootstrap_servers}?",
            abort=True,
        )
    with Progress(*PROGRESS_COLUMNS, console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def started(topics: list[TopicReplay]) -> None:
            for topic in topics:
                tasks[topic.topic] = progress.add_task(topic.topic, total=topic.total)

        def advanced(topic: TopicReplay) -> None:
            progress.update(tasks[topic.topic], completed=topic.read)

        try:
            report = asyncio.run(
                replay_read_models(spec, settings, on_start=started, on_record=advanced)
            )
        except (KafkaError, DBAPIError, OSError, TimeoutError) as error:
            console.print(
                f"[red]the replay stopped:[/red] {error!r}. Run it again once the cause is "
                "fixed: it starts over from offset 0."
            )
            raise typer.Exit(code=1) from error
    console.print(
        _table(
            f"replay of {service} (consumer group {report.group})",
            [asdict(topic) for topic in report.topics],
            ["topic", "total", "read", "malformed", "failed"],
        )
    )
    console.print(
        f"inbox claims of {report.group}: {report.forgotten_claims} forgotten before, "
        f"{report.claims} now"
    )
    if report.failures:
        for failure in report.failures[:20]:
            console.print(f"  [red]failed:[/red] {failure}")
        raise typer.Exit(code=1)


@dlq_app.command("redrive")
def dlq_redrive(
    topic: Annotated[str, typer.Argument(help="The topic, e.g. meetings.events.")],
    bootstrap: Annotated[
        str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS", help="Kafka bootstrap servers.")
    ] = "127.0.0.1:9092",
    namespace: Annotated[str, typer.Option(envvar="KAFKA_NAMESPACE", help="Topic prefix.")] = "",
) -> None:
    """Send the dead letters of TOPIC back to it, once each, after the cause is fixed."""
    moved = asyncio.run(redrive(bootstrap, f"{namespace}{topic}.dlq"))
    console.print(f"{moved} dead letters re-driven to {namespace}{topic}")


if __name__ == "__main__":
    app()
