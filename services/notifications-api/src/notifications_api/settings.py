from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bp_common.settings import ServiceSettings

DAY_S = 86_400.0


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_")

    service_name: str = "notifications-api"
    database_url: str = "sqlite+aiosqlite:///var/notifications.db"

    # Delays before each attempt of a delivery (the first: at once); a delivery that failed
    # them all is given up. Each delay is spread by +-jitter (a fraction) so that a receiver
    # coming back is not hit by every endpoint's retries at once.
    webhook_retry_schedule_s: list[float] = Field(
        default=[0, 5, 300, 1800, 7200, 18000, 36000, 86400], min_length=1
    )
    webhook_retry_jitter: float = Field(default=0.1, ge=0, lt=1)
    webhook_timeout_s: float = 10.0
    # An endpoint that has failed without a single success for this long is disabled.
    webhook_disable_after_s: float = 3 * DAY_S
    # The previous secret keeps signing beside the new one for this long after a rotation.
    webhook_secret_overlap_s: float = DAY_S
    # How often the dispatcher looks for due deliveries when nothing woke it.
    webhook_dispatch_interval_s: float = 1.0
    webhook_dispatch_batch: int = Field(default=50, ge=1)
    # Development only: plain http URLs, and addresses on loopback, private or link-local
    # networks (the tests' receiver listens on loopback).
    webhook_allow_http: bool = False
    webhook_allow_private_addresses: bool = False

    # How long the stream's log keeps events (Last-Event-ID older than that: a `reset`).
    stream_retention_s: float = 7 * DAY_S
    # How often an open stream looks for newly stored events when nothing woke it.
    stream_poll_interval_s: float = 1.0
    # A comment line after this long without a message keeps idle connections (and the
    # gateway's idle timeout, 45 s) open.
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
