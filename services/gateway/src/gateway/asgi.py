"""An in-process transport to an ASGI app that streams both ways (httpx's own ASGITransport
waits for the whole answer, which a stream never finishes): the embedded mode's upstreams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

# How long a closed answer's app is given to notice the disconnect before it is cancelled.
_CLOSE_GRACE_S = 5.0


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": ("127.0.0.1", 0),
            "root_path": "",
        }
        body = request.stream.__aiter__()
        body_done = False
        closed = asyncio.Event()
        started = asyncio.Event()
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        start: dict[str, Any] = {}
        failure: list[BaseException] = []

        async def receive() -> Message:
            nonlocal body_done
            if body_done:
                await closed.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                body_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                started.set()
            elif message["type"] == "http.response.body":
                await chunks.put(message.get("body", b""))
                if not message.get("more_body", False):
                    await chunks.put(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                failure.append(exc)
                raise
            finally:
                started.set()
                await chunks.put(None)

        task = asyncio.create_task(run())
        await started.wait()
        if not start:
            with contextlib.suppress(BaseException):
                await task
            raise failure[0] if failure else RuntimeError("the app sent no answer")
        return httpx.Response(
            start["status"],
            headers=start.get("headers", []),
            stream=_Answer(chunks, task, closed),
            request=request,
        )


class _Answer(httpx.AsyncByteStream):
    def __init__(
        self, chunks: asyncio.Queue[bytes | None], task: asyncio.Task[None], closed: asyncio.Event
    ) -> None:
        self.chunks = chunks
        self.task = task
        self.closed = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self.chunks.get()) is not None:
            yield chunk
        if self.task.done() and not self.task.cancelled() and self.task.exception():
            raise httpx.ReadError(f"the app failed mid-answer: {self.task.exception()!r}")

    async def aclose(self) -> None:
        self.closed.set()  # the app sees the client go
        try:
            await asyncio.wait_for(asyncio.shield(self.task), _CLOSE_GRACE_S)
        except BaseException:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
