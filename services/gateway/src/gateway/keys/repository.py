from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bp_common.errors import NotFound
from bp_common.pagination import seek
from bp_common.repository import Repository
from gateway.keys.models import ApiKey


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    not_found = ApiKeyNotFound
    noun = "API key"

    async def by_key_id(self, key_id: str) -> ApiKey | None:
        return (await self.session.scalars(select(ApiKey).where(ApiKey.key_id == key_id))).first()

    async def page(
        self, *, limit: int, after: Sequence[Any] | None, include_revoked: bool
    ) -> list[ApiKey]:
        statement = select(ApiKey)
        if not include_revoked:
            statement = statement.where(ApiKey.revoked_at.is_(None))
        statement = seek(statement, [ApiKey.created_at, ApiKey.id], after).limit(limit)
        return list((await self.session.scalars(statement)).all())

    async def touch(self, key_uuid: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_uuid).values(last_used_at=at)
        )
