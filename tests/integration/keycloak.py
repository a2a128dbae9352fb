"""The real Keycloak that deploy/keycloak.sh runs (realms from deploy/keycloak/): tokens by the
resource-owner password grant (a test-only convenience of the bp-dashboard client; a browser
uses the authorization code flow with PKCE), its admin REST API, and freezing it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

KEYCLOAK_URL = os.environ.get("BP_TEST_KEYCLOAK_URL", "http://127.0.0.1:8180")
REALM = "budapest"
ISSUER = f"{KEYCLOAK_URL}/realms/{REALM}"
CLIENT_ROLES = "resource_access.budapest-platform.roles"
# The platform's roles and the realm's user holding each (deploy/keycloak/realm-budapest.json).
USERS = {
    "secretariat": "secretariat",
    "partner": "iom-partner",
    "member": "bg-member",
    "viewer": "viewer",
}
SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "keycloak.sh"
# A token is renewed when it has less than this left, so none expires while a test uses it.
RENEW_BEFORE_S = 120


def issuer_config(**overrides: Any) -> dict[str, Any]:
    """The gateway's GATEWAY_OIDC_ISSUERS entry for the test realm."""
    return {"issuer": ISSUER, "audience": "budapest-platform", "roles_claim": CLIENT_ROLES} | (
        overrides
    )


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def claims_of(token: str) -> dict[str, Any]:
    return _segment(token, 1)


def header_of(token: str) -> dict[str, Any]:
    return _segment(token, 0)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def password_token(username: str, *, realm: str = REALM, client_id: str = "bp-dashboard") -> str:
    """An access token for ``username`` (password ``<username>-password`` in the test realms)."""
    try:
        response = httpx.post(
            f"{KEYCLOAK_URL}/realms/{realm}/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": username,
                "password": f"{username}-password",
            },
            timeout=30,
        )
    except httpx.TransportError as exc:
        pytest.fail(f"Keycloak is not reachable at {KEYCLOAK_URL} ({exc!r}): deploy/keycloak.sh")
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class TokenHeaders(Mapping[str, str]):
    """``Authorization`` with a token for ``username``, fetched again when the one it holds is
    close to its expiry (read when httpx builds each request)."""

    def __init__(self, username: str) -> None:
        self.username = username
        self._token: str | None = None

    @property
    def token(self) -> str:
        if self._token is None or claims_of(self._token)["exp"] - time.time() < RENEW_BEFORE_S:
            self._token = password_token(self.username)
        return self._token

    def __getitem__(self, name: str) -> str:
        if name.lower() != "authorization":
            raise KeyError(name)
        return f"Bearer {self.token}"

    def __iter__(self) -> Iterator[str]:
        yield "Authorization"

    def __len__(self) -> int:
        return 1


class KeycloakAdmin:
    """The master realm's bootstrap admin (admin/admin, as deploy/keycloak.sh starts it)."""

    def __init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=KEYCLOAK_URL, timeout=30)

    async def __aenter__(self) -> KeycloakAdmin:
        response = await self.client.post(
            "/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": os.environ.get("KEYCLOAK_ADMIN", "admin"),
                "password": os.environ.get("KEYCLOAK_ADMIN_PASSWORD", "admin"),
            },
        )
        assert response.status_code == 200, response.text
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def active_kid(self, realm: str = REALM) -> str:
        keys = await self.client.get(f"/admin/realms/{realm}/keys")
        assert keys.status_code == 200, keys.text
        kid: str = keys.json()["active"]["RS256"]
        return kid

    async def rotate_keys(self, realm: str = REALM) -> str:
        """Adds an RS256 key above the others, as an operator rotating keys does; returns its
        kid (the previous keys stay published, so tokens they signed remain valid)."""
        realm_id = (await self.client.get(f"/admin/realms/{realm}")).json()["id"]
        keys = (await self.client.get(f"/admin/realms/{realm}/keys")).json()["keys"]
        priority = max(int(key.get("providerPriority", 0)) for key in keys) + 10
        created = await self.client.post(
            f"/admin/realms/{realm}/components",
            json={
                "name": f"rotated-{priority}",
                "providerId": "rsa-generated",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": realm_id,
                "config": {
                    "priority": [str(priority)],
                    "enabled": ["true"],
                    "active": ["true"],
                    "algorithm": ["RS256"],
                    "keySize": ["2048"],
                },
            },
        )
        assert created.status_code == 201, created.text
        return await self.active_kid(realm)


def keycloak_script(command: str) -> None:
    """deploy/keycloak.sh ``command`` (freeze, thaw) on the Keycloak of this checkout."""
    subprocess.run(["bash", str(SCRIPT), command], check=True, timeout=60)
