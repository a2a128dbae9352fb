from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bp_common.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from bp_common.events.envelope import CloudEvent
from bp_common.events.outbox import service_outbox
from bp_common.pagination import Page, cursor_datetime, cursor_uuid, page_of, read_cursor
from bp_common.security import Identity, Role
from notifications_api.access import Listener, may_hear
from notifications_api.base import SERVICE_NAME, messaging
from notifications_api.event_log.models import structured
from notifications_api.patterns import check_patterns, matches_any
from notifications_api.settings import NotificationsSettings
from notifications_api.webhooks import events, repository
from notifications_api.webhooks.addresses import UnsafeAddress, UrlPolicy, check_form
from notifications_api.webhooks.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    DisabledReason,
    Endpoint,
)
from notifications_api.webhooks.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
)
from notifications_api.webhooks.signing import new_secret

PING_TYPE = "notifications.webhook.ping.v1"
RESPONSE_KEPT = 1024
# The service's outbox (the runtime's, as a module value: the dispatcher emits too). Its events
# come back through this service's own consumer into the log, so the endpoints have a history.
OUTBOX = service_outbox(messaging, SERVICE_NAME)


def listener_of(endpoint: Endpoint) -> Listener:
    return Listener(endpoint.owner, endpoint.owner_role, endpoint.organisation, endpoint.country)


def policy_of(settings: NotificationsSettings) -> UrlPolicy:
    return UrlPolicy(settings.webhook_allow_http, settings.webhook_allow_private_addresses)


