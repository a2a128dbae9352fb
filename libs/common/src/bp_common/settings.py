"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only defaults. Anything but a development or test environment refuses them,
# so a production deployment can never run on a secret that is published in this repository.
DEV_IDENTITY_SECRET = "dev-identity-secret-change-me"
DEV_API_KEY_PEPPER = "dev-api-key-pepper-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class BusKind(StrEnum):
    MEMORY = "memory"
    KAFKA = "kafka"


class ServiceSettings(BaseSettings):
    """Base of every service's settings. Subclasses set ``env_prefix`` (e.g. ``MEETINGS_``)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_nested_delimiter="__")

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = "service"
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    database_pool_size: int = 10
    bus: BusKind = BusKind.MEMORY
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Prepended to every topic and consumer group: lets test runs share one broker in isolation.
    kafka_namespace: str = ""
    kafka_request_timeout_s: float = 10.0
    # Defaults to the service's name; another name rebuilds the read models from offset 0
    # (replays) without disturbing the live group.
    consumer_group: str | None = None
    consumer_max_attempts: int = Field(default=3, ge=1)
    consumer_retry_backoff_s: float = 0.2
    # False leaves events in the outbox: for an instance rebuilding its read models into another
    # database, whose handlers must not announce again into the live topics what they rebuild.
    outbox_relay: bool = True
    outbox_batch_size: int = Field(default=200, ge=1)
    outbox_poll_interval_s: float = 1.0
    outbox_max_backoff_s: float = 10.0
    identity_secret: SecretStr = SecretStr(DEV_IDENTITY_SECRET)
    # Fault-test hooks (make chaos): the process exits abruptly at the named point after that many
    # occurrences. Refused outside development and test.
    crash_before_offset_commit_after: int | None = None
    crash_before_outbox_publish_after: int | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> Self:
        if self.environment is Environment.PRODUCTION:
            if self.crash_before_offset_commit_after or self.crash_before_outbox_publish_after:
                raise ValueError("fault-test crash hooks are refused in production")
            for name, default in self._default_secrets().items():
                if getattr(self, name).get_secret_value() == default:
                    raise ValueError(
                        f"{name} still has its development default; set a real secret "
                        f"for environment={self.environment.value}"
                    )
        return self

    def _default_secrets(self) -> dict[str, str]:
        return {"identity_secret": DEV_IDENTITY_SECRET}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
