"""A fake OpenID Connect provider for the gateway's unit tests: keys generated here, the discovery
document and the JWKS served through an httpx MockTransport, which can be taken down."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ISSUER = "https://sso.example/realms/budapest"
AUDIENCE = "budapest-platform"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey
_ALGORITHM_CLASSES = {
    "RS256": jwt.algorithms.RSAAlgorithm,
    "ES256": jwt.algorithms.ECAlgorithm,
    "EdDSA": jwt.algorithms.OKPAlgorithm,
}


def private_key(algorithm: str) -> PrivateKey:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return Ed25519PrivateKey.generate()


@dataclass
class SigningKey:
    algorithm: str
    key: PrivateKey = field(init=False)
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def __post_init__(self) -> None:
        self.key = private_key(self.algorithm)

    def jwk(self) -> dict[str, Any]:
        public = _ALGORITHM_CLASSES[self.algorithm].to_jwk(self.key.public_key(), as_dict=True)
        return public | {"kid": self.kid, "alg": self.algorithm, "use": "sig"}


class FakeIdentityProvider:
    def __init__(self, issuer: str = ISSUER, algorithm: str = "RS256") -> None:
        self.issuer = issuer
        self.keys = [SigningKey(algorithm)]
        self.down = False
        self.hanging = False
        self.requests: list[str] = []
        self.discovery_issuer = issuer

    @property
    def jwks_requests(self) -> int:
        return sum(1 for path in self.requests if path.endswith("/certs"))

    def rotate(self, algorithm: str = "RS256") -> SigningKey:
        """A new key, used for new tokens; the old one stays published."""
        self.keys.insert(0, SigningKey(algorithm))
        return self.keys[0]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "5cbb8adb-9c68-4738-a93e-b832df96a6b1",
            "iat": now,
            "exp": now + 300,
            "typ": "Bearer",
            "realm_access": {"roles": ["secretariat", "offline_access"]},
        }
        return {k: v for k, v in (claims | overrides).items() if v is not None}

    def token(self, key: SigningKey | None = None, **claims: Any) -> str:
        """An access token signed now with ``key`` (the current key by default)."""
        key = key or self.keys[0]
        return jwt.encode(
            self.claims(**claims), key.key, algorithm=key.algorithm, headers={"kid": key.kid}
        )

    def transport(self) -> httpx.MockTransport:
        async def answer(request: httpx.Request) -> httpx.Response:
            self.requests.append(request.url.path)
            if self.hanging:
                await asyncio.Event().wait()
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            base = self.issuer.rstrip("/")
            if str(request.url) == f"{base}/.well-known/openid-configuration":
                document = {
                    "issuer": self.discovery_issuer,
                    "jwks_uri": f"{base}/protocol/openid-connect/certs",
                }
                return httpx.Response(200, json=document)
            if str(request.url) == f"{base}/protocol/openid-connect/certs":
                return httpx.Response(200, json={"keys": [key.jwk() for key in self.keys]})
            return httpx.Response(404, json={"error": "not found"})

        return httpx.MockTransport(answer)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport())

    def issuer_config(self, **overrides: Any) -> dict[str, Any]:
        return {"issuer": self.issuer, "audience": AUDIENCE} | overrides

    def config_json(self, **overrides: Any) -> str:
        return json.dumps([self.issuer_config(**overrides)])
