from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import advisory_lock, dialect_insert
from bp_common.events.envelope import CloudEvent
from bp_common.pagination import seek
from notifications_api.access import PRIVATE_TYPE_PREFIXES, Listener
from notifications_api.event_log.models import LoggedEvent


async def store(session: AsyncSession, event: CloudEvent) -> bool:
    """Append ``event`` to the log; False if it is there already (a replay: not renumbered).
    Appends are serialised until their commit, so positions become visible in order: a stream
    that has read position n never later finds an n - 1 committed behind it."""
    await advisory_lock(session, "notifications.event_log")
    statement = (
        dialect_insert(session, LoggedEvent.__table__)
        .values(
            event_id=event.id,
            type=event.type,
            subject=event.subject,
            actor=event.actor,
            time=event.time,
            envelope=event.to_json(),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def hearable(listener: Listener) -> ColumnElement[bool]:
    """``access.may_hear`` as a condition on the log: domain events, or private events that one
    of the listener's claims names in the event's data."""
    if listener.hears_every_private_event:
        return true()
    private = or_(*(LoggedEvent.type.startswith(p, autoescape=True) for p in PRIVATE_TYPE_PREFIXES))
    data = LoggedEvent.envelope["data"]
    claimed = [data[field].as_string() == value for field, value in listener.claims()]
    return or_(not_(private), or_(*claimed) if claimed else false())


async def history(
    session: AsyncSession,
    listener: Listener,
    subject: str,
    *,
    types: Sequence[str],
    since: datetime | None,
    after_seq: int | None,
    limit: int,
) -> Sequence[LoggedEvent]:
    """A page (``limit + 1`` rows) of what ``listener`` may hear about ``subject``: filtered
    here, before the page is cut, so that a page is short only at the end."""
    statement = select(LoggedEvent).where(LoggedEvent.subject == subject, hearable(listener))
    if types:
        statement = statement.where(LoggedEvent.type.in_(types))
    if since is not None:
        statement = statement.where(LoggedEvent.time >= since)
    statement = seek(statement, [LoggedEvent.seq], None if after_seq is None else [after_seq])
    return (await session.scalars(statement.limit(limit + 1))).all()


async def after(session: AsyncSession, seq: int, limit: int) -> Sequence[LoggedEvent]:
    """The events stored after position ``seq``, in order."""
    statement = (
        select(LoggedEvent).where(LoggedEvent.seq > seq).order_by(LoggedEvent.seq).limit(limit)
    )
    return (await session.scalars(statement)).all()


async def oldest_retained_seq(session: AsyncSession) -> int | None:
    return await session.scalar(select(func.min(LoggedEvent.seq)))


async def last_seq(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(LoggedEvent.seq))) or 0)


async def forget_before(session: AsyncSession, stored_before: datetime) -> int:
    """Drop what the retention no longer keeps; the newest event always stays, so that the
    numbering carries on after it and a resumed stream can tell a gap from an empty log."""
    newest = select(func.max(LoggedEvent.seq)).scalar_subquery()
    result = await session.execute(
        delete(LoggedEvent).where(LoggedEvent.stored_at < stored_before, LoggedEvent.seq < newest)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
