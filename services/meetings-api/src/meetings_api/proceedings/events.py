"""Events of a meeting's record on ``meetings.events``: each names its own record (the
intervention, the decision) as subject and is keyed by the meeting, so a meeting's events stay
in order."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from bp_common.events.contract import Event, Examples
from bp_common.types import CountryCode
from bp_common.withdrawals import withdrawal_of
from meetings_api.meetings.models import ParticipantType
from meetings_api.proceedings.models import Decision, DecisionKind, Intervention, InterventionKind
from meetings_api.proceedings.schemas import AmendmentAction, AmendmentTargetType

MEETING_ID = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098"
PLAN_ID = "0c9f4e0a-58f4-4b7f-a7a1-5c0f6b7e3d20"
INTERVENTION_EXAMPLE: dict[str, Any] = {
    "intervention_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "meeting_id": MEETING_ID,
    "delegation": "TR",
    "delegation_type": "state",
    "kind": "statement",
    "text": "Türkiye welcomes the draft Implementation Plan.",
    "agenda_item_id": None,
    "plan_id": None,
    "plan_version": None,
    "activity_id": None,
    "year": None,
    "amendment": None,
}


class RequestedAmendmentTargetV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: AmendmentTargetType
    ref: str | None = Field(
        default=None, description="The goal number or the item's id; none for the whole plan."
    )


class RequestedAmendmentV1(BaseModel):
    """The amendment an ``amendment_request`` asks for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: RequestedAmendmentTargetV1
    action: AmendmentAction
    text: str
    rationale: str | None = None


INTERVENTION_EXAMPLES: tuple[dict[str, Any], ...] = (
    INTERVENTION_EXAMPLE,
    {
        **INTERVENTION_EXAMPLE,
        "delegation": "BG",
        "kind": "offer_to_host",
        "text": "Bulgaria offers to host the training in Sofia.",
        "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
        "year": 2020,
    },
    {
        **INTERVENTION_EXAMPLE,
        "delegation": "IOM",
        "delegation_type": "organisation",
        "kind": "amendment_request",
        "text": "IOM proposes to widen goal 2.",
        "agenda_item_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
        "plan_id": PLAN_ID,
        "plan_version": 1,
        "amendment": {
            "target": {"type": "goal", "ref": "2"},
            "action": "modify",
            "text": "Strengthen cooperation on the prevention of irregular migration.",
            "rationale": "As discussed in the working group.",
        },
    },
)


def _intervention_fields(intervention: Intervention) -> dict[str, Any]:
    """What every event about one intervention (recorded, corrected, withdrawn) says of it."""
    return {
        "intervention_id": intervention.id,
        "meeting_id": intervention.meeting_id,
        "delegation": intervention.delegation,
        "kind": intervention.kind,
        "plan_id": intervention.plan_id,
        "plan_version": intervention.plan_version,
        "activity_id": intervention.activity_id,
        "year": intervention.year,
    }


class InterventionV1(Event):
    """An intervention as its events carry it."""

    subject_field: ClassVar[str] = "intervention_id"
    key_field: ClassVar[str] = "meeting_id"

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    delegation: str = Field(description="Country code or organisation acronym.")
    delegation_type: ParticipantType
    kind: InterventionKind
    text: str
    agenda_item_id: uuid.UUID | None
    plan_id: uuid.UUID | None
    plan_version: int | None = Field(ge=1)
    activity_id: uuid.UUID | None
    year: int | None
    amendment: RequestedAmendmentV1 | None = Field(description="Only for an amendment_request.")

    @classmethod
    def of(cls, intervention: Intervention, **extra: Any) -> Self:
        return cls(
            **_intervention_fields(intervention),
            delegation_type=intervention.delegation_type,
            text=intervention.text,
            agenda_item_id=intervention.agenda_item_id,
            amendment=(
                None
                if intervention.amendment is None
                else RequestedAmendmentV1.model_validate(intervention.amendment)
            ),
            **extra,
        )


class InterventionRecordedV1(InterventionV1):
    """A delegation's intervention at a meeting was recorded. plan-api turns an
    ``offer_to_host`` naming an activity into a hosting offer, and an ``amendment_request`` on a
    plan into a proposed amendment."""

    type: ClassVar[str] = "meetings.intervention.recorded.v1"
    examples: ClassVar[Examples] = INTERVENTION_EXAMPLES


class InterventionCorrectedV1(InterventionV1):
    """A recorded intervention was corrected; it carries the intervention as it now stands.
    plan-api revises the pending amendment of a corrected ``amendment_request``. (meetings-api
    refuses to correct an ``offer_to_host`` whose offer was accepted.)"""

    type: ClassVar[str] = "meetings.intervention.corrected.v1"
    examples: ClassVar[Examples] = (
        {**INTERVENTION_EXAMPLES[0], "delegation": "TM", "revision": 2, "changed": ["delegation"]},
        {
            **INTERVENTION_EXAMPLES[2],
            "text": "IOM proposes to widen goal 2 and goal 3.",
            "revision": 3,
            "changed": ["amendment", "text"],
        },
    )

    revision: int = Field(
        ge=1, description="Grows with every change: a consumer ignores older news."
    )
    changed: list[str] = Field(description="The fields changed, sorted.")

    @classmethod
    def of(cls, intervention: Intervention, **extra: Any) -> Self:
        return super().of(intervention, revision=intervention.revision, **extra)


