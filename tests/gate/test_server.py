"""The gate's own HTTP/1.1 server (beian.gate.server) over real sockets, with a preloaded set and no database.

The server runs on uvloop in a thread of the test process; clients are plain sockets, so that what goes on
the wire (pipelining, a request split across packets, oversized heads, bodies) is exactly what the test says.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass

import pytest
import uvloop

from beian.gate.app import Gate
from beian.gate.served import ServedSet
from beian.gate.server import MAX_HEAD, GateServer
from tests.gate.test_app import FILED, Proto, Scope, loaded_set

CRLF = b"\r\n"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    raw_head: bytes


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_in_pieces(self, data: bytes, cuts: list[int]) -> None:
        """Send ``data`` cut at these offsets, one packet each (a pause between, so reads do not merge)."""
        start = 0
        for cut in [*cuts, len(data)]:
            self.sock.sendall(data[start:cut])
            start = cut
            time.sleep(0.02)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def response(self, *, head_request: bool = False) -> Response:
        while CRLF + CRLF not in self.buffer:
            assert self._fill(), f"connection closed before a whole response: {self.buffer!r}"
        head, self.buffer = self.buffer.split(CRLF + CRLF, 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, _ = lines[0].split(" ", 2)
        assert version == "HTTP/1.1"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            assert name.lower() not in headers, f"duplicate header {name}"
            headers[name.lower()] = value.strip()
        length = 0 if head_request else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            assert self._fill(), "connection closed inside a body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(int(status), headers, body, head)

    def closed(self, timeout: float = 3) -> bool:
        """True when the server closes the connection (EOF) with nothing more sent."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self._fill():
                    return self.buffer == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return self.buffer == b""

    def close(self) -> None:
        self.sock.close()


@dataclass
class Running:
    server: GateServer
    port: int
    loop: asyncio.AbstractEventLoop

    def client(self) -> Client:
        return Client(self.port)

    def request(self, data: bytes, **kwargs) -> Response:
        client = self.client()
        try:
            client.send(data)
            return client.response(**kwargs)
        finally:
            client.close()

    def shutdown(self) -> None:
        self.loop.call_soon_threadsafe(self.server.shutdown)


@contextlib.contextmanager
def running(gate: Gate, **options):
    server = GateServer(gate, **options)
    loop = uvloop.new_event_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    started, stopped = threading.Event(), threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start("127.0.0.1", port, sock=sock))
        started.set()
        loop.run_until_complete(server.wait_stopped())
        stopped.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(5)
    try:
        yield Running(server, port, loop)
    finally:
        loop.call_soon_threadsafe(server.shutdown)
        thread.join(10)
        loop.close()


@pytest.fixture
def gate() -> Gate:
    return Gate(loaded_set(), follow=False, fail_open=False)


@pytest.fixture
def srv(gate):
    with running(gate) as r:
        yield r


