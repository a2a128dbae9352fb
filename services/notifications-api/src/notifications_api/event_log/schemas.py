from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class HistoryEntry(BaseModel):
    seq: int = Field(description="The event's position in the stream.")
    event_id: str
    time: datetime
    type: str
    summary: str = Field(description="What happened, in words.")
    actor: str | None = Field(
        description="The principal whose request caused it; null when another event did."
    )
    request_id: str | None
    data: dict[str, Any]
