"""The body of an import, JSON or CSV, read into raw rows (one parse; rows are validated later).

CSV: UTF-8, a header row naming the columns ``external_id, project, indicator, period, value``
(required), ``country, comment`` and one ``disaggregation.<dimension>`` column per dimension
used (``disaggregation.sex``, ``disaggregation.age_band``, ``disaggregation.nationality``,
``disaggregation.migration_status``). An empty cell is an absent value; blank lines are
skipped; a row's ``index`` counts the data rows from 0. The reporting organisation is the
query's ``organisation`` (or the partner key's)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from bp_common.errors import DomainError, FieldError, InvalidInput
from indicators_api.codelists import Dimension
from indicators_api.results.schemas import ImportEnvelope, RowError
from indicators_api.results.validation import row_error

MAX_ROWS = 20_000
CSV_REQUIRED = ("external_id", "project", "indicator", "period", "value")
CSV_COLUMNS = frozenset(
    [*CSV_REQUIRED, "country", "comment", *(f"disaggregation.{d.value}" for d in Dimension)]
)


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class TooManyRows(DomainError):
    status = 413
    code = "too_many_rows"


@dataclass
class Payload:
    media: str  # "json" or "csv"
    organisation: str | None
    rows: list[Any]
    # Rows already refused while reading (a CSV line with the wrong number of cells).
    row_errors: dict[int, RowError] = field(default_factory=dict)

    @property
    def text_values(self) -> bool:
        return self.media == "csv"


def read_payload(body: bytes, content_type: str | None) -> Payload:
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media == "text/csv":
        payload = _csv(body)
    elif media == "application/json" or media.endswith("+json"):
        payload = _json(body)
    else:
        raise UnsupportedMediaType(f"Send application/json or text/csv, not {media}.")
    if len(payload.rows) > MAX_ROWS:
        raise TooManyRows(f"At most {MAX_ROWS} rows per import; split the push.")
    return payload


def _json(body: bytes) -> Payload:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"The body is not JSON: {exc}", code="malformed_body") from exc
    try:
        envelope = ImportEnvelope.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(
            "The body is not {organisation?, results: [...]}; see errors.",
            errors=[
                FieldError(loc=["body", *e["loc"]], code=e["type"], message=e["msg"])
                for e in exc.errors(include_url=False)
            ],
        ) from exc
    return Payload("json", envelope.organisation, envelope.results)


def _csv(body: bytes) -> Payload:
    try:
        lines = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
        header = [name.strip() for name in next(lines, [])]
        records = [record for record in lines if any(cell.strip() for cell in record)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"The body is not UTF-8 CSV: {exc}", code="malformed_csv") from exc
    problems = [
        FieldError(loc=["header", name], code="unknown_column", message="not a result field")
        for name in header
        if name not in CSV_COLUMNS
    ] + [
        FieldError(loc=["header", name], code="missing_column", message="required column")
        for name in CSV_REQUIRED
        if header and name not in header
    ]
    if len(set(header)) != len(header):
        problems.append(FieldError(loc=["header"], code="duplicate_column", message="repeated"))
    if problems:
        raise InvalidInput("The CSV header does not name the result fields.", errors=problems)
    rows: list[Any] = []
    errors: dict[int, RowError] = {}
    for index, record in enumerate(records):
        row: dict[str, Any] = {}
        for name, cell in zip(header, record, strict=False):
            if cell == "":
                continue
            if name.startswith("disaggregation."):
                row.setdefault("disaggregation", {})[name.removeprefix("disaggregation.")] = cell
            else:
                row[name] = cell
        rows.append(row)
        if len(record) != len(header):
            errors[index] = row_error(
                index,
                row.get("external_id"),
                "csv_cell_count",
                [],
                f"{len(record)} cells for {len(header)} columns",
            )
    return Payload("csv", None, rows, errors)
