from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.db import dialect_insert
from bp_common.pagination import seek
from bp_common.security import Identity, Role
from notifications_api.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint


def managed_by(identity: Identity) -> ColumnElement[bool]:
    """The endpoints ``identity`` may manage (the viewer's role never reaches here)."""
    if identity.role is Role.SECRETARIAT:
        return Endpoint.id.is_not(None)
    if identity.role is Role.PARTNER:
        return Endpoint.organisation == identity.organisation
    return Endpoint.country == identity.country


async def endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> Endpoint | None:
    return await session.get(Endpoint, endpoint_id)


async def endpoints(
    session: AsyncSession, identity: Identity, after: uuid.UUID | None, limit: int
) -> Sequence[Endpoint]:
    statement = seek(
        select(Endpoint).where(managed_by(identity)),
        [Endpoint.id],
        None if after is None else [after],
    )
    return (await session.scalars(statement.limit(limit + 1))).all()


async def active_endpoints(session: AsyncSession) -> Sequence[Endpoint]:
    return (await session.scalars(select(Endpoint).where(Endpoint.disabled_at.is_(None)))).all()


async def add_delivery(session: AsyncSession, values: dict[str, Any]) -> None:
    """A delivery, unless that endpoint already has one for that event."""
    await session.execute(
        dialect_insert(session, Delivery.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
    )


async def delivery(session: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    return await session.get(Delivery, delivery_id)


async def deliveries(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    status: DeliveryStatus | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Delivery]:
    statement = select(Delivery).where(Delivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    statement = seek(statement, [Delivery.created_at, Delivery.id], after)
    return (await session.scalars(statement.limit(limit + 1))).all()


async def attempts_of(session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[Attempt]:
    statement = select(Attempt).where(Attempt.delivery_id.in_(ids)).order_by(Attempt.at)
    return (await session.scalars(statement)).all()


async def lease_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> Sequence[tuple[Delivery, Endpoint]]:
    """Due deliveries of enabled endpoints, leased until ``lease_until``: another dispatcher
    (a replica) skips them meanwhile, and a dispatcher that dies mid-call leaves them to be
    retried when the lease ends."""
    statement = (
        select(Delivery, Endpoint)
        .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
        .where(
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.next_attempt_at <= now,
            Endpoint.disabled_at.is_(None),
        )
        .order_by(Delivery.next_attempt_at, Delivery.created_at)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    rows = [(row[0], row[1]) for row in (await session.execute(statement)).all()]
    if rows:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([d.id for d, _ in rows]))
            .values(next_attempt_at=lease_until)
        )
    return rows


async def pending_count(session: AsyncSession) -> int:
    statement = select(func.count()).where(Delivery.status == DeliveryStatus.PENDING)
    return int(await session.scalar(statement) or 0)
