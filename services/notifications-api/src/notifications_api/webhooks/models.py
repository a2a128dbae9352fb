from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import JSONType, Timestamps, UUIDPrimaryKey, enum_type, utcnow
from bp_common.security import Role
from notifications_api.base import Base


class DisabledReason(StrEnum):
    BY_OWNER = "by_owner"
    GONE = "gone"  # the receiver answered 410
    FAILING = "failing"  # no success for the configured period


class Endpoint(UUIDPrimaryKey, Timestamps, Base):
    """A partner's receiver of signed webhooks, and whose it is (who manages it, what it hears)."""

    __tablename__ = "webhook_endpoint"

    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(200))
    owner_role: Mapped[Role] = mapped_column(enum_type(Role))
    organisation: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the previous secret signs beside the new one until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[DisabledReason | None] = mapped_column(enum_type(DisabledReason))
    # Since when every attempt has failed (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Delivery(UUIDPrimaryKey, Base):
    """One event for one endpoint: unique per pair, so a replayed event is never sent again.
    Its id is the ``webhook-id`` of every attempt, on which receivers dedupe."""

    __tablename__ = "webhook_delivery"

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(200))
    # The CloudEvent sent (structured JSON mode).
    payload: Mapped[dict[str, object]] = mapped_column(JSONType)
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "created_at"),
    )


class Attempt(UUIDPrimaryKey, Base):
    """One HTTP call of a delivery, as the receiver answered it."""

    __tablename__ = "webhook_attempt"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    duration_ms: Mapped[float]
    # The first KiB of the answer, or why there was none (refused address, timeout).
    response: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
