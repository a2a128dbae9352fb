"""Events of the results import on ``indicators.events``."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from bp_common.events.contract import Event, Examples

TOPIC = "indicators.events"


class ResultsImportedV1(Event):
    """A partner's import of results was applied (through the API or ``bpctl results
    import``), with how many rows it created, updated, left unchanged and rejected."""

    type: ClassVar[str] = "indicators.results.imported.v1"
    subject_field: ClassVar[str] = "import_id"
    key_field: ClassVar[str] = "import_id"
    examples: ClassVar[Examples] = (
        {
            "import_id": "6f7a8b9c-0d1e-4f2a-9b3c-4d5e6f7a8b92",
            "organisation": "IOM",
            "created": 12,
            "updated": 3,
            "unchanged": 40,
            "rejected": 1,
        },
    )

    import_id: uuid.UUID
    organisation: str = Field(description="The reporting organisation's acronym.")
    created: int = Field(ge=0)
    updated: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    rejected: int = Field(ge=0)
    withdrawn: int = Field(
        default=0,
        ge=0,
        description="Results of the organisation a `mode=replace` import withdrew (announced "
        "with their ids by `indicators.results.withdrawn.v1`).",
    )


class WithdrawalCause(StrEnum):
    REQUEST = "request"  # POST /v1/results/withdraw
    REPLACE_IMPORT = "replace_import"  # absent from a mode=replace import


# The ids an event names at most: a replace import may withdraw thousands.
MAX_IDS_PER_EVENT = 1_000


class ResultsWithdrawnV1(Event):
    """Results of one organisation were withdrawn (kept as tombstones, out of the rollups): on
    request by their external ids, or because a `mode=replace` import left them out. The
    rollups they were in are recomputed in the same transaction and announced by
    `indicators.rollup.updated.v1`."""

    type: ClassVar[str] = "indicators.results.withdrawn.v1"
    subject_field: ClassVar[str] = "withdrawal_id"
    key_field: ClassVar[str] = "withdrawal_id"
    examples: ClassVar[Examples] = (
        {
            "withdrawal_id": "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
            "organisation": "IOM",
            "withdrawn": 2,
            "external_ids": ["iom-2020-001", "iom-2020-002"],
            "truncated": False,
            "cause": "request",
            "import_id": None,
            "reason": "Reported for the wrong country.",
        },
    )

    withdrawal_id: uuid.UUID = Field(description="The withdrawal; a replace import's own id.")
    organisation: str = Field(description="The reporting organisation's acronym.")
    withdrawn: int = Field(ge=1, description="How many results were withdrawn.")
    external_ids: list[str] = Field(
        description=f"Their external ids, the first {MAX_IDS_PER_EVENT} (sorted) at most."
    )
    truncated: bool = Field(description="Whether more were withdrawn than `external_ids` names.")
    cause: WithdrawalCause
    import_id: uuid.UUID | None = Field(default=None, description="The replace import, if any.")
    reason: str


EVENTS = (ResultsImportedV1, ResultsWithdrawnV1)
