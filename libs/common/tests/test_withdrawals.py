"""What a withdrawal event tells of the withdrawal, read from the tombstone."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import BaseModel

from bp_common.withdrawals import Withdrawable, withdrawal_of


class _Record(Withdrawable):
    """The mixin's attributes, without a table."""

    def __init__(self) -> None:
        self.withdrawn_at = None
        self.withdrawn_by = None
        self.withdrawal_reason = None


class _ReasonOnly(BaseModel):
    reason: str


class _ReasonAndWho(BaseModel):
    reason: str
    withdrawn_by: str


class _Everything(BaseModel):
    reason: str
    withdrawn_by: str
    withdrawn_at: datetime


def _withdrawn() -> _Record:
    record = _Record()
    record.withdraw(by="secretariat", reason="Entered twice.")
    return record


def test_an_event_gets_the_withdrawal_fields_it_has() -> None:
    record = _withdrawn()
    assert withdrawal_of(record, _ReasonOnly) == {"reason": "Entered twice."}
    assert withdrawal_of(record, _ReasonAndWho) == {
        "reason": "Entered twice.",
        "withdrawn_by": "secretariat",
    }
    assert withdrawal_of(record, _Everything)["withdrawn_at"] == record.withdrawn_at


def test_a_standing_record_has_no_withdrawal_to_tell() -> None:
    with pytest.raises(ValueError):
        withdrawal_of(_Record(), _ReasonOnly)