def _pending(endpoint_id: uuid.UUID, event: CloudEvent, now: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "endpoint_id": endpoint_id,
        "event_id": event.id,
        "event_type": event.type,
        "payload": structured(event.to_json()),
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


async def queue_deliveries(session: AsyncSession, event: CloudEvent) -> None:
    """A pending delivery of ``event`` for each enabled endpoint that subscribed to its type and
    whose owner may hear it."""
    now = datetime.now(UTC)
    for endpoint in await repository.active_endpoints(session):
        if matches_any(endpoint.event_types, event.type) and may_hear(
            listener_of(endpoint), event.type, event.data
        ):
            await repository.add_delivery(session, _pending(endpoint.id, event, now))


# -- management ---------------------------------------------------------------------------------


def _manager(identity: Identity) -> None:
    if identity.role is Role.VIEWER:
        raise Forbidden("Viewer keys may use the stream only.", code="webhooks_not_for_viewers")
    if identity.role is Role.PARTNER and not identity.organisation:
        raise Forbidden("This partner key names no organisation.", code="no_organisation")
    if identity.role is Role.MEMBER and not identity.country:
        raise Forbidden("This member key names no country.", code="no_country")


def _may_manage(identity: Identity, endpoint: Endpoint) -> bool:
    if identity.role is Role.SECRETARIAT:
        return True
    if identity.role is Role.PARTNER:
        return endpoint.organisation == identity.organisation
    return identity.role is Role.MEMBER and endpoint.country == identity.country


async def _managed(session: AsyncSession, identity: Identity, endpoint_id: uuid.UUID) -> Endpoint:
    _manager(identity)
    endpoint = await repository.endpoint(session, endpoint_id)
    # Another organisation's endpoint is not found, rather than forbidden: its existence is
    # not this key's business.
    if endpoint is None or not _may_manage(identity, endpoint):
        raise NotFound("No such webhook endpoint.", code="endpoint_not_found")
    return endpoint


def _checked_url(url: str, settings: NotificationsSettings) -> str:
    try:
        return check_form(url, policy_of(settings))
    except UnsafeAddress as exc:
        raise InvalidInput(
            f"This URL cannot receive webhooks: {exc}.",
            code="unsafe_url",
            errors=[FieldError(loc=["body", "url"], code="unsafe_url", message=str(exc))],
        ) from exc


def endpoint_out(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut.model_validate(
        {
            **{c.key: getattr(endpoint, c.key) for c in Endpoint.__table__.columns},
            "enabled": endpoint.disabled_at is None,
        }
    )


def _with_secret(endpoint: Endpoint) -> EndpointWithSecret:
    return EndpointWithSecret(
        **endpoint_out(endpoint).model_dump(),
        secret=endpoint.secret,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )


async def create(
    session: AsyncSession, identity: Identity, body: EndpointIn, settings: NotificationsSettings
) -> EndpointWithSecret:
    _manager(identity)
    endpoint = Endpoint(
        id=uuid.uuid4(),
        url=_checked_url(body.url, settings),
        event_types=check_patterns(body.event_types, ["body", "event_types"]),
        description=body.description,
        owner=identity.principal,
        owner_role=identity.role,
        organisation=identity.organisation,
        country=identity.country,
        secret=new_secret(),
    )
    session.add(endpoint)
    await session.flush()
    await OUTBOX.emit(session, events.WebhookCreatedV1.of(endpoint))
    return _with_secret(endpoint)


async def list_endpoints(
    session: AsyncSession, identity: Identity, cursor: str | None, limit: int
) -> Page[EndpointOut]:
    _manager(identity)
    after = read_cursor(cursor, cursor_uuid)
    rows = await repository.endpoints(session, identity, after[0] if after else None, limit)
    return page_of(rows, limit, lambda e: [str(e.id)], endpoint_out)


async def get(session: AsyncSession, identity: Identity, endpoint_id: uuid.UUID) -> EndpointOut:
    return endpoint_out(await _managed(session, identity, endpoint_id))


async def update(
    session: AsyncSession,
    identity: Identity,
    endpoint_id: uuid.UUID,
    patch: EndpointPatch,
    settings: NotificationsSettings,
) -> EndpointOut:
    endpoint = await _managed(session, identity, endpoint_id)
    changed: list[str] = []
    if patch.url is not None and patch.url != endpoint.url:
        endpoint.url = _checked_url(patch.url, settings)
        changed.append("url")
    if patch.event_types is not None:
        event_types = check_patterns(patch.event_types, ["body", "event_types"])
        if event_types != endpoint.event_types:
            endpoint.event_types = event_types
            changed.append("event_types")
    if "description" in patch.model_fields_set and patch.description != endpoint.description:
        endpoint.description = patch.description
        changed.append("description")
    if patch.enabled is True and endpoint.disabled_at is not None:
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, None, None
        changed.append("enabled")
    await session.flush()
    if changed:
        await OUTBOX.emit(session, events.WebhookUpdatedV1.of(endpoint, changed=sorted(changed)))
    if patch.enabled is False and endpoint.disabled_at is None:
        await _disable(session, endpoint, DisabledReason.BY_OWNER, datetime.now(UTC))
    return endpoint_out(endpoint)


async def delete(session: AsyncSession, identity: Identity, endpoint_id: uuid.UUID) -> None:
    endpoint = await _managed(session, identity, endpoint_id)
    await OUTBOX.emit(session, events.WebhookDeletedV1.of(endpoint))
    await session.delete(endpoint)


async def rotate_secret(
    session: AsyncSession,
    identity: Identity,
    endpoint_id: uuid.UUID,
    settings: NotificationsSettings,
) -> EndpointWithSecret:
    endpoint = await _managed(session, identity, endpoint_id)
    if endpoint.disabled_at is not None:
        raise Conflict(
            "This endpoint is disabled: enable it before rotating its secret.",
            code="endpoint_disabled",
        )
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = datetime.now(UTC) + timedelta(
        seconds=settings.webhook_secret_overlap_s
    )
    endpoint.secret = new_secret()
    await session.flush()
    await OUTBOX.emit(
        session,
        events.WebhookSecretRotatedV1.of(
            endpoint, previous_secret_expires_at=endpoint.previous_secret_expires_at
        ),
    )
    return _with_secret(endpoint)


async def ping(session: AsyncSession, identity: Identity, endpoint_id: uuid.UUID) -> DeliveryOut:
    endpoint = await _managed(session, identity, endpoint_id)
    if endpoint.disabled_at is not None:
        raise Conflict("This endpoint is disabled.", code="endpoint_disabled")
    event = CloudEvent(
        type=PING_TYPE,
        source="/notifications",
        subject=str(endpoint.id),
        data={"endpoint_id": str(endpoint.id)},
        actor=identity.principal,
    )
    values = _pending(endpoint.id, event, datetime.now(UTC))
    await repository.add_delivery(session, values)
    delivery = await repository.delivery(session, values["id"])
    assert delivery is not None
    return _delivery_out(delivery, [])


def _delivery_out(delivery: Delivery, attempts: Sequence[Attempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=[AttemptOut.model_validate(a) for a in attempts],
        next_attempt_at=delivery.next_attempt_at,
        created_at=delivery.created_at,
        payload=dict(delivery.payload),
    )


async def list_deliveries(
    session: AsyncSession,
    identity: Identity,
    endpoint_id: uuid.UUID,
    status: DeliveryStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[DeliveryOut]:
    await _managed(session, identity, endpoint_id)
    after = read_cursor(cursor, cursor_datetime, cursor_uuid)
    rows = await repository.deliveries(session, endpoint_id, status, after, limit)
    attempts: dict[uuid.UUID, list[Attempt]] = {}
    for attempt in await repository.attempts_of(session, [d.id for d in rows[:limit]]):
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return page_of(
        rows,
        limit,
        lambda d: [d.created_at.isoformat(), str(d.id)],
        lambda d: _delivery_out(d, attempts.get(d.id, [])),
    )


async def redeliver(
    session: AsyncSession, identity: Identity, delivery_id: uuid.UUID
) -> DeliveryOut:
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None:
        raise NotFound("No such delivery.", code="delivery_not_found")
    endpoint = await _managed(session, identity, delivery.endpoint_id)
    if endpoint.disabled_at is not None:
        raise Conflict("This endpoint is disabled.", code="endpoint_disabled")
    # The same message again (same webhook-id): a receiver that had it dedupes.
    delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
    delivery.next_attempt_at = datetime.now(UTC)
    await session.flush()
    return _delivery_out(delivery, await repository.attempts_of(session, [delivery.id]))


# -- outcomes of attempts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: float
    response: str | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signing_secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    previous = endpoint.previous_secret
    expires = endpoint.previous_secret_expires_at
    return [endpoint.secret] + ([previous] if previous and expires and expires > now else [])


def next_delay(attempts: int, outcome: Outcome, settings: NotificationsSettings) -> float | None:
    """Seconds before the next attempt after ``attempts`` failed ones; None: give up."""
    schedule = settings.webhook_retry_schedule_s
    if attempts >= len(schedule):
        return None
    jitter = settings.webhook_retry_jitter
    delay = schedule[attempts] * random.uniform(1 - jitter, 1 + jitter)
    if outcome.retry_after_s is not None:
        delay = max(delay, outcome.retry_after_s)
    return delay


async def record_outcome(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    outcome: Outcome,
    now: datetime,
    settings: NotificationsSettings,
) -> None:
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None:  # its endpoint was deleted meanwhile
        return
    endpoint = await repository.endpoint(session, delivery.endpoint_id)
    assert endpoint is not None
    session.add(
        Attempt(
            delivery_id=delivery.id,
            at=now,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response=outcome.response,
            error=outcome.error,
        )
    )
    delivery.attempts += 1
    delivery.last_attempt_at = now
    if outcome.succeeded:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        endpoint.failing_since = None
        return
    endpoint.failing_since = endpoint.failing_since or now
    failing_for = (now - endpoint.failing_since).total_seconds()
    if outcome.status_code == 410:
        await _disable(session, endpoint, DisabledReason.GONE, now)
    elif failing_for >= settings.webhook_disable_after_s:
        await _disable(session, endpoint, DisabledReason.FAILING, now)
    delay = next_delay(delivery.attempts, outcome, settings)
    if delay is None or endpoint.disabled_at is not None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)


async def _disable(
    session: AsyncSession, endpoint: Endpoint, reason: DisabledReason, now: datetime
) -> None:
    if endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = now, reason
        await session.flush()
        await OUTBOX.emit(session, events.WebhookDisabledV1.of(endpoint, reason=reason))
