from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from bp_common.app import IdentityDep, SessionDep, runtime_of
from bp_common.pagination import DEFAULT_LIMIT, Limit, Page
from notifications_api.settings import NotificationsSettings
from notifications_api.webhooks import service
from notifications_api.webhooks.models import DeliveryStatus
from notifications_api.webhooks.schemas import (
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
deliveries_router = APIRouter(prefix="/v1/deliveries", tags=["webhooks"])


async def _settings(request: Request) -> NotificationsSettings:
    settings = runtime_of(request).settings
    assert isinstance(settings, NotificationsSettings)
    return settings


SettingsDep = Annotated[NotificationsSettings, Depends(_settings)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EndpointWithSecret)
async def create_endpoint(
    body: EndpointIn, session: SessionDep, identity: IdentityDep, settings: SettingsDep
) -> EndpointWithSecret:
    """A receiver of signed deliveries (Standard Webhooks). The answer holds its signing secret,
    shown this once. Secretariat keys, partner keys (for their organisation) and member keys
    (for their country) manage endpoints; viewer keys may use the stream only."""
    return await service.create(session, identity, body, settings)


@router.get("", response_model=Page[EndpointOut])
async def list_endpoints(
    session: SessionDep,
    identity: IdentityDep,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[EndpointOut]:
    return await service.list_endpoints(session, identity, cursor, limit)


@router.get("/{endpoint_id}", response_model=EndpointOut)
async def get_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> EndpointOut:
    return await service.get(session, identity, endpoint_id)


@router.patch("/{endpoint_id}", response_model=EndpointOut)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointPatch,
    session: SessionDep,
    identity: IdentityDep,
    settings: SettingsDep,
) -> EndpointOut:
    return await service.update(session, identity, endpoint_id, body, settings)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> Response:
    await service.delete(session, identity, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret)
async def rotate_secret(
    endpoint_id: uuid.UUID, session: SessionDep, identity: IdentityDep, settings: SettingsDep
) -> EndpointWithSecret:
    """A new signing secret (shown this once); the previous one keeps signing beside it for
    24 hours, so the receiver can switch without losing a delivery."""
    return await service.rotate_secret(session, identity, endpoint_id, settings)


@router.post(
    "/{endpoint_id}/ping", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut
)
async def ping(endpoint_id: uuid.UUID, session: SessionDep, identity: IdentityDep) -> DeliveryOut:
    """Queues a signed `notifications.webhook.ping.v1` delivery to the endpoint."""
    return await service.ping(session, identity, endpoint_id)


@router.get("/{endpoint_id}/deliveries", response_model=Page[DeliveryOut])
async def list_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    identity: IdentityDep,
    status: DeliveryStatus | None = None,
    cursor: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[DeliveryOut]:
    """The endpoint's deliveries, oldest first, each with its attempts (status, duration, the
    first KiB of the answer)."""
    return await service.list_deliveries(session, identity, endpoint_id, status, cursor, limit)


@deliveries_router.post(
    "/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut
)
async def redeliver(
    delivery_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> DeliveryOut:
    """Sends the delivery again, as the same message (same `webhook-id`)."""
    return await service.redeliver(session, identity, delivery_id)
