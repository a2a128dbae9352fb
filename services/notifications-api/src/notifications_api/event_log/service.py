from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.pagination import Page, cursor_int, page_of, read_cursor
from notifications_api.access import Listener
from notifications_api.event_log import repository
from notifications_api.event_log.models import LoggedEvent
from notifications_api.event_log.schemas import HistoryEntry


def summary(event_type: str) -> str:
    """``plan.activity.hosted.v1`` -> "Activity hosted"."""
    words = event_type.split(".")[1:-1]
    text = " ".join(word.replace("_", " ") for word in words) or event_type
    return text[0].upper() + text[1:]


def entry(row: LoggedEvent) -> HistoryEntry:
    return HistoryEntry(
        seq=row.seq,
        event_id=row.event_id,
        time=row.time,
        type=row.type,
        summary=summary(row.type),
        actor=row.actor,
        request_id=row.envelope.get("requestid"),
        data=row.envelope.get("data") or {},
    )


async def history(
    session: AsyncSession,
    listener: Listener,
    subject: str,
    types: list[str],
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> Page[HistoryEntry]:
    after = read_cursor(cursor, cursor_int)
    rows = await repository.history(
        session,
        listener,
        subject,
        types=types,
        since=since,
        after_seq=after[0] if after else None,
        limit=limit,
    )
    return page_of(rows, limit, lambda row: [row.seq], entry)
