from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from bp_common.security import SigningKey, load_signing_key
from bp_common.settings import DEV_API_KEY_PEPPER, Environment, ServiceSettings
from gateway.oidc import OidcIssuer


class GatewaySettings(ServiceSettings):
    """The gateway reads ``ADMIN_API_KEY`` unprefixed (the contract names it so); the rest is
    ``GATEWAY_*``."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    service_name: str = "gateway"
    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    admin_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ADMIN_API_KEY", "GATEWAY_ADMIN_API_KEY")
    )
    # Keyed hash of API keys: a copy of the key table is useless without it.
    api_key_pepper: SecretStr = SecretStr(DEV_API_KEY_PEPPER)
    # PEM, with identity_algorithm EdDSA or RS256: what the gateway signs identities with.
    identity_private_key: SecretStr | None = None
    meetings_url: str = "http://127.0.0.1:8001"
    plan_url: str = "http://127.0.0.1:8002"
    indicators_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    # Ordinary calls: the whole answer within this time, or a 504.
    upstream_timeout_s: float = 10.0
    # Streams (/v1/stream): no total limit; closed when silent this long (the service sends a
    # heartbeat every 15 s).
    stream_idle_timeout_s: float = Field(default=45.0, gt=0)
    max_body_bytes: int = 32 * 1024 * 1024
    # Uploads (/v1/iati): IATI files of 100 MB and more, read and imported in one call.
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    upload_timeout_s: float = Field(default=600.0, gt=0)
    # Reports (/v1/meetings/{id}/report): a large meeting's PDF takes seconds of layout.
    # meetings-api reads the same REPORT_TIMEOUT_S and ends a render before it (its
    # report_render_deadline_s), so the caller gets its 503 problem rather than a cut answer.
    report_timeout_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("GATEWAY_REPORT_TIMEOUT_S", "REPORT_TIMEOUT_S"),
    )
    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000"])
    # Token bucket per key: a sustained rate and a burst.
    rate_limit_per_minute: int = Field(default=1200, ge=1)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Identity providers whose access tokens are accepted beside API keys (a JSON list).
    oidc_issuers: list[OidcIssuer] = Field(default_factory=list)

    def _check_identity_key(self) -> None:
        self.identity_signing_key()

    def identity_signing_key(self) -> SigningKey:
        if not self.identity_algorithm.is_asymmetric:
            return self.identity_secret.get_secret_value()
        if self.identity_private_key is None:
            raise ValueError(f"identity_private_key is required with {self.identity_algorithm}")
        return load_signing_key(
            self.identity_algorithm, self.identity_private_key.get_secret_value()
        )

    def _default_secrets(self) -> dict[str, str]:
        return super()._default_secrets() | {"api_key_pepper": DEV_API_KEY_PEPPER}

    @model_validator(mode="after")
    def _admin_key_required_in_production(self) -> Self:
        if self.environment is Environment.PRODUCTION and self.admin_api_key is None:
            raise ValueError("ADMIN_API_KEY must be set in production")
        return self
