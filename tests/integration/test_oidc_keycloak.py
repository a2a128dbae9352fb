"""People signed in with a real Keycloak (deploy/keycloak.sh) call the platform with its access
tokens: the same rights as API keys of their roles, refusals as 401/403 problems, and the keys'
life: cached while the provider is frozen, refreshed after a rotation in the realm."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from bp_common.security import Role
from bp_common.testing import running
from bpctl.embedded import EmbeddedPlatform
from gateway.oidc import AccessTokens, OidcIssuer

# The cross-organisation and cross-country refusals of the key matrix, run here with tokens.
from tests.test_access_matrix import (  # noqa: F401
    CASES,
    ROLES,
    World,
    check_write,
    seed,
    test_a_member_acts_only_in_its_own_countrys_name,
    test_a_partner_cannot_report_for_a_project_it_does_not_implement,
)

from .keycloak import (
    ISSUER,
    USERS,
    KeycloakAdmin,
    TokenHeaders,
    b64,
    claims_of,
    header_of,
    issuer_config,
    keycloak_script,
    password_token,
)

ADMIN_KEY = "bp_admin_oidc-key"
UNLIMITED = {"rate_limit_per_minute": 10**9, "rate_limit_burst": 10**6}


@contextlib.asynccontextmanager
async def gateway(tmp_path: Path, **issuer: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The embedded platform whose gateway trusts the test realm."""
    platform = EmbeddedPlatform(
        tmp_path,
        ADMIN_KEY,
        load_demo_data=False,
        gateway_options={"oidc_issuers": [issuer_config(**issuer)], **UNLIMITED},
    )
    async with running(platform.gateway) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code, response.text


# ------------------------------------------------------------------ the access matrix


class TokenWorld(World):
    """The access matrix's world, each role signed in as the realm's user holding it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__(client, {})
        self.headers = {role: TokenHeaders(username) for role, username in USERS.items()}

    def auth(self, role: str) -> Mapping[str, str]:
        return self.headers[role]


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with gateway(tmp_path_factory.mktemp("oidc-matrix"), min_refresh_interval_s=0) as client:
        world = TokenWorld(client)
        await seed(world)
        yield world


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(CASES))
async def test_each_role_signed_in_has_the_rights_of_its_role(
    world: World, operation: str, role: str
) -> None:
    await check_write(world, operation, role)


async def test_a_keycloak_token_maps_to_the_persons_identity() -> None:
    tokens = AccessTokens([OidcIssuer.model_validate(issuer_config())])
    expected = {
        "secretariat": (Role.SECRETARIAT, None, None),
        "iom-partner": (Role.PARTNER, "IOM", None),
        "bg-member": (Role.MEMBER, None, "BG"),
        "viewer": (Role.VIEWER, None, None),
    }
    try:
        for username, (role, organisation, country) in expected.items():
            token = password_token(username)
            identity = await tokens.authenticate(token)
            assert identity.principal == claims_of(token)["sub"]  # the person, not a key
            assert (identity.role, identity.organisation, identity.country) == (
                role,
                organisation,
                country,
            )
    finally:
        await tokens.aclose()


# ------------------------------------------------------------------ refusals


async def test_a_user_without_a_platform_role_is_a_403_naming_the_claim(
    world: World,
) -> None:
    response = await world.client.get("/v1/meetings", headers=bearer(password_token("no-role")))
    assert_refused(response, 403, "access_token_claim_missing")
    assert "resource_access.budapest-platform.roles" in response.json()["detail"]


async def test_an_expired_token_is_a_401(world: World) -> None:
    token = password_token("secretariat")
    expires = datetime.fromtimestamp(claims_of(token)["exp"], UTC)
    assert (await world.client.get("/v1/meetings", headers=bearer(token))).status_code == 200
    with time_machine.travel(expires + timedelta(seconds=31), tick=False):
        response = await world.client.get("/v1/meetings", headers=bearer(token))
    assert_refused(response, 401, "access_token_expired")


async def test_a_token_for_another_audience_is_a_401(world: World) -> None:
    token = password_token("secretariat", client_id="other-app")
    assert claims_of(token)["aud"] == "another-api"
    response = await world.client.get("/v1/meetings", headers=bearer(token))
    assert_refused(response, 401, "access_token_wrong_audience")


async def test_a_token_of_another_realm_is_a_401(world: World) -> None:
    foreign = password_token("secretariat", realm="elsewhere")
    assert claims_of(foreign)["aud"] == "budapest-platform"  # right audience, wrong issuer
    assert_refused(
        await world.client.get("/v1/meetings", headers=bearer(foreign)),
        401,
        "access_token_untrusted_issuer",
    )
    # The other realm's signature on our realm's header and claims.
    ours = password_token("viewer").split(".")
    spliced = f"{ours[0]}.{ours[1]}.{foreign.split('.')[2]}"
    assert_refused(
        await world.client.get("/v1/meetings", headers=bearer(spliced)),
        401,
        "access_token_invalid",
    )


async def test_a_tampered_token_is_a_401(world: World) -> None:
    header, payload, signature = password_token("viewer").split(".")
    claims = claims_of(f"{header}.{payload}.{signature}")
    claims["resource_access"] = {"budapest-platform": {"roles": ["secretariat"]}}
    response = await world.client.post(
        "/v1/organisations",
        json={"acronym": "FORGED", "name": "Forged", "type": "other"},
        headers=bearer(f"{header}.{b64(claims)}.{signature}"),
    )
    assert_refused(response, 401, "access_token_invalid")


# ------------------------------------------------------------------ the keys' life


# It stops the shared Keycloak for a few seconds: with the other disruptive tests, alone.
@pytest.mark.disruptive
async def test_while_the_provider_is_frozen_cached_keys_serve_and_unknown_kids_are_refused(
    tmp_path: Path,
) -> None:
    async with gateway(tmp_path, timeout_s=5, min_refresh_interval_s=0) as client:
        token = password_token("secretariat")
        assert (await client.get("/v1/meetings", headers=bearer(token))).status_code == 200
        _, payload, signature = token.split(".")
        unknown_kid = f"{b64(header_of(token) | {'kid': 'not-a-key-of-the-realm'})}.{payload}."
        keycloak_script("freeze")
        try:
            still = await client.get("/v1/meetings", headers=bearer(token))
            refused = await client.get("/v1/meetings", headers=bearer(unknown_kid + signature))
        finally:
            keycloak_script("thaw")
    assert still.status_code == 200, still.text
    assert_refused(refused, 401, "access_token_unknown_key")


async def test_after_a_key_rotation_in_the_realm_new_tokens_are_accepted(tmp_path: Path) -> None:
    async with gateway(tmp_path, min_refresh_interval_s=0) as client:
        before = password_token("secretariat")
        assert (await client.get("/v1/meetings", headers=bearer(before))).status_code == 200
        app = client._transport.app  # type: ignore[attr-defined]
        keys = app.state.access_tokens.sources[ISSUER]
        fetches = keys.fetches
        async with KeycloakAdmin() as admin:
            new_kid = await admin.rotate_keys()
        after = password_token("secretariat")
        assert header_of(after)["kid"] == new_kid != header_of(before)["kid"]
        response = await client.get("/v1/meetings", headers=bearer(after))
        assert response.status_code == 200, response.text
        assert keys.fetches > fetches  # the unknown kid made the gateway read the JWKS again
        # The previous key is still published: tokens it signed stay valid.
        assert (await client.get("/v1/meetings", headers=bearer(before))).status_code == 200
