from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from bp_common.app import SessionDep
from bp_common.errors import PROBLEM_RESPONSES, Forbidden, cross_field, refusals
from bp_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from bp_common.security import Identity, Role
from bp_common.types import QueryBool
from gateway.keys.schemas import ApiKeyCreate, ApiKeyOut, ApiKeyUpdate, IssuedApiKey
from gateway.keys.service import ApiKeyService
from gateway.settings import GatewaySettings

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=PROBLEM_RESPONSES)


async def key_service(request: Request, session: SessionDep) -> ApiKeyService:
    settings: GatewaySettings = request.app.state.settings
    admin = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
    return ApiKeyService(session, settings.api_key_pepper.get_secret_value(), admin)


ServiceDep = Annotated[ApiKeyService, Depends(key_service)]


async def secretariat(request: Request) -> Identity:
    identity: Identity = request.state.identity
    if identity.role is not Role.SECRETARIAT:
        raise Forbidden("Only the Secretariat manages API keys.", code="secretariat_only")
    return identity


SecretariatDep = Annotated[Identity, Depends(secretariat)]
# The key's `id` (a UUID), as the contract names it: `key_id` is the key's public prefix, and a
# client (or a fuzzer following links) would take one for the other.
KeyIdDep = Annotated[uuid.UUID, Path(alias="id")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedApiKey,
    responses=refusals(
        {
            422: cross_field(
                "a partner key without an organisation or a member key without a country",
                "an organisation on another key than a partner's",
                "a country on another key than a member's",
            )
        }
    ),
)
async def issue_api_key(body: ApiKeyCreate, service: ServiceDep, _: SecretariatDep) -> IssuedApiKey:
    """Issue a key bound to a role (and an organisation or a country). The secret is in this
    answer only."""
    return await service.issue(body)


@router.get("", response_model=Page[ApiKeyOut])
async def list_api_keys(
    service: ServiceDep,
    _: SecretariatDep,
    include_revoked: QueryBool = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Page[ApiKeyOut]:
    return await service.list(limit, cursor, include_revoked)


@router.get("/{id}", response_model=ApiKeyOut)
async def get_api_key(key: KeyIdDep, service: ServiceDep, _: SecretariatDep) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.get(key))


@router.patch("/{id}", response_model=ApiKeyOut)
async def update_api_key(
    key: KeyIdDep, body: ApiKeyUpdate, service: ServiceDep, _: SecretariatDep
) -> ApiKeyOut:
    """Change a key's rate limit (requests per minute; null: the gateway's default). The gateway
    applies it from the key's next request."""
    return ApiKeyOut.model_validate(await service.update(key, body))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key: KeyIdDep, service: ServiceDep, _: SecretariatDep) -> Response:
    """Revoke a key; its next request is refused."""
    await service.revoke(key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
