"""OpenID Connect access tokens at the edge, beside API keys: a person signed in with their
organisation's identity provider (Keycloak, Entra ID, ...) calls the API with the provider's
access token, and the gateway turns it into the same :class:`Identity` as a key, the person's
subject as principal.

Each trusted issuer is configured (``GATEWAY_OIDC_ISSUERS``): its audience, which claim holds the
roles and how they map to the platform's, where organisation and country are found. Its signing
keys come from the discovery document's ``jwks_uri``, are cached, refreshed when a token names an
unknown ``kid`` (at most once per ``min_refresh_interval_s``, so a flood of forged tokens cannot
make the gateway hammer the provider) or when older than ``max_key_age_s`` (in the background;
the cached keys keep working while the provider is down)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bp_common.errors import Forbidden, ServiceUnavailable, Unauthenticated
from bp_common.security import KEY_PREFIX, Identity, Role

logger = logging.getLogger(__name__)

# Asymmetric algorithms only: never "none", never HS* (a public key must not become an HMAC key).
SignatureAlgorithm = Literal["RS256", "ES256", "EdDSA"]
_ALL_ALGORITHMS: list[SignatureAlgorithm] = ["RS256", "ES256", "EdDSA"]
_ORGANISATION = re.compile(r"^[A-Z][A-Z0-9.\-]{0,39}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp"]


class OidcIssuer(BaseModel):
    """One trusted identity provider (an element of ``GATEWAY_OIDC_ISSUERS``)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(description="Exactly the tokens' `iss`, e.g. https://sso.example/realms/bp")
    audience: str = Field(description="The platform's client id or audience, required in `aud`")
    discovery_url: str | None = Field(
        default=None,
        description="Where the gateway reads the discovery document, when it reaches the "
        "provider by another address than the public one (containers); default "
        "<issuer>/.well-known/openid-configuration",
    )
    roles_claim: str = Field(
        default="realm_access.roles",
        description="Dotted path of the list of roles: Keycloak realm roles `realm_access.roles`, "
        "client roles `resource_access.<client id>.roles`, Entra ID app roles `roles`",
    )
    roles: dict[str, Role] = Field(
        default_factory=lambda: {role.value: role for role in Role},
        description="The provider's role names and the platform role each grants; with several, "
        "the first platform role in secretariat, partner, member, viewer order",
    )
    organisation_claim: str | None = "organisation"
    country_claim: str | None = "country"
    groups_claim: str | None = "groups"
    # Group paths naming the organisation or the country when the claims are absent.
    organisation_group_prefix: str = "/organisations/"
    country_group_prefix: str = "/countries/"
    algorithms: list[SignatureAlgorithm] = Field(
        default_factory=lambda: list(_ALL_ALGORITHMS), min_length=1
    )
    leeway_s: int = Field(default=30, ge=0, le=300)
    min_refresh_interval_s: float = Field(default=30.0, ge=0)
    max_key_age_s: float = Field(default=3600.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)

    @field_validator("issuer")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("the issuer is an http(s) URL")
        return value

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


def _challenge(error: str = "invalid_token") -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="budapest-process", error="{error}"'}


def _refused(detail: str, code: str) -> Unauthenticated:
    return Unauthenticated(detail, code=code, headers=_challenge())


class ProviderUnavailable(ServiceUnavailable):
    code = "identity_provider_unavailable"


class _NoUsableKeys(Exception):
    pass


