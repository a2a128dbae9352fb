"""Forwarding to the owning service, with the signed identity and the request id, and clear
problem+json answers (502/504) when a service is down or slow, never a hang.

Bodies stream both ways: a request body is passed on as it arrives (counted against its route's
limit), an answer as the service sends it. An ordinary route's answer must start and end within
its total timeout; a stream has none, only an idle timeout between chunks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from bp_common.errors import DomainError, problem_response
from bp_common.middleware import REQUEST_ID_HEADER
from bp_common.observability import metrics
from bp_common.request_context import current_request_id
from bp_common.security import (
    IDENTITY_HEADER,
    Identity,
    IdentityAlgorithm,
    SigningKey,
    sign_identity,
)
from gateway.routing import Upstream, metrics_route

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
    IDENTITY_HEADER,
    REQUEST_ID_HEADER,
}
_DROPPED_RESPONSE_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "server",
    "date",
    REQUEST_ID_HEADER,
    metrics.ROUTE_HEADER,
}


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


@dataclass(frozen=True)
class RoutePolicy:
    """How much a route may receive and how long its answer may take."""

    max_body_bytes: int
    # The whole answer within this; None: a stream, which may last for ever.
    total_timeout_s: float | None
    # The longest silence while an answer streams.
    idle_timeout_s: float

    @property
    def first_byte_timeout_s(self) -> float:
        return self.total_timeout_s or self.idle_timeout_s


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
        self, upstream: Upstream, request: Request, identity: Identity, policy: RoutePolicy
    ) -> Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > policy.max_body_bytes:
            raise _too_large(policy.max_body_bytes)
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in _DROPPED_REQUEST_HEADERS
        ]
        request_id = current_request_id() or ""
        signed = self.signed_identity(upstream, identity)
        headers += [(IDENTITY_HEADER, signed), (REQUEST_ID_HEADER, request_id)]
        client = self.clients[upstream]
        body = _LimitedBody(request, policy.max_body_bytes)
        upstream_request = client.build_request(
            request.method,
            # The path exactly as the caller encoded it.
            request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            params=list(request.query_params.multi_items()),
            headers=headers,
            content=body.chunks(),
            # The route's own timeouts, not the client's (the ordinary routes'): over the
            # network a slow upload or report would otherwise be cut at the ordinary read timeout.
            timeout=httpx.Timeout(
                policy.first_byte_timeout_s, connect=2.0, read=policy.idle_timeout_s
            ),
        )
        loop = asyncio.get_running_loop()
        deadline = None if policy.total_timeout_s is None else loop.time() + policy.total_timeout_s
        try:
            # Enforced here as well as in the clients: in-process transports ignore httpx's.
            async with asyncio.timeout(policy.first_byte_timeout_s):
                answer = await client.send(upstream_request, stream=True)
        except Exception as exc:
            if body.too_large:
                raise _too_large(policy.max_body_bytes) from exc
            if isinstance(exc, httpx.TimeoutException | TimeoutError):
                logger.warning("upstream %s timed out", upstream.value)
                return problem_response(
                    504,
                    "upstream_timeout",
                    f"The {upstream.value} service did not answer in time.",
                    instance=request.url.path,
                )
            if isinstance(exc, httpx.TransportError):
                logger.warning("upstream %s unreachable: %r", upstream.value, exc)
                return problem_response(
                    502,
                    "upstream_unavailable",
                    f"The {upstream.value} service is unavailable.",
                    instance=request.url.path,
                    headers={"Retry-After": "2"},
                )
            raise
        # Counted under the template the service matched, not the gateway's catch-all route.
        request.scope.setdefault("state", {})[metrics.ROUTE_STATE_KEY] = metrics_route(
            request.url.path, answer.headers.get(metrics.ROUTE_HEADER)
        )
        response_headers = {
            name: value
            for name, value in answer.headers.items()
            if name.lower() not in _DROPPED_RESPONSE_HEADERS
        }
        return StreamingResponse(
            _relay(answer, upstream, deadline, policy.idle_timeout_s),
            status_code=answer.status_code,
            headers=response_headers,
        )

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


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.")


class _LimitedBody:
    """The caller's body as it arrives, cut off past the route's limit."""

    def __init__(self, request: Request, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.too_large = False

    async def chunks(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > self.limit:
                self.too_large = True
                raise _too_large(self.limit)
            yield chunk


async def _relay(
    answer: httpx.Response, upstream: Upstream, deadline: float | None, idle_s: float
) -> AsyncIterator[bytes]:
    """The answer's bytes as they come. Past the deadline, or silent for ``idle_s``, the answer
    is cut by an error, so the caller's connection is aborted rather than ended as if whole."""
    loop = asyncio.get_running_loop()
    chunks = answer.aiter_raw()
    try:
        while True:
            wait = idle_s if deadline is None else min(idle_s, deadline - loop.time())
            try:
                async with asyncio.timeout(max(wait, 0)):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                logger.warning("upstream %s: answer cut after a timeout", upstream.value)
                raise
            yield chunk
    finally:
        await answer.aclose()
