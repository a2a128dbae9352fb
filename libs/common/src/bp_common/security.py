"""API key primitives and the signed identity the gateway forwards to the services.

Keys look like ``bp_<key id>_<secret>``: the id finds the row, the whole key is checked against
a keyed hash (HMAC with a server-side pepper), so a stolen table yields no usable key.

The identity is a JWT (RFC 7519) the gateway signs for one service: ``aud`` names that service,
so a token that reached one service is refused by the others. HS256 with a shared secret by
default; EdDSA or RS256 let the services hold a public key only."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from bp_common.errors import Unauthenticated

KEY_PREFIX = "bp"
IDENTITY_HEADER = "x-bp-identity"
# Lifetime of a signed identity (exp - iat): it is signed for each forwarded request.
IDENTITY_MAX_AGE_S = 300
# Tolerated clock difference between the gateway's host and a service's.
IDENTITY_LEEWAY_S = 30
IDENTITY_ISSUER = "gateway"
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "role", "iat", "exp", "jti"]


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


class IdentityAlgorithm(StrEnum):
    HS256 = "HS256"
    EDDSA = "EdDSA"
    RS256 = "RS256"

    @property
    def is_asymmetric(self) -> bool:
        return self is not IdentityAlgorithm.HS256


SigningKey = str | Ed25519PrivateKey | RSAPrivateKey
VerificationKey = str | Ed25519PublicKey | RSAPublicKey
_KEY_TYPES: dict[IdentityAlgorithm, tuple[type, type]] = {
    IdentityAlgorithm.EDDSA: (Ed25519PrivateKey, Ed25519PublicKey),
    IdentityAlgorithm.RS256: (RSAPrivateKey, RSAPublicKey),
}


def load_signing_key(algorithm: IdentityAlgorithm, pem: str) -> SigningKey:
    """An asymmetric algorithm's private key, parsed once (PyJWT would parse a PEM per token)."""
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, _KEY_TYPES[algorithm][0]):
        raise ValueError(f"the identity private key is not a key for {algorithm.value}")
    return key  # type: ignore[return-value]


def load_verification_key(algorithm: IdentityAlgorithm, pem: str) -> VerificationKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, _KEY_TYPES[algorithm][1]):
        raise ValueError(f"the identity public key is not a key for {algorithm.value}")
    return key  # type: ignore[return-value]


def sign_identity(
    identity: Identity,
    key: SigningKey,
    *,
    audience: str | Sequence[str],
    algorithm: IdentityAlgorithm = IdentityAlgorithm.HS256,
) -> str:
    """A token for ``audience``, the name of the service it is sent to (the gateway names one;
    test helpers may name several). ``jti`` is the request id: it ties the token to the logs and
    is no nonce, the gateway may send one token on several calls of a request."""
    now = int(time.time())
    claims = {
        "iss": IDENTITY_ISSUER,
        "aud": audience if isinstance(audience, str) else list(audience),
        "sub": identity.principal,
        "role": identity.role.value,
        "org": identity.organisation,
        "country": identity.country,
        "iat": now,
        "exp": now + IDENTITY_MAX_AGE_S,
        "jti": identity.request_id or uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=algorithm.value)


def verify_identity(
    token: str,
    key: VerificationKey,
    *,
    audience: str,
    algorithm: IdentityAlgorithm = IdentityAlgorithm.HS256,
) -> Identity:
    """The identity in ``token`` if it is signed with ``key`` by ``algorithm`` (the only one
    accepted: no ``none``, no HS256 keyed with a public key), issued by the gateway for
    ``audience``, and within its lifetime."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm.value],
            audience=audience,
            issuer=IDENTITY_ISSUER,
            leeway=IDENTITY_LEEWAY_S,
            options={"require": _REQUIRED_CLAIMS},
        )
        organisation, country = claims.get("org"), claims.get("country")
        if not all(value is None or isinstance(value, str) for value in (organisation, country)):
            raise ValueError("org and country are strings or null")
        return Identity(
            principal=claims["sub"],
            role=Role(claims["role"]),
            organisation=organisation,
            country=country,
            request_id=claims["jti"],
            issued_at=claims["iat"],
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated(
            "The identity forwarded by the gateway has expired.", code="identity_expired"
        ) from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated(
            f"The identity forwarded by the gateway is not meant for {audience}.",
            code="identity_for_another_service",
        ) from exc
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise Unauthenticated(
            "The identity forwarded by the gateway is not valid.", code="identity_invalid"
        ) from exc
