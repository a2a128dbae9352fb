"""Authentication at the edge: the bearer key becomes an :class:`Identity` that the gateway
signs and forwards, so the services never see keys."""

from __future__ import annotations

from fastapi import Request

from bp_common.db import Database
from bp_common.errors import Unauthenticated
from bp_common.security import Identity
from gateway.keys.service import ApiKeyService, Caller
from gateway.oidc import AccessTokens
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="budapest-process"'}


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Send an API key or an access token as 'Authorization: Bearer <credential>'.",
            code="missing_api_key",
            headers=_CHALLENGE,
        )
    return token.strip()


async def authenticated(request: Request) -> Identity:
    """Dependency of every ``/v1`` route: who is calling, within their rate limit."""
    settings: GatewaySettings = request.app.state.settings
    database: Database = request.app.state.database
    limiter: RateLimiter = request.app.state.rate_limiter
    access_tokens: AccessTokens = request.app.state.access_tokens
    token = bearer_token(request)
    if access_tokens.accepts(token):
        # A person: the default rate, per subject.
        caller = Caller(await access_tokens.authenticate(token))
    else:
        admin = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        # Its own short transaction: the key lookup must not hold a connection while proxying.
        async with database.transaction() as session:
            service = ApiKeyService(session, settings.api_key_pepper.get_secret_value(), admin)
            caller = await service.authenticate(token)
    limiter.check(caller.identity.principal, per_minute=caller.rate_limit_per_minute)
    request.state.identity = caller.identity
    return caller.identity