class InterventionWithdrawnV1(Event):
    """A recorded intervention was withdrawn (kept as a tombstone). plan-api withdraws the
    hosting offer of a withdrawn ``offer_to_host`` (unless accepted meanwhile) and the pending
    amendment of a withdrawn ``amendment_request``."""

    type: ClassVar[str] = "meetings.intervention.withdrawn.v1"
    subject_field: ClassVar[str] = "intervention_id"
    key_field: ClassVar[str] = "meeting_id"
    examples: ClassVar[Examples] = (
        {
            "intervention_id": INTERVENTION_EXAMPLE["intervention_id"],
            "meeting_id": MEETING_ID,
            "delegation": "BG",
            "kind": "offer_to_host",
            "plan_id": None,
            "plan_version": None,
            "activity_id": "5b0d7a4e-1f43-4c1e-9a57-0f7e2f0c8a11",
            "year": 2020,
            "reason": "Recorded under the wrong delegation.",
            "revision": 2,
        },
    )

    intervention_id: uuid.UUID
    meeting_id: uuid.UUID
    delegation: str
    kind: InterventionKind
    plan_id: uuid.UUID | None
    plan_version: int | None = Field(ge=1)
    activity_id: uuid.UUID | None
    year: int | None
    reason: str
    revision: int = Field(ge=1)

    @classmethod
    def of(cls, intervention: Intervention) -> Self:
        return cls(
            **_intervention_fields(intervention),
            revision=intervention.revision,
            **withdrawal_of(intervention, cls),
        )


DECISION_EXAMPLES: tuple[dict[str, Any], ...] = (
    {
        "decision_id": "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f70",
        "meeting_id": MEETING_ID,
        "kind": "endorsement",
        "text": "The meeting endorses the Implementation Plan 2020-2024.",
        "plan_id": PLAN_ID,
        "plan_version": 2,
        "reservations": ["AZ"],
    },
    {
        "decision_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a81",
        "meeting_id": MEETING_ID,
        "kind": "take_note",
        "text": "The meeting takes note of the report.",
        "plan_id": None,
        "plan_version": None,
        "reservations": [],
    },
)


def _decision_fields(decision: Decision) -> dict[str, Any]:
    """What every event about one decision (recorded, corrected, withdrawn) says of it."""
    return {
        "decision_id": decision.id,
        "meeting_id": decision.meeting_id,
        "kind": decision.kind,
        "plan_id": decision.plan_id,
        "plan_version": decision.plan_version,
    }


class DecisionV1(Event):
    """A decision as its events carry it."""

    subject_field: ClassVar[str] = "decision_id"
    key_field: ClassVar[str] = "meeting_id"

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    kind: DecisionKind
    text: str
    plan_id: uuid.UUID | None
    plan_version: int | None = Field(ge=1)
    reservations: list[CountryCode] = Field(description="States that did not join it.")

    @classmethod
    def of(cls, decision: Decision, **extra: Any) -> Self:
        return cls(
            **_decision_fields(decision),
            text=decision.text,
            reservations=decision.reservations,
            **extra,
        )


class DecisionRecordedV1(DecisionV1):
    """A decision of a meeting was recorded. plan-api endorses ``plan_version`` of ``plan_id``
    on an ``endorsement``."""

    type: ClassVar[str] = "meetings.decision.recorded.v1"
    examples: ClassVar[Examples] = DECISION_EXAMPLES


class DecisionCorrectedV1(DecisionV1):
    """A recorded decision was corrected (its text, its reservations); it carries the decision
    as it now stands. (meetings-api refuses to correct an endorsement whose version plan-api
    has endorsed.)"""

    type: ClassVar[str] = "meetings.decision.corrected.v1"
    examples: ClassVar[Examples] = (
        {
            **DECISION_EXAMPLES[0],
            "reservations": ["AZ", "TM"],
            "revision": 2,
            "changed": ["reservations"],
        },
    )

    revision: int = Field(
        ge=1, description="Grows with every change: a consumer ignores older news."
    )
    changed: list[str] = Field(description="The fields changed, sorted.")

    @classmethod
    def of(cls, decision: Decision, **extra: Any) -> Self:
        return super().of(decision, revision=decision.revision, **extra)


class DecisionWithdrawnV1(Event):
    """A recorded decision was withdrawn (kept as a tombstone). plan-api leaves a version not
    yet endorsed unendorsed; an endorsed version never changes (meetings-api refuses that
    withdrawal once it knows)."""

    type: ClassVar[str] = "meetings.decision.withdrawn.v1"
    subject_field: ClassVar[str] = "decision_id"
    key_field: ClassVar[str] = "meeting_id"
    examples: ClassVar[Examples] = (
        {
            "decision_id": DECISION_EXAMPLES[0]["decision_id"],
            "meeting_id": MEETING_ID,
            "kind": "endorsement",
            "plan_id": PLAN_ID,
            "plan_version": 2,
            "reason": "Recorded at the wrong meeting.",
            "revision": 2,
        },
    )

    decision_id: uuid.UUID
    meeting_id: uuid.UUID
    kind: DecisionKind
    plan_id: uuid.UUID | None
    plan_version: int | None = Field(ge=1)
    reason: str
    revision: int = Field(ge=1)

    @classmethod
    def of(cls, decision: Decision) -> Self:
        return cls(
            **_decision_fields(decision), revision=decision.revision, **withdrawal_of(decision, cls)
        )


EVENTS = (
    InterventionRecordedV1,
    InterventionCorrectedV1,
    InterventionWithdrawnV1,
    DecisionRecordedV1,
    DecisionCorrectedV1,
    DecisionWithdrawnV1,
)
