"""The service's own counts on its GET /metrics: webhook attempts by outcome and their latency,
the clients connected to the stream, the events streamed."""

from __future__ import annotations

from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families

from bp_common.testing import eventually

from .conftest import Api, Receiver, free_port, serve
from .test_stream import take

SERVICE = {"service": "notifications"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(api: Api) -> Samples:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted((SERVICE | labels).items()))), 0.0)


async def test_webhook_attempts_and_stream_clients_are_counted(api: Api) -> None:
    """The default registry is the process's: the test reads differences."""
    before = await scrape(api)
    ok, gone, port_ok, port_gone = Receiver(), Receiver(status=410), free_port(), free_port()
    unreachable = f"http://127.0.0.1:{free_port()}/hook"
    async with serve(ok.app(), port_ok), serve(gone.app(), port_gone):
        endpoints = [
            await api.endpoint(f"http://127.0.0.1:{port_ok}/hook"),
            await api.endpoint(f"http://127.0.0.1:{port_gone}/hook"),
            await api.endpoint(unreachable),
        ]
        ok.secrets, gone.secrets = [endpoints[0]["secret"]], [endpoints[1]["secret"]]
        headers = dict(api.VIEWER) | {"last-event-id": "0"}
        async with aconnect_sse(api.client, "GET", "/v1/stream", headers=headers) as source:
            messages = source.aiter_sse()
            await api.publish(api.meeting_event("m-metrics"))
            await take(messages, 1)
            connected = await scrape(api)

            async def attempted() -> bool:
                deliveries = [d for e in endpoints for d in await api.deliveries(e["id"])]
                return len(deliveries) == 3 and all(d["attempts"] for d in deliveries)

            await eventually(attempted)

    async def disconnected() -> bool:
        now = await scrape(api)
        return value(now, "bp_stream_clients_connected") == value(
            before, "bp_stream_clients_connected"
        )

    await eventually(disconnected)  # the server sees the client go a moment later
    after = await scrape(api)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert (
        value(connected, "bp_stream_clients_connected")
        - value(before, "bp_stream_clients_connected")
        == 1
    )
    assert grew("bp_stream_events_sent_total") >= 1
    assert grew("bp_webhook_delivery_attempts_total", outcome="succeeded") == 1
    assert grew("bp_webhook_delivery_attempts_total", outcome="rejected") == 1
    assert grew("bp_webhook_delivery_attempts_total", outcome="unreachable") >= 1
    assert grew("bp_webhook_delivery_duration_seconds_count") >= 3
    assert ("bp_webhook_deliveries_pending", (("service", "notifications"),)) in after
