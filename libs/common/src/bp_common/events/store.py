"""The outbox and inbox tables, created in each service's own metadata (and so its migrations)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)

from bp_common.orm import UTCDateTime


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        # Monotonic id: the relay publishes in commit order, which keeps one aggregate's events
        # in order on its partition.
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("event_type", String(200), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False, server_default=func.now()),
        Column("sent_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text, nullable=True),
    )
    Index(
        "ix_outbox_unsent",
        outbox.c.id,
        postgresql_where=outbox.c.sent_at.is_(None),
        sqlite_where=outbox.c.sent_at.is_(None),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer_group", String(200), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False, server_default=func.now()),
    )
    return MessagingTables(outbox=outbox, inbox=inbox)
