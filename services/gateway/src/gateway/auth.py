"""Authentication at the edge: the bearer key becomes an :class:`Identity` that the gateway
signs and forwards, so the services never see keys."""

from __future__ import annotations

import hmac

from fastapi import Request

from bp_common.errors import Unauthenticated
from bp_common.security import Identity, Role
from gateway.settings import GatewaySettings

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="budapest-process"'}


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "Send an API key as 'Authorization: Bearer <key>'.",
            code="missing_api_key",
            headers=_CHALLENGE,
        )
    return token.strip()


def authenticate(request: Request, settings: GatewaySettings) -> Identity:
    token = bearer_token(request)
    admin = settings.admin_api_key
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return Identity(principal="admin", role=Role.SECRETARIAT)
    raise Unauthenticated("The API key is not valid.", code="invalid_api_key", headers=_CHALLENGE)