def get(path: str = "/check", *, version: str = "1.1", **headers: str) -> bytes:
    lines = [f"GET {path} HTTP/{version}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- the answers: the gate's, as the RSGI front end gives them -------------------------------------------------


def test_check_serves_and_blocks(srv):
    ok = srv.request(get(x_original_host="www.example.com", host="gate"))
    assert ok.status == 204 and ok.body == b""
    assert "content-length" not in ok.headers  # a 204 has none
    assert ok.headers["x-accel-expires"].startswith("@")
    assert abs(int(ok.headers["x-accel-expires"][1:]) - time.time()) < 3
    assert ok.headers["x-beian-version"] == srv.request(get("/version")).body.decode()
    assert "date" in ok.headers
    blocked = srv.request(get(x_original_host="unfiled.cn"))
    assert blocked.status == 403 and blocked.headers["content-length"] == "0" and blocked.body == b""
    # X-Original-Host, then X-Forwarded-Host, then Host
    assert srv.request(get(x_forwarded_host="example.com", host="unfiled.cn")).status == 204
    assert srv.request(get(host="unfiled.cn")).status == 403
    assert srv.request(get(host="foo.gov.cn")).status == 204
    assert srv.request(get()).status == 403  # no host at all


def test_check_follows_the_set(srv, gate):
    first = srv.request(get(host="new-site.cn"))
    assert first.status == 403
    gate.served.apply([(43, "new-site.cn", "allow")])
    second = srv.request(get(host="www.new-site.cn"))
    assert second.status == 204
    assert second.headers["x-beian-version"] != first.headers["x-beian-version"]


def test_before_the_load_fails_closed_without_a_version():
    with running(Gate(ServedSet(), follow=False, fail_open=False)) as r:
        answer = r.request(get(host="example.com"))
        assert answer.status == 403 and "x-beian-version" not in answer.headers
        assert r.request(get("/version")).status == 503


def rsgi(gate: Gate, path: str, query: str, headers: dict) -> Proto:
    proto = Proto()
    asyncio.run(gate.__rsgi__(Scope(path, query, headers), proto))
    return proto


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/check", {"X-Original-Host": "www.example.com"}),
        ("/check", {"Host": "unfiled.cn"}),
        ("/check?host=www.example.com", {}),
        ("/check?host=" + "%E4%BE%8B%E5%AD%90.%E4%B8%AD%E5%9B%BD", {}),
        ("/check?host=10.0.0.1", {}),
        ("/version", {}),
        ("/nothing-here", {}),
    ],
)
def test_the_same_answers_as_the_rsgi_app(gate, srv, target, headers):
    path, _, query = target.partition("?")
    expected = rsgi(gate, path, query, headers)
    answer = srv.request(get(target, **headers))
    assert answer.status == expected.status
    assert answer.body == expected.body
    for name, value in expected.headers:
        assert answer.headers[name] == value, name


def test_healthz_and_metrics(srv):
    health = srv.request(get("/healthz"))
    assert health.status == 200 and json.loads(health.body)["status"] == "ok"
    assert health.headers["content-type"].startswith("application/json")
    srv.request(get(host="example.com"))
    srv.request(get(host="1.2.3.4"))
    metrics = srv.request(get("/metrics")).body.decode()
    assert 'beian_gate_decisions_total{result="served"} 1.0' in metrics
    assert 'beian_gate_decisions_total{result="invalid"} 1.0' in metrics
    assert f"beian_gate_domains {float(len(FILED))}" in metrics


def test_head_request_has_no_body(srv):
    client = srv.client()
    client.send(b"HEAD /check?host=example.com HTTP/1.1\r\n\r\n" + get("/check?host=example.com"))
    answer = client.response(head_request=True)
    full = client.response()  # the next answer follows the head at once: no body was sent
    assert answer.status == 200 and answer.body == b""
    assert full.status == 200 and json.loads(full.body)["matched"] == "example.com"
    assert answer.headers["content-length"] == str(len(full.body))


def test_absolute_form_target(srv):
    absolute = b"GET http://gate.local/check HTTP/1.1\r\nX-Original-Host: example.com\r\n\r\n"
    assert srv.request(absolute).status == 204
    assert srv.request(b"GET http://gate.local HTTP/1.1\r\n\r\n").status == 404  # no path: "/"


def test_an_error_in_the_gate_is_a_500_and_the_server_carries_on(srv, gate, monkeypatch):
    def broken(raw_host):
        raise RuntimeError("boom")

    monkeypatch.setattr(gate, "check", broken)
    client = srv.client()
    client.send(get(host="example.com") + get(host="example.com"))
    answer = client.response()
    assert answer.status == 500 and answer.headers["connection"] == "close"
    assert client.closed()
    monkeypatch.undo()
    assert srv.request(get(host="example.com")).status == 204


# -- connections: keep-alive, pipelining, split reads ------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(srv):
    client = srv.client()
    for host, status in [("example.com", 204), ("unfiled.cn", 403), ("www.example.com", 204)] * 3:
        client.send(get(x_original_host=host))
        answer = client.response()
        assert answer.status == status and "connection" not in answer.headers
    assert not client.closed(timeout=0.2)  # still open


