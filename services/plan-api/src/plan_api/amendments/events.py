"""Amendment events on ``plan.events``."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from bp_common.withdrawals import withdrawal_of
from plan_api.amendments.models import Amendment, AmendmentAction, AmendmentStatus, TargetType


class AmendmentTargetV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: TargetType
    ref: int | str | None = Field(
        description="The goal number for a goal, the item's id for an action point or an "
        "activity; null for the plan as a whole."
    )


class ChangelogEntryV1(BaseModel):
    """An accepted amendment as a version's changelog lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amendment_id: uuid.UUID
    proposer: str = Field(description="The proposing delegation (country or organisation).")
    target: AmendmentTargetV1
    action: AmendmentAction
    text: str


CHANGELOG_EXAMPLE: dict[str, Any] = {
    "amendment_id": "3f2e1d0c-b9a8-4765-8432-10fedcba9876",
    "proposer": "TR",
    "target": {"type": "goal", "ref": 2},
    "action": "modify",
    "text": "Strengthen cooperation on the prevention of irregular migration.",
}


class AmendmentDecidedV1(ChangelogEntryV1, Event):
    """The Secretariat accepted or rejected a proposed amendment; an accepted one is applied to
    the plan's working content and listed in the next circulated version."""

    type: ClassVar[str] = "plan.amendment.decided.v1"
    subject_field: ClassVar[str] = "amendment_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            **CHANGELOG_EXAMPLE,
            "plan_id": "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20",
            "version": 1,
            "status": "accepted",
        },
    )

    plan_id: uuid.UUID
    version: int = Field(description="The circulated version the amendment was proposed against.")
    status: AmendmentStatus


AMENDMENT_ID = "3f2e1d0c-b9a8-4765-8432-10fedcba9876"
PLAN_ID = "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20"
INTERVENTION_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def _amendment_fields(amendment: Amendment) -> dict[str, Any]:
    """What every event about one amendment (revised, withdrawn) says of it."""
    return {
        "amendment_id": amendment.id,
        "plan_id": amendment.plan_id,
        "number": amendment.number,
        "version": amendment.version,
        "proposer": amendment.proposer,
        "intervention_id": amendment.intervention_id,
        "revision": amendment.revision,
    }


class AmendmentRevisedV1(Event):
    """A pending amendment was revised because the meeting's ``amendment_request`` that made it
    was corrected: it carries the amendment as it now stands. A decided amendment is never
    revised."""

    type: ClassVar[str] = "plan.amendment.revised.v1"
    subject_field: ClassVar[str] = "amendment_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "amendment_id": AMENDMENT_ID,
            "plan_id": PLAN_ID,
            "number": 3,
            "version": 1,
            "proposer": "TR",
            "target": {"type": "goal", "ref": 2},
            "action": "modify",
            "text": "Strengthen cooperation on the prevention of irregular migration.",
            "rationale": None,
            "intervention_id": INTERVENTION_ID,
            "revision": 2,
            "changed": ["text"],
        },
    )

    amendment_id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    version: int = Field(description="The circulated version it is proposed against.")
    proposer: str
    target: AmendmentTargetV1
    action: AmendmentAction
    text: str
    rationale: str | None
    intervention_id: uuid.UUID | None = None
    revision: int
    changed: list[str] = Field(description="The fields that changed, sorted.")

    @classmethod
    def of(cls, amendment: Amendment, changed: list[str]) -> Self:
        return cls(
            **_amendment_fields(amendment),
            target=AmendmentTargetV1.model_validate(amendment.target),
            action=amendment.action,
            text=amendment.text,
            rationale=amendment.rationale,
            changed=changed,
        )


class AmendmentWithdrawnV1(Event):
    """A pending amendment was withdrawn (by its proposer or the Secretariat, or because the
    meeting's request that made it was withdrawn or corrected away): it stays as a tombstone and
    is never decided. A decided amendment is never withdrawn."""

    type: ClassVar[str] = "plan.amendment.withdrawn.v1"
    subject_field: ClassVar[str] = "amendment_id"
    key_field: ClassVar[str] = "plan_id"
    examples: ClassVar[Examples] = (
        {
            "amendment_id": AMENDMENT_ID,
            "plan_id": PLAN_ID,
            "number": 3,
            "version": 1,
            "proposer": "TR",
            "reason": "Türkiye withdrew its request.",
            "withdrawn_by": "member:TR",
            "intervention_id": None,
            "revision": 2,
        },
    )

    amendment_id: uuid.UUID
    plan_id: uuid.UUID
    number: int
    version: int
    proposer: str
    reason: str
    withdrawn_by: str
    intervention_id: uuid.UUID | None = None
    revision: int

    @classmethod
    def of(cls, amendment: Amendment) -> Self:
        return cls(**_amendment_fields(amendment), **withdrawal_of(amendment, cls))


EVENTS = (AmendmentDecidedV1, AmendmentRevisedV1, AmendmentWithdrawnV1)
