from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import JSONType, utcnow
from notifications_api.base import Base


class LoggedEvent(Base):
    """One event as this service stored it. ``seq`` is its position in the stream, assigned
    here: a replay of the topics finds the event by its id and never renumbers it."""

    __tablename__ = "event_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(200))
    time: Mapped[datetime]
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The CloudEvent in structured JSON form: what the stream and the webhooks send.
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_event_log_subject_seq", "subject", "seq"),
        Index("ix_event_log_stored_at", "stored_at"),
    )


def structured(envelope: dict[str, Any]) -> dict[str, Any]:
    """A stored envelope as a CloudEvent in structured JSON mode: without the optional
    attributes it does not have."""
    return {name: value for name, value in envelope.items() if value is not None}