def test_pipelined_requests_are_answered_in_order(srv):
    client = srv.client()
    hosts = ["example.com", "unfiled.cn", "1.2.3.4", "a.b.example.com", "www.foo.gov.cn", "foo.gov.cn"]
    client.send(b"".join(get(x_original_host=h) for h in hosts) + get("/version"))
    statuses = [client.response().status for _ in hosts]
    assert statuses == [204, 403, 403, 204, 403, 204]
    assert client.response().status == 200
    assert not client.closed(timeout=0.2)


@pytest.mark.parametrize(
    "cuts",
    [
        [3],  # inside the method
        [8],  # inside the path
        [20, 21],  # inside HTTP/1.1 and its CRLF
        [30, 40, 50],  # inside the header name and value
        [79],  # between the last header's CRLF and the blank line
        list(range(1, 81)),  # byte by byte
    ],
)
def test_a_request_split_across_packets(srv, cuts):
    request = get(x_original_host="www.example.com", x_padding="p" * 20)
    assert len(request) > 81
    client = srv.client()
    client.send_in_pieces(request, cuts)
    assert client.response().status == 204
    client.send_in_pieces(get(x_original_host="unfiled.cn"), [5, 25])  # and the connection goes on
    assert client.response().status == 403


def test_pipelined_requests_split_across_packets(srv):
    data = get(host="example.com") + get(host="unfiled.cn") + get(host="www.example.com")
    client = srv.client()
    client.send_in_pieces(data, [len(data) // 3 + 5, 2 * len(data) // 3 - 7])
    assert [client.response().status for _ in range(3)] == [204, 403, 204]


def test_connection_close_is_honoured(srv):
    client = srv.client()
    client.send(get(host="example.com", connection="close") + get(host="example.com"))
    answer = client.response()
    assert answer.status == 204 and answer.headers["connection"] == "close"
    assert client.closed()  # the second request is not answered


def test_http_1_0_closes_unless_keep_alive_is_asked(srv):
    client = srv.client()
    client.send(get(version="1.0", host="example.com"))
    answer = client.response()
    assert answer.status == 204 and answer.headers["connection"] == "close"
    assert client.closed()

    client = srv.client()
    for _ in range(2):
        client.send(get(version="1.0", host="example.com", connection="keep-alive"))
        answer = client.response()
        assert answer.status == 204 and answer.headers["connection"] == "keep-alive"
    assert not client.closed(timeout=0.2)


def test_an_upgrade_is_answered_then_closed(srv):
    client = srv.client()
    client.send(get(host="example.com", connection="upgrade", upgrade="websocket"))
    assert client.response().status == 204
    assert client.closed()


# -- refused requests ------------------------------------------------------------------------------------------


def refused(client: Client, status: int) -> Response:
    answer = client.response()
    assert answer.status == status, answer
    assert answer.headers["connection"] == "close"
    assert " / " in answer.body.decode("utf-8")  # bilingual
    assert client.closed()
    return answer


def test_a_body_is_refused(srv):
    client = srv.client()
    client.send(b"POST /check HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello")
    assert "no request body" in refused(client, 413).body.decode()


def test_a_chunked_body_is_refused(srv):
    client = srv.client()
    client.send(
        b"POST /check HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    refused(client, 413)


def test_a_body_announced_but_not_sent_is_refused_at_once(srv):
    client = srv.client()
    client.send(b"POST /check HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100000\r\n\r\n")
    refused(client, 413)


def test_content_length_zero_is_no_body(srv):
    client = srv.client()
    client.send(
        b"POST /check HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n"
        + b"POST /check HTTP/1.1\r\nHost: example.com\r\nContent-Length: 00\r\n\r\n"
        + get(host="unfiled.cn")
    )
    assert [client.response().status for _ in range(3)] == [204, 204, 403]


@pytest.mark.parametrize(
    "request_line",
    [
        b"BLAH /check HTTP/1.1",
        b"GET /check HTTP/9.9",
        b"GET  HTTP/1.1",
        b"GET /che ck HTTP/1.1",
        b"\x00\x01\x02",
    ],
)
def test_a_bad_request_line_is_400(srv, request_line):
    client = srv.client()
    client.send(request_line + b"\r\nHost: example.com\r\n\r\n")
    assert "bad request" in refused(client, 400).body.decode()


@pytest.mark.parametrize(
    "header",
    [b"Host example.com", b"Bad Name: x", b"Content-Length: abc", b"Content-Length: 1\r\nContent-Length: 2"],
)
def test_a_malformed_header_is_400(srv, header):
    client = srv.client()
    client.send(b"GET /check HTTP/1.1\r\n" + header + b"\r\n\r\n")
    refused(client, 400)


def test_a_bad_request_after_good_ones_answers_those_first(srv):
    client = srv.client()
    client.send(get(host="example.com") + b"BLAH\r\n\r\n")
    assert client.response().status == 204
    refused(client, 400)


def test_a_large_head_within_the_limit_is_served(srv):
    cookie = "c=" + "x" * (MAX_HEAD - 1000)  # nginx forwards the client's cookies to the auth request
    assert srv.request(get(x_original_host="example.com", cookie=cookie)).status == 204


def test_an_oversized_head_in_one_read_is_431(srv):
    client = srv.client()
    client.send(get(x_original_host="example.com", cookie="c=" + "x" * MAX_HEAD))
    assert "too large" in refused(client, 431).body.decode()


def test_an_oversized_head_over_many_reads_is_431(srv):
    client = srv.client()
    client.send(b"GET /check HTTP/1.1\r\nX-Original-Host: example.com\r\nCookie: ")
    # a header that never ends: refused once the head passes the limit, not buffered for ever (no more is sent
    # after the read that passes it: bytes left unread at the close would make the kernel reset the connection)
    for _ in range(MAX_HEAD // 4096 + 1):
        client.send(b"x" * 4096)
        time.sleep(0.005)
    refused(client, 431)


def test_an_oversized_url_is_431(srv):
    client = srv.client()
    client.send(b"GET /check?host=" + b"a" * MAX_HEAD + b" HTTP/1.1\r\n\r\n")
    refused(client, 431)


def test_many_small_pipelined_requests_are_not_an_oversized_head(srv):
    count = MAX_HEAD // 40 * 2
    client = srv.client()
    client.send(get(host="example.com") * count)
    assert all(client.response().status == 204 for _ in range(count))


# -- timeouts and shutdown -------------------------------------------------------------------------------------


def test_idle_connections_are_closed(gate):
    with running(gate, keepalive_timeout=0.3, tick=0.05) as r:
        client = r.client()
        client.send(get(host="example.com"))
        assert client.response().status == 204
        assert client.closed(timeout=3)


def test_a_client_that_never_reads_its_answers_is_dropped(gate):
    # Pipelined requests whose answers are never read: closing waits for them to drain, so the connection
    # (its socket and its buffered answers) must be aborted after a while, not kept until shutdown.
    with running(gate, keepalive_timeout=0.3, head_timeout=0.3, tick=0.05) as r:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", r.port))
        sock.settimeout(1)
        # until the server stops reading (its write buffer full), or drops us (reset)
        with contextlib.suppress(TimeoutError, ConnectionError):
            for _ in range(5000):
                sock.sendall(get(host="example.com") * 100)
        deadline = time.monotonic() + 5
        while r.server.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not r.server.connections
        sock.close()


def test_an_unfinished_head_times_out_with_408(gate):
    with running(gate, head_timeout=0.3, keepalive_timeout=60, tick=0.05) as r:
        client = r.client()
        client.send(b"GET /check HTTP/1.1\r\nHost: exa")
        assert "in time" in refused(client, 408).body.decode()


def test_shutdown_closes_idle_connections_and_finishes_requests_in_progress(gate):
    with running(gate, grace=5) as r:
        idle, busy, after = r.client(), r.client(), r.client()
        idle.send(get(host="example.com"))
        assert idle.response().status == 204
        busy.send(b"GET /check HTTP/1.1\r\nHost: exa")  # a request in progress
        time.sleep(0.1)
        r.shutdown()
        assert idle.closed()
        busy.send(b"mple.com\r\n\r\n")
        answer = busy.response()
        assert answer.status == 204 and answer.headers["connection"] == "close"
        assert busy.closed()
        with pytest.raises(OSError):  # no longer listening
            socket.create_connection(("127.0.0.1", r.port), timeout=1).close()
        after.close()
