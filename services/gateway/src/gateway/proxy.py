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
from typing import Any, Protocol

import httpx
import orjson
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from bp_common.errors import DomainError, problem_response
from bp_common.middleware import REQUEST_ID_HEADER
from bp_common.observability import metrics, tracing
from bp_common.request_context import current_request_id
from bp_common.security import (
    IDENTITY_HEADER,
    Identity,
    IdentityAlgorithm,
    SigningKey,
    sign_identity,
)
from gateway.routing import Upstream, metrics_route
from gateway.upstream_http import Headers, UpstreamAnswer, UpstreamConnectionError

logger = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 7.6.1) and those the gateway sets itself; as ASGI gives them
# (lower case bytes). ``expect``: the gateway streams the body on anyway, and a 100 Continue from
# the service would be an answer before the answer.
_DROPPED_REQUEST_HEADERS = {
    name.encode()
    for name in (
        "host",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "authorization",
        IDENTITY_HEADER,
        REQUEST_ID_HEADER,
    )
}
_DROPPED_RESPONSE_HEADERS = {
    name.encode()
    for name in (
        "connection",
        "keep-alive",
        "transfer-encoding",
        "server",
        "date",
        REQUEST_ID_HEADER,
        metrics.ROUTE_HEADER,
    )
}
_ROUTE_HEADER = metrics.ROUTE_HEADER.encode()


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


class UpstreamClient(Protocol):
    """What the proxy needs from a client to one service: :class:`HttpUpstream` over the
    network, :class:`HttpxUpstream` around an httpx client (the embedded mode, tests)."""

    async def send(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: AsyncIterator[bytes] | None,
        *,
        first_byte_timeout_s: float,
        idle_timeout_s: float,
    ) -> UpstreamAnswer | HttpxAnswer: ...

    async def get(self, path: str) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class HttpxAnswer:
    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.status_code = answer.status_code
        self.raw_headers = answer.headers.raw

    def aiter_raw(self) -> AsyncIterator[bytes]:
        return self.answer.aiter_raw()

    async def aclose(self) -> None:
        await self.answer.aclose()


class HttpxUpstream:
    """An httpx client as an upstream: in-process transports (the embedded mode's services, the
    tests' stand-ins). Its errors are mapped to the ones :class:`HttpUpstream` raises."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: AsyncIterator[bytes] | None,
        *,
        first_byte_timeout_s: float,
        idle_timeout_s: float,
    ) -> HttpxAnswer:
        request = self.client.build_request(
            method,
            target,
            headers=headers,
            content=body,
            # The route's own timeouts, not the client's: an httpx client over the network
            # would otherwise cut a slow upload or report at the ordinary read timeout.
            timeout=httpx.Timeout(first_byte_timeout_s, connect=2.0, read=idle_timeout_s),
        )
        try:
            return HttpxAnswer(await self.client.send(request, stream=True))
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        except httpx.TransportError as exc:
            raise UpstreamConnectionError(repr(exc)) from exc

    async def get(self, path: str) -> tuple[int, bytes]:
        try:
            answer = await self.client.get(path)
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        except httpx.TransportError as exc:
            raise UpstreamConnectionError(repr(exc)) from exc
        return answer.status_code, answer.content

    async def aclose(self) -> None:
        await self.client.aclose()


class Upstreams:
    """One client per service: over the network, or in-process in the embedded mode."""

    def __init__(
        self,
        clients: dict[Upstream, UpstreamClient],
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
        scope = request.scope
        declared = None
        has_body = False
        headers: Headers = []
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
                has_body = True
            elif name == b"transfer-encoding":
                has_body = True
            if name not in _DROPPED_REQUEST_HEADERS:
                headers.append((name, value))
        if declared is not None and declared.isdigit() and int(declared) > policy.max_body_bytes:
            raise _too_large(policy.max_body_bytes)
        request_id = current_request_id() or ""
        signed = self.signed_identity(upstream, identity)
        headers += [
            (IDENTITY_HEADER.encode(), signed.encode()),
            (REQUEST_ID_HEADER.encode(), request_id.encode()),
        ]
        if tracing.enabled():  # the services' spans continue the gateway's trace
            traceparent, tracestate = tracing.current_trace_context()
            if traceparent:
                headers.append((b"traceparent", traceparent.encode()))
            if tracestate:
                headers.append((b"tracestate", tracestate.encode()))
        # The path and query exactly as the caller encoded them.
        target = scope.get("raw_path", b"").decode("latin-1") or request.url.path
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        body = _LimitedBody(request, policy.max_body_bytes)
        loop = asyncio.get_running_loop()
        deadline = None if policy.total_timeout_s is None else loop.time() + policy.total_timeout_s
        try:
            async with asyncio.timeout(policy.first_byte_timeout_s):
                answer = await self.clients[upstream].send(
                    request.method,
                    target,
                    headers,
                    body.chunks() if has_body else None,
                    first_byte_timeout_s=policy.first_byte_timeout_s,
                    idle_timeout_s=policy.idle_timeout_s,
                )
        except Exception as exc:
            if body.too_large:
                raise _too_large(policy.max_body_bytes) from exc
            if isinstance(exc, TimeoutError):
                logger.warning("upstream %s timed out", upstream.value)
                return problem_response(
                    504,
                    "upstream_timeout",
                    f"The {upstream.value} service did not answer in time.",
                    instance=request.url.path,
                )
            if isinstance(exc, UpstreamConnectionError):
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
        template = next(
            (
                value.decode("latin-1")
                for name, value in answer.raw_headers
                if name.lower() == _ROUTE_HEADER
            ),
            None,
        )
        request.scope.setdefault("state", {})[metrics.ROUTE_STATE_KEY] = metrics_route(
            request.url.path, template
        )
        response = _RelayedResponse(
            answer, _relay(answer, upstream, deadline, policy.idle_timeout_s)
        )
        # As the service sent them (repeated headers stay repeated), without the hop-by-hop ones.
        response.raw_headers = [
            (name, value)
            for name, value in answer.raw_headers
            if name.lower() not in _DROPPED_RESPONSE_HEADERS
        ]
        return response

    async def fetch_openapi(self, upstream: Upstream) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                status, body = await self.clients[upstream].get("/v1/openapi.json")
        except (UpstreamConnectionError, TimeoutError):
            return None
        if status != 200:
            return None
        document: dict[str, Any] = orjson.loads(body)
        return document

    async def ready(self, upstream: Upstream) -> bool:
        try:
            async with asyncio.timeout(self.timeout_s):
                status, _ = await self.clients[upstream].get("/readyz")
        except (UpstreamConnectionError, TimeoutError):
            return False
        return status == 200


class _RelayedResponse(StreamingResponse):
    """An answer relayed from a service; closed in every case, also when the caller is gone
    before its first byte (the relay, never started, would not close it)."""

    def __init__(self, answer: UpstreamAnswer | HttpxAnswer, chunks: AsyncIterator[bytes]):
        super().__init__(chunks, status_code=answer.status_code)
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.answer.aclose()


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
    answer: UpstreamAnswer | HttpxAnswer, upstream: Upstream, deadline: float | None, idle_s: float
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
