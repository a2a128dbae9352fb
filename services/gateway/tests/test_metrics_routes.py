"""The route label of the gateway's request metrics: the owning service's template, bounded
whatever the caller or an upstream sends."""

import pytest

from gateway.routing import ROUTES, metrics_route


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
