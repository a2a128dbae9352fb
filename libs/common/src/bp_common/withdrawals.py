"""Withdrawal keeps a tombstone, never removes a row: a withdrawn record stays readable by id
(who withdrew it, when and why), lists leave it out unless asked, and its history stays whole."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.errors import Conflict
from bp_common.orm import utcnow
from bp_common.types import bounded_text

WithdrawalReason = Annotated[str, bounded_text(2_000)]

# ``?include_withdrawn=true`` on a list: the tombstones too.
IncludeWithdrawn = Annotated[
    bool, Query(description="Also list withdrawn records (their tombstones).")
]


class AlreadyWithdrawn(Conflict):
    code = "already_withdrawn"


class Withdrawable:
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200), default=None)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, default=None)

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    def withdraw(self, *, by: str, reason: str, what: str = "record") -> None:
        if self.withdrawn_at is not None:
            raise AlreadyWithdrawn(
                f"This {what} was withdrawn already on {self.withdrawn_at:%Y-%m-%d} by "
                f"{self.withdrawn_by}; nothing was changed."
            )
        self.withdrawn_at = utcnow()
        self.withdrawn_by = by
        self.withdrawal_reason = reason

    def refuse_if_withdrawn(self, what: str = "record") -> None:
        """A withdrawn record is history: it is read, never corrected."""
        if self.withdrawn_at is not None:
            raise AlreadyWithdrawn(
                f"This {what} is withdrawn; a withdrawn record is not corrected. "
                "Nothing was changed."
            )


class WithdrawalRequest(BaseModel):
    """The body of a withdrawal: why, kept with the tombstone and in the event."""

    model_config = ConfigDict(extra="forbid")

    reason: WithdrawalReason = Field(examples=["Recorded under the wrong delegation."])


class WithdrawnFields(BaseModel):
    """Added to the answer of every withdrawable record: empty while it stands."""

    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = None
    withdrawal_reason: str | None = None


def withdrawal_of(record: Withdrawable, event: type[BaseModel]) -> dict[str, Any]:
    """The withdrawal as ``event`` tells it, from the tombstone: the reason, who withdrew the
    record and when, each where the event has a field for it."""
    if record.withdrawn_at is None:
        raise ValueError("the record is not withdrawn")
    told = {
        "reason": record.withdrawal_reason,
        "withdrawn_by": record.withdrawn_by,
        "withdrawn_at": record.withdrawn_at,
    }
    return {name: value for name, value in told.items() if name in event.model_fields}
