"""Issuing, listing, revoking and checking API keys. Revocation is immediate: every request
looks its key up (a primary-key read), nothing is cached."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Unauthenticated
from bp_common.pagination import Page, cursor_datetime, cursor_uuid, page_of, read_cursor
from bp_common.security import (
    Identity,
    Role,
    api_key_matches,
    generate_api_key,
    hash_api_key,
    parse_key_id,
)
from gateway.keys.models import ApiKey
from gateway.keys.repository import ApiKeyRepository
from gateway.keys.schemas import ApiKeyCreate, ApiKeyOut, ApiKeyUpdate, IssuedApiKey

ADMIN_PRINCIPAL = "admin"
# last_used_at is written at most this often per key, not on every request.
LAST_USED_GRANULARITY = timedelta(minutes=1)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="budapest-process"'}


@dataclass(frozen=True)
class Caller:
    identity: Identity
    # None: the gateway's default.
    rate_limit_per_minute: int | None = None


def _invalid_key() -> Unauthenticated:
    return Unauthenticated("The API key is not valid.", code="invalid_api_key", headers=_CHALLENGE)


class ApiKeyService:
    def __init__(self, session: AsyncSession, pepper: str, admin_key: str | None) -> None:
        self.keys = ApiKeyRepository(session)
        self.session = session
        self.pepper = pepper
        self.admin_key = admin_key

    async def issue(self, data: ApiKeyCreate) -> IssuedApiKey:
        issued = generate_api_key()
        key = ApiKey(
            key_id=issued.key_id,
            key_hash=hash_api_key(issued.secret, self.pepper),
            **data.model_dump(),
        )
        self.keys.add(key)
        await self.session.flush()
        return IssuedApiKey.model_validate(
            ApiKeyOut.model_validate(key).model_dump() | {"key": issued.secret}
        )

    async def list(self, limit: int, cursor: str | None, include_revoked: bool) -> Page[ApiKeyOut]:
        after = read_cursor(cursor, cursor_datetime, cursor_uuid)
        rows = await self.keys.page(limit=limit + 1, after=after, include_revoked=include_revoked)
        return page_of(
            rows, limit, lambda k: (k.created_at.isoformat(), str(k.id)), ApiKeyOut.model_validate
        )

    async def get(self, key_uuid: uuid.UUID) -> ApiKey:
        return await self.keys.get_or_raise(key_uuid)

    async def update(self, key_uuid: uuid.UUID, data: ApiKeyUpdate) -> ApiKey:
        key = await self.get(key_uuid)
        key.rate_limit_per_minute = data.rate_limit_per_minute
        await self.session.flush()
        return key

    async def revoke(self, key_uuid: uuid.UUID) -> None:
        key = await self.get(key_uuid)
        if key.revoked_at is None:
            key.revoked_at = datetime.now(UTC)

    async def authenticate(self, token: str) -> Caller:
        """Who is calling, and at what rate they may (read on every request, so a changed limit
        applies from the next one)."""
        if self.admin_key is not None and hmac.compare_digest(
            token.encode(), self.admin_key.encode()
        ):
            return Caller(Identity(principal=ADMIN_PRINCIPAL, role=Role.SECRETARIAT))
        key_id = parse_key_id(token)
        if key_id is None:
            raise _invalid_key()
        key = await self.keys.by_key_id(key_id)
        if key is None or not api_key_matches(token, key.key_hash, self.pepper):
            raise _invalid_key()
        now = datetime.now(UTC)
        if key.revoked_at is not None:
            raise Unauthenticated(
                "The API key has been revoked.", code="api_key_revoked", headers=_CHALLENGE
            )
        if key.expires_at is not None and key.expires_at <= now:
            raise Unauthenticated(
                "The API key has expired.", code="api_key_expired", headers=_CHALLENGE
            )
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
            await self.keys.touch(key.id, now)
        identity = Identity(
            principal=key.key_id, role=key.role, organisation=key.organisation, country=key.country
        )
        return Caller(identity, key.rate_limit_per_minute)
