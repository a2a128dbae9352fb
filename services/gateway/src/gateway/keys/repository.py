from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.keys.models import ApiKey


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, key: ApiKey) -> None:
        self.session.add(key)

    async def get(self, key_uuid: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, key_uuid)

    async def by_key_id(self, key_id: str) -> ApiKey | None:
        return (await self.session.scalars(select(ApiKey).where(ApiKey.key_id == key_id))).first()

    async def page(
        self, *, limit: int, after: tuple[datetime, uuid.UUID] | None, include_revoked: bool
    ) -> list[ApiKey]:
        statement = select(ApiKey)
        if not include_revoked:
            statement = statement.where(ApiKey.revoked_at.is_(None))
        if after is not None:
            statement = statement.where(tuple_(ApiKey.created_at, ApiKey.id) > after)
        statement = statement.order_by(ApiKey.created_at, ApiKey.id).limit(limit)
        return list((await self.session.scalars(statement)).all())

    async def touch(self, key_uuid: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_uuid).values(last_used_at=at)
        )
