from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from bp_common.revisions import Revisioned
from bp_common.withdrawals import Withdrawable
from meetings_api.base import Base
from meetings_api.meetings.models import ParticipantType, unique_while_standing


class InterventionKind(StrEnum):
    SUPPORT = "support"
    COMMITMENT = "commitment"
    RESERVATION = "reservation"
    AMENDMENT_REQUEST = "amendment_request"
    OFFER_TO_HOST = "offer_to_host"
    PRESENTATION = "presentation"
    STATEMENT = "statement"


class DecisionKind(StrEnum):
    ENDORSEMENT = "endorsement"
    ADOPTION = "adoption"
    TAKE_NOTE = "take_note"
    OTHER = "other"


class Intervention(UUIDPrimaryKey, Timestamps, Withdrawable, Revisioned, Base):
    """What a delegation said at a meeting, with the plan item it is about."""

    __tablename__ = "intervention"
    # The same words by the same delegation twice are a repeated request, not a new intervention;
    # a withdrawn one does not count, so the right one can be recorded after it.
    __table_args__ = (
        unique_while_standing(
            "uq_intervention_meeting_id_fingerprint", "meeting_id", "fingerprint"
        ),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    # As recorded: it keeps its meaning if the delegation list is corrected later.
    delegation: Mapped[str] = mapped_column(String(20))
    delegation_type: Mapped[ParticipantType] = mapped_column(enum_type(ParticipantType, 20))
    kind: Mapped[InterventionKind] = mapped_column(enum_type(InterventionKind, 30))
    text: Mapped[str] = mapped_column(Text)
    agenda_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="SET NULL")
    )
    plan_id: Mapped[uuid.UUID | None]
    plan_version: Mapped[int | None]
    activity_id: Mapped[uuid.UUID | None]
    year: Mapped[int | None]
    # {target: {type, ref}, action, text, rationale} for an amendment request.
    amendment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Of the content as it now stands: a correction recomputes it.
    fingerprint: Mapped[str] = mapped_column(String(64))


class Decision(UUIDPrimaryKey, Timestamps, Withdrawable, Revisioned, Base):
    __tablename__ = "decision"
    __table_args__ = (
        unique_while_standing("uq_decision_meeting_id_fingerprint", "meeting_id", "fingerprint"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    kind: Mapped[DecisionKind] = mapped_column(enum_type(DecisionKind, 30))
    text: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[uuid.UUID | None]
    plan_version: Mapped[int | None]
    # Country codes of the states that did not join the decision.
    reservations: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Of the content as it now stands: a correction recomputes it.
    fingerprint: Mapped[str] = mapped_column(String(64))
