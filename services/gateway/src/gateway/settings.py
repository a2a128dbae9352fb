from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from bp_common.settings import Environment, ServiceSettings


class GatewaySettings(ServiceSettings):
    """The gateway reads ``ADMIN_API_KEY`` unprefixed (the contract names it so); the rest is
    ``GATEWAY_*``."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    service_name: str = "gateway"
    admin_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ADMIN_API_KEY", "GATEWAY_ADMIN_API_KEY")
    )
    meetings_url: str = "http://127.0.0.1:8001"
    plan_url: str = "http://127.0.0.1:8002"
    indicators_url: str = "http://127.0.0.1:8003"
    upstream_timeout_s: float = 10.0
    max_body_bytes: int = 32 * 1024 * 1024

    @model_validator(mode="after")
    def _admin_key_required_in_production(self) -> Self:
        if self.environment is Environment.PRODUCTION and self.admin_api_key is None:
            raise ValueError("ADMIN_API_KEY must be set in production")
        return self
