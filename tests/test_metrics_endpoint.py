"""The embedded mode's one metrics endpoint, on its own port, covers the gateway and the three
services of the process; the public port does not serve it. The gateway counts what it forwards
under the template the owning service matched, and paths no service serves under one label."""

import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bp_common.testing import running
from bpctl.embedded import EmbeddedPlatform

from .conftest import free_port

KEY = "bp_admin_metrics-test"
AUTH = {"Authorization": f"Bearer {KEY}"}


async def test_one_metrics_port_covers_the_embedded_process(tmp_path: Path) -> None:
    port = free_port()
    embedded = EmbeddedPlatform(
        tmp_path, KEY, load_demo_data=False, gateway_options={"metrics_port": port}
    )
    async with running(embedded.gateway) as client:
        listed = await client.get("/v1/meetings", headers=AUTH)
        assert listed.status_code == 200
        ids = [str(uuid.uuid4()) for _ in range(3)]
        for meeting_id in ids:
            missing = await client.get(f"/v1/meetings/{meeting_id}", headers=AUTH)
            assert missing.status_code == 404
            assert "x-bp-route" not in missing.headers  # the service's word, for the gateway
        for path in ("/v1/meetings/a/b/c/d", "/v1/nowhere", f"/v1/nowhere/{ids[0]}"):
            assert (await client.get(path, headers=AUTH)).status_code == 404
        refused = await client.get(f"/v1/meetings/{ids[0]}")  # no key: never forwarded
        assert refused.status_code == 401
        assert (await client.get("/metrics", headers=AUTH)).status_code == 404
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    samples = [
        (sample.name, sample.labels)
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
    ]
    backlog = {labels["service"] for name, labels in samples if name == "bp_outbox_pending_rows"}
    assert backlog >= {"meetings", "plan", "indicators"}
    lag = {labels["group"] for name, labels in samples if name == "bp_consumer_lag_messages"}
    assert lag >= {"meetings", "plan", "indicators"}
    requests = [labels for name, labels in samples if name == "bp_http_requests_total"]
    answered = {"method": "GET", "status": "200"}
    assert {"service": "gateway", "route": "/v1/meetings"} | answered in requests
    assert {"service": "meetings", "route": "/v1/meetings"} | answered in requests
    gateway = {
        (labels["route"], labels["status"]) for labels in requests if labels["service"] == "gateway"
    }
    # Three ids, one series; unknown paths, one series; a refusal under the routing table's entry.
    assert ("/v1/meetings/{meeting_id}", "404") in gateway
    assert ("unmatched", "404") in gateway
    assert ("/v1/meetings/{path}", "401") in gateway
    assert not any(meeting_id in route for route, _ in gateway for meeting_id in ids)
    assert not any("nowhere" in route or route == "/v1/{path:path}" for route, _ in gateway)
