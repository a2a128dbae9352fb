from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bp_common.orm import Timestamps, UUIDPrimaryKey, enum_type
from bp_common.security import Role
from gateway.base import Base


class ApiKey(UUIDPrimaryKey, Timestamps, Base):
    """An issued key. Only its keyed hash is stored; ``key_id`` (the public part of the key)
    finds the row."""

    __tablename__ = "api_key"

    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, 20))
    organisation: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(2))
    # Requests per minute; None: the gateway's default (GATEWAY_RATE_LIMIT_PER_MINUTE).
    rate_limit_per_minute: Mapped[int | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
