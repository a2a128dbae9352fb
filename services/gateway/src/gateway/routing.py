"""Which service owns which part of ``/v1``."""

from __future__ import annotations

from enum import StrEnum


class Upstream(StrEnum):
    MEETINGS = "meetings"
    PLAN = "plan"
    INDICATORS = "indicators"
    NOTIFICATIONS = "notifications"

    @property
    def service_name(self) -> str:
        """The audience of the identities forwarded to it: the name the service verifies them
        against (its settings' ``service_name``)."""
        return f"{self.value}-api"


ROUTES: dict[str, Upstream] = {
    "meetings": Upstream.MEETINGS,
    "calendar": Upstream.MEETINGS,
    "calendar.ics": Upstream.MEETINGS,
    "organisations": Upstream.MEETINGS,
    "plans": Upstream.PLAN,
    "activities": Upstream.PLAN,
    "hosting-offers": Upstream.PLAN,
    "amendments": Upstream.PLAN,
    "projects": Upstream.INDICATORS,
    "indicators": Upstream.INDICATORS,
    "results": Upstream.INDICATORS,
    "rollups": Upstream.INDICATORS,
    "event-metrics": Upstream.INDICATORS,
    "framework": Upstream.INDICATORS,
    # The dashboard's summary is a read model of indicators-api, fed by every service's events.
    "dashboard": Upstream.INDICATORS,
    "iati": Upstream.INDICATORS,
    "webhooks": Upstream.NOTIFICATIONS,
    "deliveries": Upstream.NOTIFICATIONS,
    "stream": Upstream.NOTIFICATIONS,
    "history": Upstream.NOTIFICATIONS,
}
# Answers that never end (Server-Sent Events): no total timeout, an idle one instead.
STREAMING_ROUTES = frozenset({"stream"})
# Large documents sent whole (IATI activity files): their own body limit and timeout.
UPLOAD_ROUTES = frozenset({"iati"})


def _route(path: str) -> str | None:
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[1] != "v1":
        return None
    return parts[2]


def upstream_for(path: str) -> Upstream | None:
    """``/v1/meetings/123/hold`` -> meetings; None if no service owns the path."""
    route = _route(path)
    return None if route is None else ROUTES.get(route)


def is_streaming(path: str) -> bool:
    return _route(path) in STREAMING_ROUTES


def is_upload(path: str) -> bool:
    return _route(path) in UPLOAD_ROUTES
