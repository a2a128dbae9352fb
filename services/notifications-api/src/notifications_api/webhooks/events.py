"""Events about webhook endpoints on ``notifications.events``: the endpoints' history (who
created, changed, disabled them, rotated their secret). Private by ``access.PRIVATE_TYPE_PREFIXES``:
heard by the Secretariat and by whoever manages the endpoint (its owner, its organisation's
partner keys, its country's member keys), never by another organisation's webhooks. No secret
is ever in them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import Field

from bp_common.events.contract import Event, Examples
from notifications_api.webhooks.models import DisabledReason, Endpoint

TOPIC = "notifications.events"

ENDPOINT_EXAMPLE: dict[str, Any] = {
    "endpoint_id": "0b8f2d7e-4c1a-4e59-9d3b-6a7c8e9f0a1b",
    "url": "https://hooks.iom.example/budapest-process",
    "event_types": ["meetings.meeting.*", "plan.activity.hosted.v1"],
    "description": "IOM regional office",
    "enabled": True,
    "owner": "key-iom-integration",
    "organisation": "IOM",
    "country": None,
}


class EndpointV1(Event):
    """The endpoint as every webhook event carries it (without its secret)."""

    subject_field: ClassVar[str] = "endpoint_id"
    key_field: ClassVar[str] = "endpoint_id"

    endpoint_id: uuid.UUID
    url: str
    event_types: list[str] = Field(description="The types or patterns it receives.")
    description: str | None
    enabled: bool
    owner: str = Field(description="The principal (API key) that created it.")
    organisation: str | None = Field(description="The partner organisation that manages it.")
    country: str | None = Field(description="The member country that manages it.")

    @classmethod
    def of(cls, endpoint: Endpoint, **extra: Any) -> Self:
        return cls(
            endpoint_id=endpoint.id,
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            description=endpoint.description,
            enabled=endpoint.disabled_at is None,
            owner=endpoint.owner,
            organisation=endpoint.organisation,
            country=endpoint.country,
            **extra,
        )


class WebhookCreatedV1(EndpointV1):
    """A webhook endpoint was registered."""

    type: ClassVar[str] = "notifications.webhook.created.v1"
    examples: ClassVar[Examples] = (ENDPOINT_EXAMPLE,)


class WebhookUpdatedV1(EndpointV1):
    """An endpoint's URL, event types or description changed, or its owner enabled it again."""

    type: ClassVar[str] = "notifications.webhook.updated.v1"
    examples: ClassVar[Examples] = ({**ENDPOINT_EXAMPLE, "changed": ["event_types", "url"]},)

    changed: list[str] = Field(description="The fields that changed.")


class WebhookDisabledV1(EndpointV1):
    """An endpoint stopped receiving: disabled by its owner, or by the platform because the
    receiver answered 410 Gone or had failed for the configured period (3 days)."""

    type: ClassVar[str] = "notifications.webhook.disabled.v1"
    examples: ClassVar[Examples] = (
        {**ENDPOINT_EXAMPLE, "enabled": False, "reason": "failing"},
        {**ENDPOINT_EXAMPLE, "enabled": False, "reason": "by_owner"},
    )

    reason: DisabledReason


class WebhookSecretRotatedV1(EndpointV1):
    """An endpoint's signing secret was replaced; the previous one signs beside it until
    ``previous_secret_expires_at``."""

    type: ClassVar[str] = "notifications.webhook.secret_rotated.v1"
    examples: ClassVar[Examples] = (
        {**ENDPOINT_EXAMPLE, "previous_secret_expires_at": "2026-12-02T09:00:00Z"},
    )

    previous_secret_expires_at: datetime


class WebhookDeletedV1(EndpointV1):
    """An endpoint was deleted with its deliveries."""

    type: ClassVar[str] = "notifications.webhook.deleted.v1"
    examples: ClassVar[Examples] = (ENDPOINT_EXAMPLE,)


EVENTS = (
    WebhookCreatedV1,
    WebhookUpdatedV1,
    WebhookDisabledV1,
    WebhookSecretRotatedV1,
    WebhookDeletedV1,
)
