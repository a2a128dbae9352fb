"""The embedded mode's one metrics endpoint, on its own port, covers the gateway and the three
services of the process; the public port does not serve it."""

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
    assert {"service": "gateway", "route": "/v1/{path:path}"} | answered in requests
    assert {"service": "meetings", "route": "/v1/meetings"} | answered in requests
