"""The route label of the gateway's request metrics: the owning service's template, bounded
whatever the caller or an upstream sends."""

import httpx
import pytest
from prometheus_client import REGISTRY

from gateway.routing import ROUTES, metrics_route

from .conftest import AUTH


@pytest.mark.parametrize(
    ("path", "upstream_template", "label"),
    [
        (
            "/v1/meetings/3f2a/hold",
            "/v1/meetings/{meeting_id}/hold",
            "/v1/meetings/{meeting_id}/hold",
        ),
        ("/v1/calendar.ics", "/v1/calendar.ics", "/v1/calendar.ics"),
        # The upstream matched nothing: one label for every such path.
        ("/v1/meetings/a/b/c", "unmatched", "unmatched"),
        # No answer (refused before forwarding, upstream down): the routing table's entry.
        ("/v1/meetings", None, "/v1/meetings"),
        ("/v1/meetings/", None, "/v1/meetings"),
        ("/v1/meetings/3f2a", None, "/v1/meetings/{path}"),
        # An upstream naming a template outside the part of /v1 it was routed by, or not a
        # template at all, is not believed.
        ("/v1/meetings/3f2a", "/v1/plans/{plan_id}", "/v1/meetings/{path}"),
        ("/v1/meetings/3f2a", "/v1/meetings/3f2a?x=1", "/v1/meetings/{path}"),
        ("/v1/meetings/3f2a", "/v1/meetings/" + "a" * 300, "/v1/meetings/{path}"),
        # Paths no service owns.
        ("/v1/nowhere/3f2a", None, "unmatched"),
        ("/v1/nowhere/3f2a", "/v1/nowhere/{id}", "unmatched"),
        ("/elsewhere", None, "unmatched"),
    ],
)
def test_the_label(path: str, upstream_template: str | None, label: str) -> None:
    assert metrics_route(path, upstream_template) == label


def test_without_upstream_templates_the_labels_are_the_routing_table() -> None:
    labels = {
        metrics_route(f"/v1/{route}{rest}")
        for route in ROUTES
        for rest in ("", "/", "/x", "/x/y/z", "/0123456789abcdef")
    } | {metrics_route(f"/v1/{n}/x") for n in range(100)}
    assert len(labels) == 2 * len(ROUTES) + 1


def requests_counted(route: str, status: str) -> float:
    labels = {"service": "gateway", "method": "GET", "route": route, "status": status}
    return REGISTRY.get_sample_value("bp_http_requests_total", labels) or 0.0


async def test_requests_no_service_labelled_count_under_the_routing_table(
    gateway: httpx.AsyncClient,
) -> None:
    """The stand-in services name no template; plan-api is down (502)."""
    cases = [
        ("/v1/plans/3f2a", "/v1/plans/{path}", "502"),
        ("/v1/meetings/3f2a", "/v1/meetings/{path}", "200"),
        ("/v1/meetings", "/v1/meetings", "200"),
        ("/v1/nowhere/3f2a", "unmatched", "404"),
    ]
    before = {(route, status): requests_counted(route, status) for _, route, status in cases}
    for path, _, status in cases:
        assert (await gateway.get(path, headers=AUTH)).status_code == int(status), path
    for _, route, status in cases:
        assert requests_counted(route, status) - before[route, status] == 1, route
