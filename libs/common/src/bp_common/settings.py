"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bp_common.observability.tracing import TracingExporter
from bp_common.security import IdentityAlgorithm, VerificationKey, load_verification_key

# Development-only defaults. Anything but a development or test environment refuses them,
# so a production deployment can never run on a secret that is published in this repository.
DEV_IDENTITY_SECRET = "dev-identity-secret-change-me-32b"
# RFC 7518 3.2: an HS256 key at least as long as the hash.
MIN_IDENTITY_SECRET_BYTES = 32
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
    # The signed identity the gateway forwards (a JWT): HS256 with the shared identity_secret,
    # or EdDSA/RS256 where the gateway holds the private key and the services the public key
    # (PEM), so that a service cannot sign.
    identity_algorithm: IdentityAlgorithm = IdentityAlgorithm.HS256
    identity_secret: SecretStr = SecretStr(DEV_IDENTITY_SECRET)
    identity_public_key: str | None = None
    # Fault-test hooks (make chaos): the process exits abruptly at the named point after that many
    # occurrences. Refused outside development and test.
    crash_before_offset_commit_after: int | None = None
    crash_before_outbox_publish_after: int | None = None
    # The gateway and the embedded mode, whose main port is public, serve GET /metrics on this
    # port (GATEWAY_METRICS_PORT); None serves none. A service serves it on its own port.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    # OpenTelemetry traces: none (the default: nothing instrumented), console, or otlp (to
    # tracing_otlp_endpoint, else the OTEL_EXPORTER_OTLP_* variables); the share of traces kept
    # where no caller decided (a caller's traceparent flags are followed).
    tracing_exporter: TracingExporter = TracingExporter.NONE
    tracing_otlp_endpoint: str | None = None
    tracing_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
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

    @model_validator(mode="after")
    def _identity_key_usable(self) -> Self:
        """Refuse at start-up what would refuse every request later."""
        if self.identity_algorithm.is_asymmetric:
            self._check_identity_key()
        elif len(self.identity_secret.get_secret_value().encode()) < MIN_IDENTITY_SECRET_BYTES:
            raise ValueError(f"identity_secret must be at least {MIN_IDENTITY_SECRET_BYTES} bytes")
        return self

    def _check_identity_key(self) -> None:
        """Overridden by the gateway, which signs instead of verifying."""
        self.identity_verification_key()

    def identity_verification_key(self) -> VerificationKey:
        if not self.identity_algorithm.is_asymmetric:
            return self.identity_secret.get_secret_value()
        if not self.identity_public_key:
            raise ValueError(f"identity_public_key is required with {self.identity_algorithm}")
        return load_verification_key(self.identity_algorithm, self.identity_public_key)

    def _default_secrets(self) -> dict[str, str]:
        if self.identity_algorithm.is_asymmetric:
            return {}
        return {"identity_secret": DEV_IDENTITY_SECRET}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
