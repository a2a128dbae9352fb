"""The gateway's HTTP/1.1 client to the services over the network: a keep-alive pool per service,
the request written as it comes, the answer parsed by httptools (the C parser uvicorn uses) and
streamed with back-pressure.

Why not httpx: profiled, httpx/httpcore was about half of the gateway's CPU per request (its
pool scans every connection, with a ``poll`` per idle one, for each request; a dozen objects per
request). This client does only what the proxy needs: bytes in, bytes out, no URL or header
models. Timeouts are the caller's (``asyncio.timeout`` around :meth:`HttpUpstream.send` and each
chunk), except the connect timeout."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import httptools

Headers = list[tuple[bytes, bytes]]

# Read from the service at most this far ahead of the caller.
_READ_AHEAD_BYTES = 256 * 1024
# Methods that may be sent again on a fresh connection when a kept-alive one turns out closed
# before any answer: nothing of theirs has been applied (and they change nothing anyway).
_RETRIABLE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})
_STATUS_WITHOUT_BODY = frozenset({204, 304})


class UpstreamConnectionError(ConnectionError):
    """The service could not be reached, or its connection broke before the answer was whole."""


class _Connection(asyncio.Protocol):
    """One TCP connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.lost = False
        self.reusable = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._head: asyncio.Future[tuple[int, Headers]] | None = None
        self._headers: Headers = []
        self._interim = False
        self._until_close = False
        self._skip_body = False
        self.chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._reading_paused = False
        self.complete = False
        self.received = False
        self.arrived = asyncio.Event()
        self.error: BaseException | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports have the methods without the class.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.reusable = False
        self._writable.set()
        if self._until_close and not self.complete and self._head is not None:
            self.complete = self._head.done()  # no length: the answer ends with the connection
        if not self.complete:
            self._fail(UpstreamConnectionError(f"connection lost: {exc!r}"))
        self.arrived.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamConnectionError(f"malformed answer: {exc}"))
            self.close()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self._headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:  # 100 Continue and the like: the real answer follows
            self._interim = True
            return
        names = {name.lower() for name, _ in self._headers}
        self._until_close = (
            not self._skip_body
            and status not in _STATUS_WITHOUT_BODY
            and b"content-length" not in names
            and b"transfer-encoding" not in names
        )
        if self._head is not None and not self._head.done():
            self._head.set_result((status, self._headers))
        if self._skip_body:  # an answer to HEAD: its Content-Length announces no bytes here
            self.complete = True
            self.arrived.set()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self._buffered += len(body)
        self.arrived.set()
        if self._buffered > _READ_AHEAD_BYTES and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self.complete = True
        self.reusable = not self._skip_body and self.parser.should_keep_alive()
        self.arrived.set()

    # -- used by the pool and the answer
    def _fail(self, error: BaseException) -> None:
        self.error = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
            self._head.exception()  # retrieved by the waiter, or by nobody if it was cancelled
        self.arrived.set()

    def taken(self, method: bytes) -> None:
        self._head = asyncio.get_running_loop().create_future()
        self._skip_body = method == b"HEAD"
        self.complete = self.reusable = self.received = False
        self.error = None

    async def write(self, data: bytes) -> None:
        if self.lost or self.transport is None:
            raise self.error or UpstreamConnectionError("connection closed")
        self.transport.write(data)
        if not self._writable.is_set():
            await self._writable.wait()

    async def head(self) -> tuple[int, Headers]:
        assert self._head is not None
        return await self._head

    def take_chunk(self) -> bytes | None:
        if not self.chunks:
            return None
        chunk = self.chunks.popleft()
        self._buffered -= len(chunk)
        if self._reading_paused and self._buffered <= _READ_AHEAD_BYTES // 2 and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()
        return chunk

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class UpstreamAnswer:
    """An answer's status and headers, and its body as it arrives. Close it (:meth:`aclose`)
    whether read to the end or not: only a whole answer gives its connection back to the pool."""

    def __init__(self, pool: HttpUpstream, connection: _Connection, status: int, headers: Headers):
        self._pool = pool
        self._connection = connection
        self.status_code = status
        self.raw_headers = headers
        self._closed = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            chunk = connection.take_chunk()
            if chunk is not None:
                yield chunk
                continue
            if connection.complete:
                return
            if connection.error is not None:
                raise connection.error
            connection.arrived.clear()
            await connection.arrived.wait()

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_raw()])

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.give_back(self._connection)


