"""Which service owns which part of ``/v1``."""

from __future__ import annotations

import re
from enum import StrEnum

from bp_common.observability.metrics import UNMATCHED


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
    # A meeting's records by their own id (corrections and withdrawals).
    "agenda-items": Upstream.MEETINGS,
    "interventions": Upstream.MEETINGS,
    "decisions": Upstream.MEETINGS,
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
# What a service's route template looks like (``/v1/meetings/{meeting_id}/hold``).
_TEMPLATE = re.compile(r"/v1/[A-Za-z0-9._~{}:/-]{1,200}")
# Documents rendered on request (a meeting's summary, ``/v1/meetings/{id}/report``): seconds of
# layout for a large meeting, so their own timeout.
REPORT_ROUTES = frozenset({("meetings", "report")})


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


def metrics_route(path: str, upstream_template: str | None = None) -> str:
    """The route a proxied request counts under in the gateway's metrics: the template the
    owning service matched, when it names one in the part of ``/v1`` the path was routed by;
    otherwise (no answer, refused before forwarding) the routing table's entry,
    ``/v1/meetings/{path}``. Paths no service owns count as one label, so that no caller can
    make new time series."""
    route = _route(path)
    if route not in ROUTES:
        return UNMATCHED
    if upstream_template == UNMATCHED:
        return UNMATCHED
    if (
        upstream_template is not None
        and _TEMPLATE.fullmatch(upstream_template)
        and _route(upstream_template) == route
    ):
        return upstream_template
    return f"/v1/{route}" if path.rstrip("/") == f"/v1/{route}" else f"/v1/{route}/{{path}}"


def is_report(path: str) -> bool:
    """``/v1/meetings/<id>/report``: a collection, one record, a document rendered of it."""
    parts = path.split("/")
    return len(parts) == 5 and parts[1] == "v1" and (parts[2], parts[4]) in REPORT_ROUTES
