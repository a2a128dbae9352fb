"""API key primitives and the signed identity the gateway forwards to the services.

Keys look like ``bp_<key id>_<secret>``: the id finds the row, the whole key is checked against
a keyed hash (HMAC with a server-side pepper), so a stolen table yields no usable key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass
from enum import StrEnum

import orjson

from bp_common.errors import Unauthenticated

KEY_PREFIX = "bp"
IDENTITY_HEADER = "x-bp-identity"
IDENTITY_MAX_AGE_S = 300


class Role(StrEnum):
    SECRETARIAT = "secretariat"
    PARTNER = "partner"
    MEMBER = "member"
    VIEWER = "viewer"


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret: str  # the whole key, shown once

    @property
    def display(self) -> str:
        return f"{KEY_PREFIX}_{self.key_id}_…"


def generate_api_key() -> IssuedKey:
    key_id = secrets.token_hex(6)
    return IssuedKey(key_id=key_id, secret=f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}")


def parse_key_id(api_key: str) -> str | None:
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def hash_api_key(api_key: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def api_key_matches(api_key: str, stored_hash: str, pepper: str) -> bool:
    return hmac.compare_digest(hash_api_key(api_key, pepper), stored_hash)


@dataclass(frozen=True)
class Identity:
    """Who is calling, as established by the gateway."""

    principal: str
    role: Role
    organisation: str | None = None
    country: str | None = None
    request_id: str | None = None
    issued_at: int = 0

    @property
    def can_write(self) -> bool:
        return self.role is not Role.VIEWER


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_identity(identity: Identity, secret: str) -> str:
    body = asdict(identity) | {"issued_at": identity.issued_at or int(time.time())}
    payload = _b64(orjson.dumps(body))
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify_identity(token: str, secret: str, *, max_age_s: int = IDENTITY_MAX_AGE_S) -> Identity:
    try:
        payload, signature = token.split(".", 1)
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            raise Unauthenticated("The identity forwarded by the gateway is not valid.")
        body = orjson.loads(_unb64(payload))
        identity = Identity(
            principal=str(body["principal"]),
            role=Role(body["role"]),
            organisation=body.get("organisation"),
            country=body.get("country"),
            request_id=body.get("request_id"),
            issued_at=int(body["issued_at"]),
        )
    except Unauthenticated:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise Unauthenticated("The identity forwarded by the gateway is not valid.") from exc
    if abs(time.time() - identity.issued_at) > max_age_s:
        raise Unauthenticated("The identity forwarded by the gateway has expired.")
    return identity
