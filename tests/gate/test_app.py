"""The gate's RSGI application driven directly, with a preloaded served set and no database.

Fake scope and protocol objects stand in for granian: the scope has ``path``, ``query_string`` and
``headers`` (lower-case names, ``.get()``), the protocol records what ``response_empty``,
``response_str`` and ``response_bytes`` were called with.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from urllib.parse import quote

import pytest

from beian.gate.app import Gate
from beian.gate.served import ServedSet

FILED = ["example.com", "xn--fsqu00a.xn--fiqs8s", "foo.gov.cn"]


class Scope:
    def __init__(self, path: str = "/check", query_string: str = "", headers: dict | None = None):
        self.path = path
        self.query_string = query_string
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.method = "GET"
        self.proto = "http"


class Proto:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.body: bytes = b""

    def _record(self, kind: str, status: int, headers, body: bytes) -> None:
        self.calls.append(kind)
        self.status, self.headers, self.body = status, list(headers), body

    def response_empty(self, status, headers):
        self._record("empty", status, headers, b"")

    def response_str(self, status, headers, body):
        assert isinstance(body, str)
        self._record("str", status, headers, body.encode())

    def response_bytes(self, status, headers, body):
        assert isinstance(body, bytes)
        self._record("bytes", status, headers, body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def json(self) -> dict:
        assert (self.header("content-type") or "").startswith("application/json")
        return json.loads(self.body)


def loaded_set(names=FILED, position: int = 42) -> ServedSet:
    served = ServedSet()
    served.replace(names, position)
    return served


def call(gate: Gate, path: str = "/check", query: str = "", **headers) -> Proto:
    proto = Proto()
    scope = Scope(path, query, {k.replace("_", "-"): v for k, v in headers.items()})
    asyncio.run(gate.__rsgi__(scope, proto))
    assert len(proto.calls) == 1, f"exactly one response expected, got {proto.calls}"
    return proto


def check(gate: Gate, **headers) -> int:
    proto = call(gate, **headers)
    assert proto.calls == ["empty"] and proto.body == b""
    return proto.status


@pytest.fixture
def gate() -> Gate:
    return Gate(loaded_set(), follow=False, fail_open=False)


# -- /check: the auth_request answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "EXAMPLE.COM",
        "example.com.",
        "example.com:8443",
        "www.example.com",
        "a.b.example.com",
        "xn--fsqu00a.xn--fiqs8s",
        "www.xn--fsqu00a.xn--fiqs8s",
        "foo.gov.cn",
    ],
)
def test_filed_domain_and_subdomains_are_served(gate, host):
    assert check(gate, x_original_host=host) == 204


@pytest.mark.parametrize(
    "host",
    [
        "example.net",
        "notexample.com",
        "example.com.evil.cn",
        "www.foo.gov.cn",  # a .gov.cn parent does not cover subdomains
        "com",
        "1.2.3.4",
        "1.2.3.4:80",
        "[::1]",
        "[2001:db8::1]:443",
        "a..b",
        "-a.com",
        "",
    ],
)
def test_unfiled_invalid_and_ip_literals_are_blocked(gate, host):
    assert check(gate, x_original_host=host) == 403


def test_no_host_at_all_is_blocked(gate):
    assert check(gate) == 403


def test_header_precedence(gate):
    # X-Original-Host (what beian-gate.conf sets) wins over X-Forwarded-Host, which wins over Host
    assert check(gate, x_original_host="example.com", x_forwarded_host="unfiled.cn", host="unfiled.cn") == 204
    assert (
        check(gate, x_original_host="unfiled.cn", x_forwarded_host="example.com", host="example.com") == 403
    )
    assert check(gate, x_forwarded_host="example.com", host="unfiled.cn") == 204
    assert check(gate, x_forwarded_host="unfiled.cn", host="example.com") == 403
    assert check(gate, host="www.example.com") == 204
    assert check(gate, host="unfiled.cn") == 403


def test_not_loaded_fails_closed():
    gate = Gate(ServedSet(), follow=False, fail_open=False)
    assert check(gate, x_original_host="example.com") == 403
    assert check(gate, x_original_host="anything.cn") == 403


def test_not_loaded_fail_open_serves_valid_names_only():
    gate = Gate(ServedSet(), follow=False, fail_open=True)
    assert check(gate, x_original_host="example.com") == 204
    assert check(gate, x_original_host="anything.cn") == 204
    assert check(gate, x_original_host="1.2.3.4") == 403  # an IP literal is never served


def test_fail_open_does_not_apply_once_loaded():
    gate = Gate(loaded_set(), follow=False, fail_open=True)
    assert check(gate, x_original_host="unfiled.cn") == 403
    assert check(gate, x_original_host="example.com") == 204


def test_fail_open_from_environment(monkeypatch):
    monkeypatch.setenv("BEIAN_GATE_FAIL_OPEN", "1")
    assert Gate(ServedSet(), follow=False).fail_open is True
    monkeypatch.setenv("BEIAN_GATE_FAIL_OPEN", "")
    assert Gate(ServedSet(), follow=False).fail_open is False


def test_decisions_follow_the_set(gate):
    assert check(gate, x_original_host="new-site.cn") == 403
    gate.served.apply([(43, "new-site.cn", "allow"), (44, "example.com", "deny")])
    assert check(gate, x_original_host="www.new-site.cn") == 204
    assert check(gate, x_original_host="www.example.com") == 403


def test_decisions_carry_the_version_of_the_set_they_were_made_on(gate):
    """beian-gate-lua.conf keeps a decision only while /version still names the set it was made on."""
    first = call(gate, x_original_host="example.com")
    version = first.header("x-beian-version")
    assert version is not None and 0 <= int(version) < 2**31  # nginx keeps it in a signed 32-bit flag
    assert call(gate, "/version").body.decode() == version
    gate.served.apply([(43, "example.com", "deny")])  # a cancellation approved
    second = call(gate, x_original_host="example.com")
    assert second.status == 403 and second.header("x-beian-version") != version
    assert call(gate, "/version").body.decode() == second.header("x-beian-version")
    gate.served.apply([(43, "example.com", "deny")])  # an entry already applied changes nothing
    assert call(gate, "/version").body.decode() == second.header("x-beian-version")


def test_a_restarted_gate_never_repeats_a_version():
    versions = {Gate(loaded_set(), follow=False).served.version for _ in range(20)}
    assert len(versions) == 20


def test_no_version_before_the_load():
    """A fail-closed answer must never be kept by nginx: it carries no version, and /version is 503."""
    gate = Gate(ServedSet(), follow=False, fail_open=False)
    assert call(gate, x_original_host="example.com").header("x-beian-version") is None
    assert call(gate, "/version").status == 503


def test_unknown_path_is_404(gate):
    proto = call(gate, "/nothing-here")
    assert proto.status == 404 and proto.json()["code"] == "not_found"


# -- /check?host=NAME: the explanation for humans --------------------------------------------------------------


def explain(gate: Gate, host: str) -> dict:
    proto = call(gate, "/check", "host=" + quote(host))
    body = proto.json()
    assert proto.status == (200 if body["served"] else 403) and proto.calls == ["str"]
    assert proto.header("cache-control") == "no-store"
    return body


def test_explain_served_subdomain(gate):
    body = explain(gate, "WWW.Example.com")
    assert body["served"] is True
    assert body["matched"] == "example.com"
    assert body["normalized"] == "www.example.com"
    assert body["host"] == "WWW.Example.com"
    assert body["position"] == 42
    assert "example.com" in body["reason"] and "covered by the filed domain" in body["reason"]
    assert body["lookup"] == "/api/v1/public/filings?q=example.com"


def test_explain_idn(gate):
    body = explain(gate, "www.例子.中国")
    assert body["served"] is True
    assert body["normalized"] == "www.xn--fsqu00a.xn--fiqs8s"
    assert body["matched"] == "xn--fsqu00a.xn--fiqs8s"
    assert body["host"] == "www.例子.中国"


def test_explain_unfiled(gate):
    body = explain(gate, "unfiled.cn")
    assert body["served"] is False and body["matched"] is None and body["lookup"] is None
    assert body["normalized"] == "unfiled.cn"
    assert "no active filing" in body["reason"]


def test_explain_gov_cn_subdomain(gate):
    body = explain(gate, "www.foo.gov.cn")
    assert body["served"] is False and body["matched"] is None
    assert explain(gate, "foo.gov.cn")["matched"] == "foo.gov.cn"


def test_explain_ip_literal(gate):
    body = explain(gate, "10.0.0.1")
    assert body["served"] is False and body["normalized"] is None and body["matched"] is None
    assert "IP" in body["reason"]


def test_explain_not_loaded():
    closed = explain(Gate(ServedSet(), follow=False, fail_open=False), "example.com")
    assert closed["served"] is False and "fail-closed" in closed["reason"]
    opened = explain(Gate(ServedSet(), follow=False, fail_open=True), "example.com")
    assert opened["served"] is True and opened["matched"] is None and "fail-open" in opened["reason"]


def test_explain_overlong_input_is_cut(gate):
    body = explain(gate, "a" * 5000 + ".com")
    assert len(body["host"]) == 300 and body["served"] is False


# -- /healthz -----------------------------------------------------------------------------------------------


def health(gate: Gate) -> tuple[int, dict]:
    proto = call(gate, "/healthz")
    return proto.status, proto.json()


def test_healthz_ok(gate):
    status, body = health(gate)
    assert status == 200
    assert body["status"] == "ok" and body["loaded"] is True and body["degraded"] is False
    assert body["position"] == 42 and body["size"] == 3
    assert 0 <= body["lag_seconds"] < 5
    assert body["fail_open"] is False


def test_healthz_loading():
    status, body = health(Gate(ServedSet(), follow=False, fail_open=True))
    assert status == 503
    assert body["status"] == "loading" and body["loaded"] is False
    assert body["size"] == 0 and body["position"] == 0 and body["lag_seconds"] is None
    assert body["fail_open"] is True


def test_healthz_degraded_reports_position_size_and_lag(gate):
    gate.served.synced_at = time.time() - 30
    gate.served.degraded = True
    status, body = health(gate)
    assert status == 503
    assert body["status"] == "degraded" and body["degraded"] is True and body["loaded"] is True
    assert body["position"] == 42 and body["size"] == 3
    assert 29 <= body["lag_seconds"] < 60
    # degraded still decides from the last known set (fail-static)
    assert check(gate, x_original_host="www.example.com") == 204
    assert check(gate, x_original_host="unfiled.cn") == 403


# -- /metrics -----------------------------------------------------------------------------------------------


def metrics(gate: Gate) -> dict[str, float]:
    proto = call(gate, "/metrics")
    assert proto.status == 200 and proto.calls == ["bytes"]
    assert (proto.header("content-type") or "").startswith("text/plain")
    values = {}
    for line in proto.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_count_decisions_by_result(gate):
    for host in ["example.com", "www.example.com", "unfiled.cn", "1.2.3.4", "a..b", "x.example.com"]:
        check(gate, x_original_host=host)
    explain(gate, "unfiled.cn")
    m = metrics(gate)
    assert m['beian_gate_decisions_total{result="served"}'] == 3
    assert m['beian_gate_decisions_total{result="blocked"}'] == 2
    assert m['beian_gate_decisions_total{result="invalid"}'] == 2
    assert m["beian_gate_domains"] == 3
    assert m["beian_gate_feed_position"] == 42
    assert m["beian_gate_degraded"] == 0
    assert m["beian_gate_reloads_total"] == 1
    assert 0 <= m["beian_gate_feed_lag_seconds"] < 5


def test_metrics_follow_the_set_and_state(gate):
    gate.served.apply([(50, "b.cn", "allow"), (51, "c.cn", "allow")])
    gate.served.degraded = True
    m = metrics(gate)
    assert m["beian_gate_domains"] == 5
    assert m["beian_gate_feed_position"] == 51
    assert m["beian_gate_feed_entries_applied_total"] == 2
    assert m["beian_gate_degraded"] == 1


def test_metrics_of_two_gates_are_their_own():
    a, b = Gate(loaded_set(["a.cn"]), follow=False), Gate(loaded_set(["b.cn", "c.cn"]), follow=False)
    check(a, x_original_host="a.cn")
    assert metrics(a)["beian_gate_domains"] == 1
    assert metrics(b)["beian_gate_domains"] == 2
    assert metrics(b)['beian_gate_decisions_total{result="served"}'] == 0


def test_metrics_before_load_have_no_lag():
    m = metrics(Gate(ServedSet(), follow=False))
    assert math.isnan(m["beian_gate_feed_lag_seconds"])
    assert m["beian_gate_domains"] == 0


def test_metrics_text_format(gate):
    proto = call(gate, "/metrics")
    text = proto.body.decode()
    assert "# TYPE beian_gate_decisions_total counter" in text
    assert "# TYPE beian_gate_domains gauge" in text
    assert re.search(r'^beian_gate_decisions_total\{result="blocked"\} ', text, re.M)
