"""The gate's own HTTP/1.1 server: an asyncio protocol on uvloop with httptools (llhttp, uvicorn's parser).

It is the default front end of ``beian gate serve``; the decisions and answers are ``beian.gate.app.Gate``'s,
shared with the RSGI front end (``--server granian``). It exists because the gate's work per request is a
dictionary lookup: granian's own cost per request is most of the gate's (bench/gate_bench.py).

HTTP as nginx (``auth_request``, ``proxy_pass`` with keep-alive) and operators' tools use it:

- keep-alive (HTTP/1.1 by default, HTTP/1.0 with ``Connection: keep-alive``) and pipelining, answered in order;
- requests carry no body: one announced by ``Content-Length`` (other than 0) or ``Transfer-Encoding`` is
  refused with 413 and the connection closed (beian-gate.conf sends none: ``proxy_pass_request_body off``);
- a request head larger than ``max_head`` → 431, a malformed request → 400, both closing the connection;
- a connection idle for ``keepalive_timeout`` seconds is closed (longer than nginx's upstream keepalive
  timeout, 60 s, so nginx closes first), one that has not finished its request head in ``head_timeout`` gets
  408 and is closed;
- SIGTERM/SIGINT: stop listening, close idle connections, let the others finish the request in progress
  (at most ``grace`` seconds), stop the follower, exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from email.utils import formatdate

import httptools

from beian.gate.app import PLAIN, Gate, Headers, host_of

log = logging.getLogger("beian.gate")

# nginx forwards the client's headers (cookies too) to the auth request: 4 × 8k by default
MAX_HEAD = 64 * 1024
KEEPALIVE_TIMEOUT = 75.0
HEAD_TIMEOUT = 10.0
GRACE = 5.0

# The request headers the gate reads, by lower-case name.
_WANTED = {
    b"host": "host",
    b"x-original-host": "x-original-host",
    b"x-forwarded-host": "x-forwarded-host",
    b"content-length": "content-length",
    b"transfer-encoding": "transfer-encoding",
}
_REASONS = {
    200: b"OK",
    204: b"No Content",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    408: b"Request Timeout",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}
_KEEP_ALIVE_10 = b"connection: keep-alive\r\n"
_CLOSE = b"connection: close\r\n"
_NO_BODY_STATUSES = (204, 304)


class ListenError(Exception):
    """The address could not be bound (taken, or not this host's)."""


class _Stop(Exception):
    """Raised from a parser callback once the connection is closing: llhttp stops there (httptools hands it
    back as HttpParserCallbackError), so nothing after it in the read is parsed."""


def _head(status: int, headers: Headers, date: bytes, length: int | None) -> bytes:
    """The status line and headers, without the connection header and the blank line."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown")), date]
    lines += [b"%s: %s\r\n" % (k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if length is not None:
        lines.append(b"content-length: %d\r\n" % length)
    return b"".join(lines)


class Clock:
    """Monotonic seconds (for the timeouts) and the Date header, as of the last sweep or /check head made."""

    __slots__ = ("now", "second", "date")

    def __init__(self) -> None:
        self.now = 0.0
        self.second = -1
        self.date = b""
        self.update()

    def update(self) -> None:
        self.now = time.monotonic()
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.date = b"date: %s\r\n" % formatdate(now, usegmt=True).encode()


class GateServer:
    def __init__(
        self,
        gate: Gate,
        *,
        max_head: int = MAX_HEAD,
        keepalive_timeout: float = KEEPALIVE_TIMEOUT,
        head_timeout: float = HEAD_TIMEOUT,
        grace: float = GRACE,
        tick: float = 1.0,
    ) -> None:
        self.gate = gate
        self.max_head = max_head
        self.keepalive_timeout = keepalive_timeout
        self.head_timeout = head_timeout
        self.grace = grace
        self.tick = tick  # seconds between sweeps: the resolution of the timeouts
        self.clock = Clock()
        self.connections: set[GateProtocol] = set()
        self.stopping = False
        self.server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._stopped: asyncio.Event | None = None
        # /check answers as bytes, made again when the gate's headers list changes (each second, each set)
        self._check_for: Headers | None = None
        self._check_bytes: dict[int, bytes] = {}

    # -- answers -------------------------------------------------------------------------------------------
    def check_bytes(self, status: int, headers: Headers) -> bytes:
        """The head of a /check answer up to the connection header (cached while ``headers`` is the same)."""
        if headers is not self._check_for:
            self.clock.update()
            self._check_for, self._check_bytes = headers, {}
        head = self._check_bytes.get(status)
        if head is None:
            head = _head(status, headers, self.clock.date, None if status in _NO_BODY_STATUSES else 0)
            self._check_bytes[status] = head
        return head

    def error(self, status: int, message: str) -> bytes:
        body = message.encode()
        return _head(status, PLAIN, self.clock.date, len(body)) + _CLOSE + b"\r\n" + body

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self, host: str, port: int, *, sock: socket.socket | None = None, backlog: int = 2048):
        loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        if sock is not None:
            self.server = await loop.create_server(lambda: GateProtocol(self), sock=sock, backlog=backlog)
        else:
            try:
                self.server = await loop.create_server(
                    lambda: GateProtocol(self), host, port, backlog=backlog, reuse_address=True
                )
            except OSError as exc:
                raise ListenError(str(exc)) from exc
        self._sweeper = loop.call_later(self.tick, self._sweep)
        return self.server

    def _sweep(self) -> None:
        """Every tick: the clock, and the connections past their timeouts."""
        clock = self.clock
        clock.update()
        now = clock.now
        for conn in list(self.connections):
            if conn.closed_at is not None:
                # transport.close() waits for the write buffer to drain, without limit: a client that
                # pipelined and never reads would keep its socket and its answers until shutdown
                if now - conn.closed_at > self.head_timeout:
                    conn.transport.abort()
                continue
            if conn.in_request:
                if conn.in_head and now - conn.began > self.head_timeout:
                    conn.fail(408, "请求头未在时限内收完 / request head not received in time")
            elif now - conn.last > self.keepalive_timeout:
                conn.close()
        self._sweeper = asyncio.get_running_loop().call_later(self.tick, self._sweep)

    def shutdown(self) -> None:
        """Stop accepting; close idle connections now and the others after their current answer."""
        if self.stopping:
            return
        self.stopping = True
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            if not conn.in_request:
                conn.close()
        asyncio.get_running_loop().create_task(self._finish())

    async def _finish(self) -> None:
        deadline = time.monotonic() + self.grace
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.transport.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._stopped is not None:
            self._stopped.set()

    async def wait_stopped(self) -> None:
        assert self._stopped is not None
        await self._stopped.wait()


class GateProtocol(asyncio.Protocol):
    """One client connection."""

    __slots__ = (
        "server",
        "gate",
        "transport",
        "parser",
        "url",
        "headers",
        "in_request",
        "in_head",
        "head_bytes",
        "head_size",
        "completed",
        "closing",
        "last",
        "began",
        "closed_at",
    )

    def __init__(self, server: GateServer) -> None:
        self.server = server
        self.gate = server.gate
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[str, str] = {}
        self.in_request = False  # between the first byte of a request and its answer
        self.in_head = False  # before the end of its head
        self.head_bytes = self.head_size = 0
        self.completed = False
        self.closing = False
        self.last = self.began = server.clock.now
        self.closed_at: float | None = None  # when this side closed: the answers left must drain in time

    # -- transport events ------------------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections.add(self)
        if self.server.stopping:
            self.close()

    def connection_lost(self, exc) -> None:
        self.closing = True
        self.server.connections.discard(self)

    def pause_writing(self) -> None:
        # A client that pipelines without reading its answers: stop reading until it catches up.
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last = self.server.clock.now
        self.completed = False
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if self.closing:  # answered and closing (_Stop from a callback): the rest is not parsed
                return
            log.error("gate: error answering a request", exc_info=exc.__context__ or exc)
            self.fail(500, "网关内部错误 / internal error")
            return
        except httptools.HttpParserUpgrade:
            # Upgrade/CONNECT: the gate speaks nothing else. The request was answered; close after it.
            self.close()
            return
        except httptools.HttpParserError as exc:
            self.fail(400, f"请求格式错误 / bad request: {exc}")
            return
        if self.in_head:
            # A head still incomplete (the parser buffers a header until its end): count the reads it spans,
            # from the read after the one it began in if an answer came before it there. on_headers_complete
            # checks the exact size; this bounds the memory of a head that never ends (by one read at most).
            if not self.completed:
                self.head_bytes += len(data)
            if self.head_bytes > self.server.max_head:
                self.fail(431, "请求头过大 / request header fields too large")

    # -- parser callbacks ------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.in_request = self.in_head = True
        self.head_bytes = self.head_size = 0
        self.began = self.server.clock.now
        self.url = b""
        self.headers = {}

    def on_url(self, url: bytes) -> None:
        self.url += url  # may come in pieces when the request line is split across reads

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value)
        key = _WANTED.get(name.lower())
        if key is not None:
            self.headers[key] = value.decode("utf-8", "replace")

    def on_headers_complete(self) -> None:
        self.in_head = False
        if self.head_size + len(self.url) > self.server.max_head:  # a whole head that came in one read
            self.fail(431, "请求头过大 / request header fields too large")
            raise _Stop
        headers = self.headers
        length = headers.get("content-length")
        # (llhttp has checked Content-Length: digits only, one value)
        if "transfer-encoding" in headers or (length is not None and int(length) != 0):
            self.fail(413, "网关不接受请求体 / the gate takes no request body")
            raise _Stop

    def on_message_complete(self) -> None:
        if self.closing:
            raise _Stop
        self.in_request = False
        self.completed = True
        parser = self.parser
        keep_alive = parser.should_keep_alive() and not self.server.stopping
        if keep_alive:
            tail = _KEEP_ALIVE_10 + b"\r\n" if parser.get_http_version() == "1.0" else b"\r\n"
        else:
            tail = _CLOSE + b"\r\n"
        server = self.server
        if self.url == b"/check":  # the auth request: nothing to parse
            status, headers = self.gate.check(host_of(self.headers))
            self.transport.write(server.check_bytes(status, headers) + tail)
        else:
            try:
                url = httptools.parse_url(self.url)
            except httptools.HttpParserInvalidURLError:
                self.fail(400, "请求地址格式错误 / bad request target")
                raise _Stop from None
            path = (url.path or b"/").decode("utf-8", "replace")
            query = url.query.decode("utf-8", "replace") if url.query else ""
            status, headers, body = self.gate.respond(path, query, host_of(self.headers))
            if isinstance(body, str):
                body = body.encode()
            if path == "/check" and not query:
                head = server.check_bytes(status, headers)
                body = b""
            else:
                head = _head(status, headers, server.clock.date, len(body))
            if parser.get_method() == b"HEAD":
                body = b""
            self.transport.write(head + tail + body)
        if not keep_alive:
            self.close()
            raise _Stop

    # -- closing -----------------------------------------------------------------------------------------
    def fail(self, status: int, message: str) -> None:
        """Answer an error and close (the request stream cannot be trusted after it)."""
        if self.closing:
            return
        self.transport.write(self.server.error(status, message))
        self.close()

    def close(self) -> None:
        """Close once the answers written are sent (the sweep aborts a client that does not read them)."""
        self.closing = True
        if self.closed_at is None:
            self.closed_at = self.server.clock.now
        self.transport.close()


def serve(host: str, port: int, *, gate: Gate | None = None, backlog: int = 2048) -> None:
    """Run the gate until SIGTERM or SIGINT (``beian gate serve``)."""
    import uvloop

    gate = gate or Gate()

    async def main() -> None:
        server = GateServer(gate)
        await server.start(host, port, backlog=backlog)  # first: a taken port fails before any work
        gate.start()  # answers fail closed (or open) until the follower has loaded the set
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.shutdown)
        try:
            await server.wait_stopped()
        finally:
            gate.stop()

    uvloop.run(main())
