"""Events of the results import on ``indicators.events``."""

from __future__ import annotations

import uuid
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


EVENTS = (ResultsImportedV1,)