class SigningKeys:
    """One issuer's signing keys, as its JWKS publishes them."""

    def __init__(
        self,
        config: OidcIssuer,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.client = client
        self.clock = clock
        self.keys: dict[str | None, jwt.PyJWK] = {}
        self.fetched_at: float | None = None
        self.attempted_at: float | None = None
        self.fetches = 0  # JWKS requests made (the rate limit's observable)
        self._jwks_uri: str | None = None
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def key(self, kid: str | None) -> jwt.PyJWK:
        """The key ``kid`` names. An unknown kid triggers a refresh (rate-limited); stale keys
        are refreshed in the background while they keep serving."""
        key = self.keys.get(kid)
        if key is not None:
            if self._stale() and self._refresh_due() and not self._refreshing():
                self._background = asyncio.create_task(self.refresh())
            return key
        await self.refresh()
        key = self.keys.get(kid)
        if key is not None:
            return key
        if not self.keys:
            raise ProviderUnavailable(
                "The identity provider's signing keys cannot be read; retry shortly.",
                headers={"Retry-After": "5"},
            )
        raise _refused(
            "The access token is signed with a key its issuer does not publish.",
            "access_token_unknown_key",
        )

    def _stale(self) -> bool:
        return self.fetched_at is None or self.clock() - self.fetched_at > self.config.max_key_age_s

    def _refresh_due(self) -> bool:
        return (
            self.attempted_at is None
            or self.clock() - self.attempted_at >= self.config.min_refresh_interval_s
        )

    def _refreshing(self) -> bool:
        return self._lock.locked() or (self._background is not None and not self._background.done())

    async def refresh(self) -> None:
        """Reads the JWKS again unless it was attempted within ``min_refresh_interval_s``;
        keeps the keys it has when the provider does not answer."""
        attempted = self.attempted_at
        async with self._lock:
            if self.attempted_at != attempted:
                return  # another request refreshed while this one waited
            if not self._refresh_due():
                return
            now = self.attempted_at = self.clock()
            try:
                self.keys = await self._fetch()
                self.fetched_at = now
            except (httpx.HTTPError, TimeoutError, ValueError, _NoUsableKeys) as exc:
                logger.warning(
                    "signing keys of %s not refreshed (%d kept): %r",
                    self.config.issuer,
                    len(self.keys),
                    exc,
                )

    async def _fetch(self) -> dict[str | None, jwt.PyJWK]:
        if self._jwks_uri is None:
            discovery = await self._get_json(self.config.discovery)
            if discovery.get("issuer") != self.config.issuer:
                raise ValueError(
                    f"the discovery document names issuer {discovery.get('issuer')!r}, "
                    f"not {self.config.issuer!r}"
                )
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise ValueError("the discovery document has no jwks_uri")
            self._jwks_uri = jwks_uri
        self.fetches += 1
        keys = usable_keys(
            (await self._get_json(self._jwks_uri)).get("keys"), self.config.algorithms
        )
        if not keys:
            raise _NoUsableKeys(f"no signing key for {self.config.algorithms} in the JWKS")
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        async with asyncio.timeout(self.config.timeout_s):
            response = await self.client.get(url, timeout=self.config.timeout_s)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict):
            raise ValueError(f"{url} did not answer with a JSON object")
        return document

    async def aclose(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background


def usable_keys(
    jwks: object, algorithms: Iterable[SignatureAlgorithm]
) -> dict[str | None, jwt.PyJWK]:
    """The JWKS's signing keys for the accepted algorithms, by kid (encryption keys, symmetric
    keys and keys PyJWT cannot use are left out)."""
    if not isinstance(jwks, list) or not jwks:
        return {}
    try:
        key_set = jwt.PyJWKSet(jwks)
    except jwt.PyJWTError:
        return {}
    allowed = set(algorithms)
    return {
        key.key_id: key
        for key in key_set
        if key.public_key_use in (None, "sig") and key.algorithm_name in allowed
    }


def claim(claims: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``resource_access.budapest-platform.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class AccessTokens:
    """Verifies access tokens from the configured issuers and maps their claims."""

    def __init__(
        self,
        issuers: Iterable[OidcIssuer],
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client or httpx.AsyncClient(follow_redirects=False)
        self.sources = {
            config.issuer: SigningKeys(config, self.client, clock) for config in issuers
        }
        self._warm_up: asyncio.Task[None] | None = None

    def accepts(self, credential: str) -> bool:
        """A JWT (three dot-separated parts) while issuers are configured; an API key keeps its
        ``bp_`` prefix, so the two are told apart without trying both."""
        return (
            bool(self.sources)
            and not credential.startswith(f"{KEY_PREFIX}_")
            and credential.count(".") == 2
        )

    def start(self) -> None:
        """Reads every issuer's keys in the background at start-up (a provider that is down
        delays nothing; it is asked again for the first token it signed)."""
        if self.sources:
            self._warm_up = asyncio.create_task(self.warm_up())

    async def warm_up(self) -> None:
        await asyncio.gather(*(source.refresh() for source in self.sources.values()))

    async def aclose(self) -> None:
        if self._warm_up is not None:
            self._warm_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm_up
        for source in self.sources.values():
            await source.aclose()
        await self.client.aclose()

    async def authenticate(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _refused("The access token is not a valid JWT.", "access_token_invalid") from exc
        source = self.sources.get(str(unverified.get("iss")))
        if source is None:
            raise _refused(
                "The access token's issuer is not trusted by this platform.",
                "access_token_untrusted_issuer",
            )
        config = source.config
        algorithm = header.get("alg")
        if algorithm not in config.algorithms:
            raise _refused(
                f"The access token is signed with {algorithm!r}; accepted: "
                f"{', '.join(config.algorithms)}.",
                "access_token_invalid",
            )
        key = await source.key(header.get("kid"))
        claims = _verified_claims(token, key, algorithm, config)
        return identity_from_claims(claims, config)


def _verified_claims(
    token: str, key: jwt.PyJWK, algorithm: str, config: OidcIssuer
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=config.audience,
            issuer=config.issuer,
            leeway=config.leeway_s,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _refused("The access token has expired.", "access_token_expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise _refused("The access token is not valid yet.", "access_token_not_yet_valid") from exc
    except (jwt.InvalidAudienceError, jwt.MissingRequiredClaimError) as exc:
        if isinstance(exc, jwt.MissingRequiredClaimError) and exc.claim != "aud":
            raise _refused(
                f"The access token has no '{exc.claim}' claim.", "access_token_invalid"
            ) from exc
        raise _refused(
            f"The access token is not meant for this platform (audience {config.audience}).",
            "access_token_wrong_audience",
        ) from exc
    except jwt.PyJWTError as exc:
        raise _refused("The access token is not valid.", "access_token_invalid") from exc
    # Keycloak marks its ID tokens "ID": they prove a sign-in to a client, they grant nothing.
    if str(claims.get("typ", "Bearer")).lower() != "bearer" or not isinstance(claims["sub"], str):
        raise _refused("The token is not an access token.", "access_token_invalid")
    return claims


def _missing_claim(detail: str) -> Forbidden:
    return Forbidden(detail, code="access_token_claim_missing")


def identity_from_claims(claims: dict[str, Any], config: OidcIssuer) -> Identity:
    """The platform identity the configuration maps the token's claims to. Like an API key, a
    partner is bound to an organisation and a member to a country."""
    granted = claim(claims, config.roles_claim)
    names = {granted} if isinstance(granted, str) else set(granted or [])
    platform_roles = {config.roles[name] for name in names if name in config.roles}
    role = next((candidate for candidate in Role if candidate in platform_roles), None)
    if role is None:
        raise _missing_claim(
            f"The access token grants no platform role: claim '{config.roles_claim}' holds none "
            f"of {', '.join(sorted(config.roles))}."
        )
    groups = claim(claims, config.groups_claim) if config.groups_claim else None
    group_names = [group for group in groups if isinstance(group, str)] if groups else []
    organisation = _bound_value(
        claims, config.organisation_claim, group_names, config.organisation_group_prefix
    )
    country = _bound_value(claims, config.country_claim, group_names, config.country_group_prefix)
    if role is Role.PARTNER:
        if organisation is None or not _ORGANISATION.match(organisation):
            raise _missing_claim(
                f"A partner's access token names its organisation: claim "
                f"'{config.organisation_claim}' or a group under "
                f"'{config.organisation_group_prefix}'."
            )
        return Identity(principal=claims["sub"], role=role, organisation=organisation)
    if role is Role.MEMBER:
        if country is None or not _COUNTRY.match(country):
            raise _missing_claim(
                f"A member's access token names its country (ISO 3166 alpha-2): claim "
                f"'{config.country_claim}' or a group under '{config.country_group_prefix}'."
            )
        return Identity(principal=claims["sub"], role=role, country=country)
    return Identity(principal=claims["sub"], role=role)


def _bound_value(
    claims: dict[str, Any], claim_path: str | None, groups: list[str], prefix: str
) -> str | None:
    value = claim(claims, claim_path) if claim_path else None
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str) or not value.strip():
        under = [group.removeprefix(prefix) for group in groups if group.startswith(prefix)]
        value = under[0] if len(under) == 1 else None
    return value.strip().strip("/").upper() if value else None