class HttpUpstream:
    """A keep-alive pool of connections to one service (``http://host:port``): as many open as
    there are requests in flight, up to ``max_idle_connections`` kept between them. No cap on
    the open ones, on purpose: a slot taken by an answer that is never closed (a caller gone
    before its answer started) would never come back, and the gateway would stall."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float = 2.0,
        max_idle_connections: int = 50,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"an upstream is http://host:port, not {base_url!r}")
        self.host = url.hostname
        self.port = url.port or 80
        self._host_header = url.netloc.encode("idna")
        self.connect_timeout_s = connect_timeout_s
        self.max_idle_connections = max_idle_connections
        self._idle: list[_Connection] = []

    async def send(
        self,
        method: str,
        target: str,
        headers: Headers,
        body: AsyncIterator[bytes] | None,
        *,
        first_byte_timeout_s: float | None = None,
        idle_timeout_s: float | None = None,
    ) -> UpstreamAnswer:
        """Send the request (``target``: path and query as the caller encoded them; ``body``
        None for none, else its chunks: sent as they come, with the caller's Content-Length if
        ``headers`` has one, chunked otherwise) and wait for the answer's head. The timeouts
        are the caller's to enforce (``asyncio.timeout``), named here as the interface has them."""
        verb = method.encode("ascii")
        connection: _Connection | None = None
        try:
            connection = self._take_idle()
            reused = connection is not None
            if connection is None:
                connection = await self._connect()
            try:
                return await self._exchange(connection, verb, target, headers, body)
            except UpstreamConnectionError:
                # A kept-alive connection the service closed as it was taken: nothing was
                # answered, so a safe request is sent once more on a new connection.
                if not (reused and body is None and verb in _RETRIABLE_METHODS):
                    raise
                if connection.received:
                    raise
                connection.close()
                connection = await self._connect()
                return await self._exchange(connection, verb, target, headers, body)
        except BaseException:
            if connection is not None:
                connection.close()
            raise

    async def _exchange(
        self,
        connection: _Connection,
        verb: bytes,
        target: str,
        headers: Headers,
        body: AsyncIterator[bytes] | None,
    ) -> UpstreamAnswer:
        connection.taken(verb)
        lines = [verb, b" ", target.encode("latin-1"), b" HTTP/1.1\r\nhost: ", self._host_header]
        sized = False
        for name, value in headers:
            lines += (b"\r\n", name, b": ", value)
            sized = sized or name.lower() == b"content-length"
        chunked = body is not None and not sized
        if chunked:
            lines.append(b"\r\ntransfer-encoding: chunked")
        lines.append(b"\r\n\r\n")
        await connection.write(b"".join(lines))
        if body is not None:
            async for chunk in body:
                if not chunk:
                    continue
                if chunked:
                    await connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                else:
                    await connection.write(chunk)
            if chunked:
                await connection.write(b"0\r\n\r\n")
        status, answer_headers = await connection.head()
        return UpstreamAnswer(self, connection, status, answer_headers)

    async def get(self, path: str) -> tuple[int, bytes]:
        """A plain GET, read whole (readiness, the OpenAPI document)."""
        answer = await self.send("GET", path, [], None)
        try:
            return answer.status_code, await answer.aread()
        finally:
            await answer.aclose()

    def give_back(self, connection: _Connection) -> None:
        if (
            connection.complete
            and connection.reusable
            and not connection.lost
            and not connection.chunks
            and len(self._idle) < self.max_idle_connections
        ):
            self._idle.append(connection)
        else:
            connection.close()

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()  # the most recent: the least likely to have timed out
            if not connection.lost:
                return connection
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, connection = await loop.create_connection(_Connection, self.host, self.port)
        except OSError as exc:
            raise UpstreamConnectionError(f"cannot connect: {exc!r}") from exc
        return connection

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
