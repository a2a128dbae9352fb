from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from bp_common.types import Acronym
from bp_common.withdrawals import WithdrawalReason, WithdrawnFields
from indicators_api.codelists import Disaggregation
from indicators_api.fields import UniqueList
from indicators_api.periods import PERIOD_PATTERN

NumberOrText = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": "A number; text for a qualitative indicator.",
        }
    ),
]


class ResultRow(BaseModel):
    """One row of an import, validated on its own: an invalid row is reported, not stored."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(min_length=1, max_length=200, description="The partner's own id.")
    project: str = Field(min_length=1, max_length=50, description="A project code.")
    indicator: str = Field(min_length=1, max_length=50, description="An indicator code.")
    # The row's own check reports `invalid_period`; the pattern is for the document.
    period: str = Field(
        max_length=16,
        examples=["2020", "2020-Q3", "2020-07"],
        json_schema_extra={"pattern": PERIOD_PATTERN},
    )
    country: str | None = Field(default=None, max_length=8, description="One of the project's.")
    disaggregation: Disaggregation | None = None
    value: NumberOrText
    comment: str | None = Field(default=None, max_length=2000)


class ImportRequest(BaseModel):
    """The JSON body of an import."""

    model_config = ConfigDict(extra="forbid")

    organisation: Acronym | None = Field(
        default=None,
        description="The reporting organisation: required of the Secretariat; a partner key "
        "reports for its own organisation.",
    )
    results: list[ResultRow]


class ImportEnvelope(BaseModel):
    """The body around the rows, validated as a whole before the rows one by one."""

    model_config = ConfigDict(extra="forbid")

    organisation: Acronym | None = None
    results: list[Any]


class RowError(BaseModel):
    index: int = Field(description="Position of the row in the request (0-based).")
    external_id: str | None
    code: str
    loc: list[str | int]
    message: str


class ImportMode(StrEnum):
    UPSERT = "upsert"
    REPLACE = "replace"


class ImportCounts(BaseModel):
    """What an import did, whatever its format (JSON, CSV, IATI)."""

    import_id: uuid.UUID | None = Field(description="Null for a dry run.")
    dry_run: bool
    created: int
    updated: int
    unchanged: int
    rejected: int
    withdrawn: int = Field(
        default=0,
        description="`mode=replace`: the organisation's results withdrawn because the push left "
        "them out of a (project, indicator, period) it reports; 0 otherwise.",
    )


class ImportOutcome(ImportCounts):
    errors: list[RowError] = Field(description="One per rejected row, in row order.")


class StagedRow(NamedTuple):
    """A valid row, ready for the staging table (field order = its columns)."""

    id: uuid.UUID
    organisation: str
    external_id: str
    project: str
    indicator: str
    goal: int
    period: str
    year: int
    period_key: int
    country: str | None
    disaggregation: dict[str, str] | None
    value_number: float | None
    value_text: str | None
    comment: str | None


class ResultsSummary(BaseModel):
    results: int = Field(description="Results stored.")
    organisations: int = Field(description="Organisations that reported them.")


# A partner's own id of a result, as the import takes it.
ExternalId = Annotated[str, Field(min_length=1, max_length=200)]
MAX_WITHDRAWN = 20_000


class WithdrawRequest(BaseModel):
    """Results to withdraw, by the reporting organisation's own ids."""

    model_config = ConfigDict(extra="forbid")

    organisation: Acronym | None = Field(
        default=None,
        description="The reporting organisation: required of the Secretariat; a partner key "
        "withdraws its own organisation's results only.",
    )
    external_ids: UniqueList[ExternalId] = Field(min_length=1, max_length=MAX_WITHDRAWN)
    reason: WithdrawalReason = Field(examples=["Reported for the wrong country."])


class WithdrawOutcome(BaseModel):
    """What a withdrawal did: one error per id it could not withdraw (`unknown_external_id`)."""

    withdrawal_id: uuid.UUID
    withdrawn: int = Field(description="Results withdrawn now.")
    unchanged: int = Field(description="Results withdrawn already (nothing changed for them).")
    rejected: int
    errors: list[RowError] = Field(description="One per rejected id, in request order.")


class ResultOut(WithdrawnFields):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organisation: str
    external_id: str
    project: str
    indicator: str
    period: str
    year: int
    country: str | None
    disaggregation: dict[str, str] | None
    value: float | str | None
    comment: str | None
    created_at: datetime
    updated_at: datetime


class ResultFilters(BaseModel):
    project: str | None = None
    indicator: str | None = None
    period: str | None = None
    country: str | None = None
    organisation: str | None = None
    year: int | None = None
    include_withdrawn: bool = False
