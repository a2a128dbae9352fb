"""OpenID Connect access tokens at the gateway, against a fake provider whose keys are generated
here and served through an httpx MockTransport (the real Keycloak is in tests/integration)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from bp_common.errors import Forbidden, Unauthenticated
from bp_common.security import Role
from bp_common.testing import eventually, running
from gateway.app import create_gateway_app
from gateway.oidc import (
    AccessTokens,
    OidcIssuer,
    ProviderUnavailable,
    identity_from_claims,
    usable_keys,
)
from gateway.settings import GatewaySettings

from .conftest import AUTH, gateway_settings, upstream_clients
from .identity_provider import ISSUER, FakeIdentityProvider

KEYCLOAK_CLIENT_ROLES = "resource_access.budapest-platform.roles"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> FakeIdentityProvider:
    return FakeIdentityProvider()


@contextlib.asynccontextmanager
async def gateway_for(
    tmp_path: Path, provider: FakeIdentityProvider, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    issuer = overrides.pop("issuer", {})
    settings = gateway_settings(
        tmp_path, oidc_issuers=[provider.issuer_config(**issuer)], **overrides
    )
    app = create_gateway_app(
        settings, clients=upstream_clients(), identity_providers=provider.client()
    )
    async with running(app) as client:
        yield client


@pytest.fixture
async def gateway(
    tmp_path: Path, provider: FakeIdentityProvider
) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_for(tmp_path, provider) as client:
        yield client


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code, response.text


# ------------------------------------------------------------------ accepted tokens


async def test_a_valid_token_is_forwarded_as_the_persons_signed_identity(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    token = provider.token(realm_access={"roles": ["partner"]}, organisation="iom")
    response = await gateway.get("/v1/meetings", headers=bearer(token))
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert echoed["principal"] == provider.claims()["sub"]
    assert echoed["role"] == "partner"
    assert echoed["organisation"] == "IOM"
    assert echoed["audience"] == "meetings-api"
    assert echoed["saw_authorization"] is False


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
async def test_rsa_elliptic_curve_and_edwards_keys_are_accepted(
    tmp_path: Path, algorithm: str
) -> None:
    provider = FakeIdentityProvider(algorithm=algorithm)
    async with gateway_for(tmp_path, provider) as gateway:
        response = await gateway.get("/v1/meetings", headers=bearer(provider.token()))
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "secretariat"


async def test_keycloak_client_roles_and_groups_map_to_a_member_of_a_country(
    tmp_path: Path, provider: FakeIdentityProvider
) -> None:
    token = provider.token(
        realm_access=None,
        resource_access={"budapest-platform": {"roles": ["member"]}, "account": {"roles": []}},
        groups=["/countries/BG", "/staff"],
    )
    async with gateway_for(
        tmp_path, provider, issuer={"roles_claim": KEYCLOAK_CLIENT_ROLES}
    ) as gateway:
        response = await gateway.get("/v1/meetings", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["country"]) == ("member", "BG")


async def test_api_keys_keep_working_and_never_reach_the_provider(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    assert (await gateway.get("/v1/meetings", headers=AUTH)).status_code == 200
    wrong_key = await gateway.get("/v1/meetings", headers=bearer("bp_abc_not.a.jwt"))
    assert_refused(wrong_key, 401, "invalid_api_key")


async def test_without_issuers_a_token_is_refused_as_an_invalid_key(
    tmp_path: Path, provider: FakeIdentityProvider
) -> None:
    app = create_gateway_app(gateway_settings(tmp_path), clients=upstream_clients())
    async with running(app) as gateway:
        response = await gateway.get("/v1/meetings", headers=bearer(provider.token()))
    assert_refused(response, 401, "invalid_api_key")


async def test_tokens_are_rate_limited_per_person(
    tmp_path: Path, provider: FakeIdentityProvider
) -> None:
    async with gateway_for(
        tmp_path, provider, rate_limit_burst=2, rate_limit_per_minute=1
    ) as gateway:
        statuses = [
            (await gateway.get("/v1/meetings", headers=bearer(provider.token()))).status_code
            for _ in range(3)
        ]
        someone_else = provider.token(sub="another-person")
        other = await gateway.get("/v1/meetings", headers=bearer(someone_else))
    # Three different tokens of one person share one bucket; another person has their own.
    assert statuses == [200, 200, 429]
    assert other.status_code == 200


# ------------------------------------------------------------------ refused tokens


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"aud": "another-api"}, "access_token_wrong_audience"),
        ({"aud": None}, "access_token_wrong_audience"),
        ({"iss": "https://sso.example/realms/elsewhere"}, "access_token_untrusted_issuer"),
        ({"iss": None}, "access_token_untrusted_issuer"),
        ({"exp": None}, "access_token_invalid"),
        ({"sub": None}, "access_token_invalid"),
        ({"typ": "ID"}, "access_token_invalid"),
        ({"nbf": 4102444800}, "access_token_not_yet_valid"),
    ],
)
async def test_tokens_with_wrong_claims_are_401_problems(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider, claims: dict[str, Any], code: str
) -> None:
    response = await gateway.get("/v1/meetings", headers=bearer(provider.token(**claims)))
    assert_refused(response, 401, code)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_an_expired_token_is_refused_once_past_the_leeway(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    signed_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(signed_at, tick=False) as traveller:
        token = provider.token()  # valid 300 s, leeway 30 s
        traveller.move_to(signed_at + timedelta(seconds=329))
        assert (await gateway.get("/v1/meetings", headers=bearer(token))).status_code == 200
        traveller.move_to(signed_at + timedelta(seconds=331))
        expired = await gateway.get("/v1/meetings", headers=bearer(token))
    assert_refused(expired, 401, "access_token_expired")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_tampered_token_is_refused(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    header, _, signature = provider.token(realm_access={"roles": ["viewer"]}).split(".")
    promoted = _b64(provider.claims(realm_access={"roles": ["secretariat"]}))
    response = await gateway.get("/v1/meetings", headers=bearer(f"{header}.{promoted}.{signature}"))
    assert_refused(response, 401, "access_token_invalid")


async def test_none_and_hmac_with_the_public_key_are_refused(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    unsigned = f"{_b64({'alg': 'none', 'kid': provider.keys[0].kid})}.{_b64(provider.claims())}."
    public_pem = (
        provider.keys[0]
        .key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    # The classic confusion: HMAC keyed with the published public key.
    hmac_header = _b64({"alg": "HS256", "typ": "JWT", "kid": provider.keys[0].kid})
    payload = _b64(provider.claims())
    mac = hmac.new(public_pem, f"{hmac_header}.{payload}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    for token in (unsigned, f"{hmac_header}.{payload}.{signature}"):
        assert_refused(
            await gateway.get("/v1/meetings", headers=bearer(token)), 401, "access_token_invalid"
        )


async def test_a_token_signed_by_a_key_the_issuer_does_not_publish_is_refused(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    impostor = FakeIdentityProvider()  # same issuer name, its own key
    impostor.keys[0].kid = provider.keys[0].kid
    response = await gateway.get("/v1/meetings", headers=bearer(impostor.token()))
    assert_refused(response, 401, "access_token_invalid")
    unknown_kid = await gateway.get("/v1/meetings", headers=bearer(FakeIdentityProvider().token()))
    assert_refused(unknown_kid, 401, "access_token_unknown_key")


async def test_garbage_that_looks_like_a_jwt_is_a_401(gateway: httpx.AsyncClient) -> None:
    for credential in ("a.b.c", "bm90.anNvbg.x", ".."):
        response = await gateway.get("/v1/meetings", headers=bearer(credential))
        assert_refused(response, 401, "access_token_invalid")


# ------------------------------------------------------------------ claims to identity


async def test_a_token_without_a_platform_role_is_a_403_naming_the_claim(
    gateway: httpx.AsyncClient, provider: FakeIdentityProvider
) -> None:
    token = provider.token(realm_access={"roles": ["offline_access", "uma_authorization"]})
    response = await gateway.get("/v1/meetings", headers=bearer(token))
    assert_refused(response, 403, "access_token_claim_missing")
    assert "realm_access.roles" in response.json()["detail"]


def test_a_partner_needs_an_organisation_and_a_member_a_country() -> None:
    config = OidcIssuer(issuer=ISSUER, audience="budapest-platform")
    base = {"sub": "someone"}
    with pytest.raises(Forbidden, match="'organisation'"):
        identity_from_claims(base | {"realm_access": {"roles": ["partner"]}}, config)
    with pytest.raises(Forbidden, match="'country'"):
        identity_from_claims(base | {"realm_access": {"roles": ["member"]}, "country": "B"}, config)
    two_organisations = {
        "realm_access": {"roles": ["partner"]},
        "groups": ["/organisations/IOM", "/organisations/ICMPD"],
    }
    with pytest.raises(Forbidden, match="organisation"):
        identity_from_claims(base | two_organisations, config)


def test_mapping_follows_the_configuration() -> None:
    entra = OidcIssuer(
        issuer="https://login.microsoftonline.com/tenant/v2.0",
        audience="api://budapest-platform",
        roles_claim="roles",
        roles={"BP.Secretariat": Role.SECRETARIAT, "BP.Reader": Role.VIEWER},
        organisation_claim="extension_organisation",
        groups_claim=None,
    )
    both = identity_from_claims({"sub": "p", "roles": ["BP.Reader", "BP.Secretariat"]}, entra)
    assert both.role is Role.SECRETARIAT  # the strongest of the granted roles
    assert identity_from_claims({"sub": "p", "roles": "BP.Reader"}, entra).role is Role.VIEWER
    # Claims take precedence over groups; codes compare in upper case.
    keycloak = OidcIssuer(issuer=ISSUER, audience="budapest-platform")
    partner = identity_from_claims(
        {
            "sub": "p",
            "realm_access": {"roles": ["partner"]},
            "organisation": "icmpd",
            "groups": ["/organisations/IOM"],
        },
        keycloak,
    )
    assert partner.organisation == "ICMPD"


def test_only_asymmetric_algorithms_can_be_configured() -> None:
    for algorithms in (["HS256"], ["none"], []):
        with pytest.raises(ValidationError):
            OidcIssuer(issuer=ISSUER, audience="a", algorithms=algorithms)  # type: ignore[arg-type]


def test_issuers_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, provider: FakeIdentityProvider
) -> None:
    monkeypatch.setenv(
        "GATEWAY_OIDC_ISSUERS", provider.config_json(roles_claim=KEYCLOAK_CLIENT_ROLES)
    )
    (issuer,) = GatewaySettings().oidc_issuers
    assert (issuer.issuer, issuer.audience) == (ISSUER, "budapest-platform")
    assert issuer.roles_claim == KEYCLOAK_CLIENT_ROLES
    assert issuer.discovery == f"{ISSUER}/.well-known/openid-configuration"


# ------------------------------------------------------------------ the keys' life


def access_tokens(provider: FakeIdentityProvider, clock: Clock, **config: Any) -> AccessTokens:
    issuer = OidcIssuer.model_validate(provider.issuer_config(**config))
    return AccessTokens([issuer], provider.client(), clock)


async def test_an_unknown_kid_refreshes_the_keys_at_most_once_per_interval(
    provider: FakeIdentityProvider,
) -> None:
    clock = Clock()
    tokens = access_tokens(provider, clock, min_refresh_interval_s=30)
    await tokens.authenticate(provider.token())
    assert provider.jwks_requests == 1
    clock.now += 30
    forged = FakeIdentityProvider()  # a flood of tokens naming keys nobody published
    for _ in range(20):
        with pytest.raises(Unauthenticated, match="key its issuer does not publish"):
            await tokens.authenticate(forged.token())
    assert provider.jwks_requests == 2  # the first unknown kid; the rest within the interval

    rotated = provider.rotate()
    with pytest.raises(Unauthenticated, match="does not publish"):
        await tokens.authenticate(provider.token(rotated))  # still within the interval
    clock.now += 30
    identity = await tokens.authenticate(provider.token(rotated))
    assert identity.role is Role.SECRETARIAT
    assert provider.jwks_requests == 3
    # Tokens signed with the previous key stay valid while it is published.
    await tokens.authenticate(provider.token(provider.keys[1]))
    await tokens.aclose()


async def test_cached_keys_serve_while_the_provider_is_down(
    provider: FakeIdentityProvider,
) -> None:
    clock = Clock()
    tokens = access_tokens(provider, clock, min_refresh_interval_s=0, max_key_age_s=60)
    await tokens.authenticate(provider.token())
    provider.down = True
    clock.now += 3600  # the keys are old: refreshed in the background, which fails
    for _ in range(3):
        assert (await tokens.authenticate(provider.token())).role is Role.SECRETARIAT
    rotated = provider.rotate()
    with pytest.raises(Unauthenticated, match="does not publish"):
        await tokens.authenticate(provider.token(rotated))
    provider.down = False
    assert (await tokens.authenticate(provider.token(rotated))).role is Role.SECRETARIAT
    await tokens.aclose()


async def test_a_provider_that_does_not_answer_is_given_up_after_the_timeout(
    provider: FakeIdentityProvider,
) -> None:
    tokens = access_tokens(provider, Clock(), min_refresh_interval_s=0, timeout_s=0.05)
    await tokens.authenticate(provider.token())
    provider.hanging = True
    assert (await tokens.authenticate(provider.token())).role is Role.SECRETARIAT
    with pytest.raises(Unauthenticated, match="does not publish"):
        await tokens.authenticate(provider.token(provider.rotate()))
    await tokens.aclose()


async def test_stale_keys_are_replaced_in_the_background(provider: FakeIdentityProvider) -> None:
    clock = Clock()
    tokens = access_tokens(provider, clock, min_refresh_interval_s=0, max_key_age_s=60)
    first = provider.keys[0]
    await tokens.authenticate(provider.token())
    provider.rotate()
    provider.keys.remove(first)  # the provider retired its old key
    clock.now += 61
    await tokens.authenticate(provider.token(first))  # served from the cache, refresh started
    source = tokens.sources[ISSUER]
    assert source._background is not None
    await source._background
    with pytest.raises(Unauthenticated, match="does not publish"):
        await tokens.authenticate(provider.token(first))
    await tokens.aclose()


async def test_a_provider_never_reached_is_a_503_retried_at_the_interval(
    provider: FakeIdentityProvider,
) -> None:
    provider.down = True
    clock = Clock()
    tokens = access_tokens(provider, clock, min_refresh_interval_s=10)
    for _ in range(5):
        with pytest.raises(ProviderUnavailable):
            await tokens.authenticate(provider.token())
    assert len(provider.requests) == 1
    provider.down = False
    clock.now += 10
    assert (await tokens.authenticate(provider.token())).role is Role.SECRETARIAT
    await tokens.aclose()


async def test_a_discovery_document_naming_another_issuer_is_not_trusted(
    tmp_path: Path, provider: FakeIdentityProvider
) -> None:
    provider.discovery_issuer = "https://attacker.example/realms/budapest"
    async with gateway_for(tmp_path, provider) as gateway:
        response = await gateway.get("/v1/meetings", headers=bearer(provider.token()))
    assert_refused(response, 503, "identity_provider_unavailable")
    assert provider.jwks_requests == 0


async def test_the_gateway_reads_the_keys_at_start_up(
    tmp_path: Path, provider: FakeIdentityProvider
) -> None:
    async with gateway_for(tmp_path, provider) as gateway:
        app = gateway._transport.app  # type: ignore[attr-defined]
        source = app.state.access_tokens.sources[ISSUER]

        async def keys_read() -> bool:
            return bool(source.keys)

        await eventually(keys_read, within_s=10)  # no token sent: the start-up read them
        assert provider.jwks_requests == 1


def test_json_web_keys_for_other_uses_or_algorithms_are_left_out(
    provider: FakeIdentityProvider,
) -> None:
    signing = provider.keys[0].jwk()
    encryption = signing | {"kid": "enc", "use": "enc", "alg": "RSA-OAEP"}
    hmac_key = {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}
    keys = usable_keys([signing, encryption, hmac_key], ["RS256", "ES256", "EdDSA"])
    assert list(keys) == [provider.keys[0].kid]
    assert usable_keys([signing], ["EdDSA"]) == {}
    assert usable_keys("not a list", ["RS256"]) == {}
    assert jwt.PyJWK(signing).algorithm_name == "RS256"
