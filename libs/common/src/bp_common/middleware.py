"""Request-id middleware (pure ASGI, so it also wraps streaming and error responses): takes the
caller's id or makes one, exposes it to logs and events, returns it, logs one access line and,
given the service's name, counts the request in the metrics (and, behind the gateway, names the
route template it matched for the gateway's own metrics)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bp_common.observability.metrics import ROUTE_HEADER, observe_request, route_template
from bp_common.request_context import reset_actor, reset_request_id, set_actor, set_request_id

REQUEST_ID_HEADER = "x-request-id"
access_log = logging.getLogger("bp.access")
# Accept a caller's id only if it is short and harmless in logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    def __init__(
        self, app: ASGIApp, service: str | None = None, *, announce_route: bool = False
    ) -> None:
        self.app = app
        self.service = service
        self.announce_route = announce_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = set_request_id(request_id)
        # The identity dependency names the actor; it must not outlive this request.
        actor_token = set_actor(None)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                if self.announce_route:
                    template = route_template(scope).encode("latin-1", "replace")
                    headers.append((ROUTE_HEADER.encode(), template))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed_s = time.perf_counter() - started
            if self.service is not None:
                observe_request(self.service, scope, status, elapsed_s)
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed_s * 1000, 2),
                },
            )
            reset_actor(actor_token)
            reset_request_id(token)
