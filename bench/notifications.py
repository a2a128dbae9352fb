"""notifications-api's two figures, through the gateway of a running distributed stack:

- *event committed -> webhook received*: a meeting scheduled through the gateway, timed from
  its answer (the event is committed then) to a receiver on loopback (signature verified with
  the ``standardwebhooks`` library) getting the delivery; beside the bare Kafka round trip.
- *stream fan-out*: ``clients`` SSE clients (httpx-sse) connected through the gateway while a
  burst of ``events`` meetings is scheduled by 16 writers: every client must receive every event
  exactly once; latency from each write's answer to each client's receipt; notifications-api's
  memory before and at the end.

The harness parses every message of every client in this one process: on a 2-core machine its
own CPU is part of the fan-out's latency (the figures are an upper bound).

    uv run python -m bench.notifications [--deliveries 50] [--clients 20] [--events 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.load import summary
from bench.stack import ADMIN_KEY, REPO, Stack, peak_rss_mib, running_stack
from bp_common.observability.metrics import serving

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SCHEDULED = "meetings.meeting.scheduled.v1"


def receiving_stack(run_dir: Path, port_base: int) -> contextlib.AbstractAsyncContextManager[Stack]:
    """A benchmark stack whose notifications-api may deliver to the loopback receiver."""
    return running_stack(
        run_dir,
        port_base=port_base,
        NOTIFICATIONS_WEBHOOK_ALLOW_HTTP="true",
        NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE_ADDRESSES="true",
    )


WRITERS = 16


def meeting(number: int) -> dict[str, Any]:
    return {
        "title": f"Notifications bench meeting {number}",
        "kind": "thematic_meeting",
        "starts_on": "2022-05-10",
        "ends_on": "2022-05-11",
        "city": "Budapest",
        "country": "HU",
    }


async def schedule(client: httpx.AsyncClient, number: int) -> tuple[str, float]:
    """A meeting scheduled; its id and when the answer came (its event committed)."""
    response = await client.post("/v1/meetings", json=meeting(number), headers=ADMIN)
    answered = time.perf_counter()
    response.raise_for_status()
    return str(response.json()["id"]), answered


# -- event committed -> webhook received ------------------------------------------------------


@dataclass
class Receiver:
    secret: str = ""
    arrived: dict[str, float] = field(default_factory=dict)  # subject -> when
    waiting: dict[str, asyncio.Event] = field(default_factory=dict)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        at = time.perf_counter()
        event = Webhook(self.secret).verify(body, dict(request.headers))
        subject = str(event["subject"])
        self.arrived.setdefault(subject, at)
        self.waiting.setdefault(subject, asyncio.Event()).set()
        return Response(status_code=204)

    async def wait_for(self, subject: str, within_s: float = 30) -> float:
        await asyncio.wait_for(self.waiting.setdefault(subject, asyncio.Event()).wait(), within_s)
        return self.arrived[subject]


@contextlib.asynccontextmanager
async def receiving(port: int) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    async with serving(app, "127.0.0.1", port):
        yield receiver


async def webhook_latency(stack: Stack, deliveries: int, receiver_port: int) -> dict[str, Any]:
    async with (
        receiving(receiver_port) as receiver,
        httpx.AsyncClient(base_url=stack.url("gateway"), timeout=30) as client,
    ):
        endpoint = await client.post(
            "/v1/webhooks",
            json={"url": f"http://127.0.0.1:{receiver_port}/hook", "event_types": [SCHEDULED]},
            headers=ADMIN,
        )
        endpoint.raise_for_status()
        receiver.secret = endpoint.json()["secret"]
        latencies = []
        for number in range(deliveries + 5):
            subject, answered = await schedule(client, number)
            received = await receiver.wait_for(subject)
            if number >= 5:  # the first few warm the path (connections, caches)
                latencies.append((received - answered) * 1000)
        # Off before the fan-out: its deliveries would share the 2 cores with the stream.
        patched = await client.patch(
            f"/v1/webhooks/{endpoint.json()['id']}", json={"enabled": False}, headers=ADMIN
        )
        patched.raise_for_status()
    return summary(latencies) | {"deliveries": deliveries}


# -- stream fan-out ----------------------------------------------------------------------------


def rss_mib(stack: Stack, service: str) -> float:
    return round(
        max((p.memory_info().rss for p in stack.processes()[service]), default=0) / 2**20, 1
    )


async def clients_connected(stack: Stack) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{stack.url('notifications-api')}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "bp_stream_clients_connected":
                return float(sample.value)
    return 0.0


async def stream_fanout(stack: Stack, clients: int, events: int) -> dict[str, Any]:
    received: list[dict[str, float]] = [{} for _ in range(clients)]
    counts: list[Counter[str]] = [Counter() for _ in range(clients)]
    answered: dict[str, float] = {}
    rss_before = rss_mib(stack, "notifications-api")
    limits = httpx.Limits(max_connections=clients + WRITERS, max_keepalive_connections=clients)
    timeout = httpx.Timeout(30, read=120)

    async def listen(index: int, client: httpx.AsyncClient) -> None:
        async with aconnect_sse(
            client, "GET", "/v1/stream", params={"types": SCHEDULED}, headers=ADMIN
        ) as source:
            async for message in source.aiter_sse():
                if not message.data:
                    continue  # a heartbeat (httpx-sse yields an empty message for it)
                subject = json.loads(message.data)["subject"]
                received[index].setdefault(subject, time.perf_counter())
                counts[index][subject] += 1
                if len(received[index]) == events:
                    return

    async with httpx.AsyncClient(
        base_url=stack.url("gateway"), limits=limits, timeout=timeout
    ) as client:
        listeners = [asyncio.create_task(listen(i, client)) for i in range(clients)]
        deadline = time.monotonic() + 120
        while await clients_connected(stack) < clients:
            if time.monotonic() > deadline:
                raise RuntimeError("the stream clients did not all connect within 120 s")
            await asyncio.sleep(0.2)
        started = time.perf_counter()
        numbers = iter(range(events))

        async def write() -> None:
            for number in numbers:
                subject, at = await schedule(client, 100_000 + number)
                answered[subject] = at

        await asyncio.gather(*(write() for _ in range(WRITERS)))
        written_s = time.perf_counter() - started
        try:
            await asyncio.wait_for(asyncio.gather(*listeners), 600)
        finally:
            for task in listeners:
                task.cancel()
        delivered_s = time.perf_counter() - started
    complete = sum(1 for r in received if set(r) == set(answered))
    doubled = sum(n - 1 for c in counts for n in c.values() if n > 1)
    latencies = [at - answered[s] for r in received for s, at in r.items() if s in answered]
    return summary([v * 1000 for v in latencies]) | {
        "clients": clients,
        "events": events,
        "clients_with_every_event": complete,
        "messages_doubled": doubled,
        "burst_written_s": round(written_s, 1),
        "all_delivered_s": round(delivered_s, 1),
        "notifications_rss_mib_before": rss_before,
        "notifications_rss_mib_at_end": rss_mib(stack, "notifications-api"),
        "notifications_peak_rss_mib": round(
            peak_rss_mib(stack.processes()["notifications-api"]), 1
        ),
    }


async def notifications_figures(
    stack: Stack, *, deliveries: int, clients: int, events: int, receiver_port: int
) -> dict[str, Any]:
    return {
        "webhook_after_commit": await webhook_latency(stack, deliveries, receiver_port),
        "stream_fanout": await stream_fanout(stack, clients, events),
    }


def main() -> None:
    from bench.baselines import kafka_round_trips
    from bench.stack import PORT_BASE

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=50)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--port-base", type=int, default=PORT_BASE + 300)
    args = parser.parse_args()

    async def run() -> dict[str, Any]:
        run_dir = REPO / "var" / "bench" / f"notifications-{args.port_base}"
        async with receiving_stack(Path(run_dir), args.port_base) as stack:
            figures = await notifications_figures(
                stack,
                deliveries=args.deliveries,
                clients=args.clients,
                events=args.events,
                receiver_port=args.port_base + 50,
            )
        figures["kafka_round_trip"] = await kafka_round_trips(args.deliveries)
        return figures

    print(json.dumps(asyncio.run(run()) | {"cpus": psutil.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
