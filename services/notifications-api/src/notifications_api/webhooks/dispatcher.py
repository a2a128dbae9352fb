"""Sends the pending deliveries: leased in one short transaction, sent concurrently (none holds
a database transaction while it waits for a receiver), each outcome recorded in its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from bp_common.app import ServiceRuntime
from bp_common.db import Database
from bp_common.observability import metrics
from notifications_api.base import SERVICE_NAME
from notifications_api.event_log.handlers import EVENTS_STORED
from notifications_api.settings import NotificationsSettings
from notifications_api.webhooks import repository, service
from notifications_api.webhooks.addresses import Target, UnsafeAddress, resolve
from notifications_api.webhooks.models import Delivery, Endpoint
from notifications_api.webhooks.signing import signature_headers

logger = logging.getLogger(__name__)
CONTENT_TYPE = "application/cloudevents+json"
# Recorded as the outcome of a call refused before it was made (no status).
REFUSED_MS = 0.0
REFUSED = "refused: "
TIMED_OUT = "timed out: "


class Dispatcher:
    def __init__(self, database: Database, settings: NotificationsSettings) -> None:
        self.database = database
        self.settings = settings
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        database.on_commit_of(EVENTS_STORED, self.wake)

    @classmethod
    def of(cls, runtime: ServiceRuntime) -> Dispatcher:
        assert isinstance(runtime.settings, NotificationsSettings)
        return cls(runtime.database, runtime.settings)

    def wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        self._stopping.clear()
        # No redirect followed: the address guard checked this URL only.
        self._client = httpx.AsyncClient(
            follow_redirects=False, timeout=self.settings.webhook_timeout_s, trust_env=False
        )
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")
        metrics.register_refresher(self.refresh_metrics)

    async def stop(self) -> None:
        metrics.unregister_refresher(self.refresh_metrics)
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                sent = await self.dispatch_due()
            except Exception:
                logger.exception("webhook dispatcher: a round failed")
                sent = 0
            if sent < self.settings.webhook_dispatch_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wakeup.wait(), self.settings.webhook_dispatch_interval_s
                    )

    async def dispatch_due(self) -> int:
        """Send one batch of due deliveries; how many."""
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=self.settings.webhook_timeout_s * 3)
        async with self.database.transaction() as session:
            due = await repository.lease_due(
                session, now, lease, self.settings.webhook_dispatch_batch
            )
        await asyncio.gather(*(self._deliver(delivery, endpoint) for delivery, endpoint in due))
        return len(due)

    async def refresh_metrics(self) -> None:
        async with self.database.sessionmaker() as session:
            pending = await repository.pending_count(session)
        metrics.WEBHOOK_PENDING.labels(SERVICE_NAME).set(pending)

    async def _deliver(self, delivery: Delivery, endpoint: Endpoint) -> None:
        outcome = await self._attempt(delivery, endpoint)
        label = outcome_label(outcome)
        metrics.WEBHOOK_ATTEMPTS.labels(SERVICE_NAME, label).inc()
        if label != "refused":
            metrics.WEBHOOK_ATTEMPT_DURATION.labels(SERVICE_NAME).observe(
                outcome.duration_ms / 1000
            )
        async with self.database.transaction() as session:
            await service.record_outcome(
                session, delivery.id, outcome, datetime.now(UTC), self.settings
            )

    async def _attempt(self, delivery: Delivery, endpoint: Endpoint) -> service.Outcome:
        try:
            target = await resolve(endpoint.url, service.policy_of(self.settings))
        except UnsafeAddress as exc:
            return service.Outcome(None, REFUSED_MS, error=f"{REFUSED}{exc}"[:500])
        body = orjson.dumps(delivery.payload).decode()
        now = datetime.now(UTC)
        headers = {
            "content-type": CONTENT_TYPE,
            "user-agent": "budapest-process-webhooks/1",
            **signature_headers(
                str(delivery.id), body, service.signing_secrets(endpoint, now), now
            ),
        }
        assert self._client is not None
        started = time.perf_counter()
        try:
            response = await self._client.send(_pinned_request(self._client, target, headers, body))
        except httpx.TimeoutException as exc:
            return service.Outcome(None, _ms(started), error=f"{TIMED_OUT}{exc!r}"[:500])
        except httpx.HTTPError as exc:
            return service.Outcome(None, _ms(started), error=f"{exc!r}"[:500])
        return service.Outcome(
            response.status_code,
            _ms(started),
            response=response.text[: service.RESPONSE_KEPT],
            retry_after_s=_retry_after(response.headers.get("retry-after"), now),
        )


def outcome_label(outcome: service.Outcome) -> str:
    if outcome.succeeded:
        return "succeeded"
    if outcome.status_code is not None:
        return "rejected"
    error = outcome.error or ""
    if error.startswith(REFUSED):
        return "refused"
    return "timeout" if error.startswith(TIMED_OUT) else "unreachable"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _pinned_request(
    client: httpx.AsyncClient, target: Target, headers: dict[str, str], body: str
) -> httpx.Request:
    """The call goes to the address that was checked, naming the host in Host and TLS's SNI (so
    the certificate is verified against the host name)."""
    parts = urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    netloc = address + (f":{parts.port}" if parts.port else "")
    url = urlunsplit(parts._replace(netloc=netloc))
    host = parts.hostname or ""
    host_header = host + (f":{parts.port}" if parts.port else "")
    return client.build_request(
        "POST",
        url,
        content=body.encode(),
        headers={**headers, "host": host_header},
        extensions={"sni_hostname": host},
    )


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None
