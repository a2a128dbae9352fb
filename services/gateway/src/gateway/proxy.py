"""Forwarding to the owning service, with the signed identity and the request id, and clear
problem+json answers (502/504) when a service is down or slow, never a hang."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import httpx
from fastapi import Request, Response

from bp_common.errors import DomainError, problem_response
from bp_common.middleware import REQUEST_ID_HEADER
from bp_common.request_context import current_request_id
from bp_common.security import (
    IDENTITY_HEADER,
    Identity,
    IdentityAlgorithm,
    SigningKey,
    sign_identity,
)
from gateway.routing import Upstream

logger = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 7.6.1) and those the gateway sets itself.
_DROPPED_REQUEST_HEADERS = {
    "host",
    "connection",
    "keep-alive",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "authorization",
    "content-length",
    IDENTITY_HEADER,
    REQUEST_ID_HEADER,
}
_DROPPED_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "server",
    "date",
    REQUEST_ID_HEADER,
}


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class Upstreams:
    """One HTTP client per service: over the network, or in-process in the embedded mode."""

    def __init__(
        self,
        clients: dict[Upstream, httpx.AsyncClient],
        identity_key: SigningKey,
        identity_algorithm: IdentityAlgorithm,
        timeout_s: float,
    ) -> None:
        self.clients = clients
        self.identity_key = identity_key
        self.identity_algorithm = identity_algorithm
        # Enforced here as well as in the clients: in-process transports ignore httpx timeouts.
        self.timeout_s = timeout_s

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    def signed_identity(self, upstream: Upstream, identity: Identity) -> str:
        """The caller's identity for ``upstream`` alone, its ``jti`` the request id."""
        return sign_identity(
            replace(identity, request_id=current_request_id()),
            self.identity_key,
            audience=upstream.service_name,
            algorithm=self.identity_algorithm,
        )

    async def forward(
        self, upstream: Upstream, request: Request, identity: Identity, body: bytes
    ) -> Response:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _DROPPED_REQUEST_HEADERS
        ]
        request_id = current_request_id() or ""
        signed = self.signed_identity(upstream, identity)
        headers += [(IDENTITY_HEADER, signed), (REQUEST_ID_HEADER, request_id)]
        client = self.clients[upstream]
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await client.request(
                    request.method,
                    # The path exactly as the caller encoded it.
                    request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
                    params=list(request.query_params.multi_items()),
                    headers=headers,
                    content=body,
                )
        except (httpx.TimeoutException, TimeoutError):
            logger.warning("upstream %s timed out", upstream.value)
            return problem_response(
                504,
                "upstream_timeout",
                f"The {upstream.value} service did not answer in time.",
                instance=request.url.path,
            )
        except httpx.TransportError as exc:
            logger.warning("upstream %s unreachable: %r", upstream.value, exc)
            return problem_response(
                502,
                "upstream_unavailable",
                f"The {upstream.value} service is unavailable.",
                instance=request.url.path,
                headers={"Retry-After": "2"},
            )
        response_headers = {
            name: value
            for name, value in answer.headers.items()
            if name.lower() not in _DROPPED_RESPONSE_HEADERS
        }
        return Response(answer.content, status_code=answer.status_code, headers=response_headers)

    async def fetch_openapi(self, upstream: Upstream) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await self.clients[upstream].get("/v1/openapi.json")
        except (httpx.HTTPError, TimeoutError):
            return None
        if answer.status_code != 200:
            return None
        document: dict[str, Any] = answer.json()
        return document

    async def ready(self, upstream: Upstream) -> bool:
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await self.clients[upstream].get("/readyz")
        except (httpx.HTTPError, TimeoutError):
            return False
        return answer.status_code == 200


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
