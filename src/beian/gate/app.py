"""The gate's decisions and answers, and its RSGI front end for granian; no framework on the request path.

nginx asks ``GET /check`` (``auth_request``) with the original host in ``X-Original-Host`` (or
``X-Forwarded-Host``, or ``Host``): 204 serve, 403 block. ``GET /check?host=NAME`` answers JSON for humans.
``/healthz`` reports the feed position, lag and set size (503 while not loaded or degraded); ``/version`` a
tag of the set's contents (polled by nginx in ``docs/nginx/beian-gate-lua.conf``);
``/metrics`` exports Prometheus metrics.

``Gate`` is the one decision core: ``check()`` answers the auth request, ``respond()`` every other request.
Two front ends speak HTTP for it: ``beian.gate.server`` (asyncio + uvloop + httptools, the default of
``beian gate serve``) and this module's ``__rsgi__`` under granian (``--server granian``).

Start-up (``start()``, granian's ``__rsgi_init__``) sets Django up for the database settings only and starts
the follower thread that loads the set and follows the feed; requests read the in-memory set and nothing else.
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import parse_qs

from beian.gate.served import ServedSet, normalize_host

JSON = [("content-type", "application/json; charset=utf-8"), ("cache-control", "no-store")]
PLAIN = [("content-type", "text/plain; charset=utf-8"), ("cache-control", "no-store")]
MEMO_SIZE = 200_000  # remembered Host values (client-controlled: bounded)

Headers = list[tuple[str, str]]


def host_of(headers) -> str | None:
    """The host nginx asks about: X-Original-Host (beian-gate.conf sets it), else X-Forwarded-Host, else Host.
    ``headers`` maps lower-case names to values (``.get``)."""
    return headers.get("x-original-host") or headers.get("x-forwarded-host") or headers.get("host")


class Counters:
    __slots__ = ("served", "blocked", "invalid")

    def __init__(self) -> None:
        self.served = self.blocked = self.invalid = 0


class Gate:
    def __init__(
        self, served: ServedSet | None = None, *, fail_open: bool | None = None, follow: bool = True
    ) -> None:
        self.served = served or ServedSet()
        self.fail_open = (
            fail_open
            if fail_open is not None
            else os.environ.get("BEIAN_GATE_FAIL_OPEN", "") in {"1", "true", "yes"}
        )
        self.follow = follow
        self.counters = Counters()
        self.follower = None
        self._memo: dict[str | None, tuple[bool, str | None, str | None]] = {}
        self._memo_generation = -1
        self._version: str | None = None  # of the set the remembered decisions were made on; None: not loaded
        self._check_second = -1
        self._check_version: str | None = None
        self._check_headers: Headers = []
        self.stale_after = float(os.environ.get("BEIAN_GATE_STALE_AFTER", "5"))  # seconds without a sync

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Set Django up (database settings only) and start the follower that loads and follows the set."""
        if not self.follow or self.follower is not None:
            return
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
        import django

        django.setup()
        from beian.gate.follower import Follower

        interval = float(os.environ.get("BEIAN_GATE_POLL_INTERVAL", "0.1"))
        self.follower = Follower(self.served, poll_interval=interval)
        self.follower.start()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop.set()

    def __rsgi_init__(self, loop) -> None:
        self.start()

    def __rsgi_del__(self, loop) -> None:
        self.stop()

    # -- decisions -------------------------------------------------------------------------------------
    def decide(self, raw_host: str | None) -> tuple[bool, str | None, str | None]:
        """(serve?, normalised host, matched filing name), remembered per raw Host value until the set changes."""
        served = self.served
        if self._memo_generation != served.generation or not served.loaded:
            # A new dict, not clear(): a request that began on the old set writes into the discarded one.
            self._memo, self._memo_generation = {}, served.generation
            # the X-Beian-Version of every answer until the next change (none before the load)
            self._version = str(served.version) if served.loaded else None
        memo = self._memo
        answer = memo.get(raw_host)
        if answer is None:
            answer = self._decide(raw_host)
            if len(memo) < MEMO_SIZE and served.loaded:
                memo[raw_host] = answer
        ok, host, _ = answer
        if host is None:
            self.counters.invalid += 1
        elif ok:
            self.counters.served += 1
        else:
            self.counters.blocked += 1
        return answer

    def _decide(self, raw_host: str | None) -> tuple[bool, str | None, str | None]:
        host = normalize_host(raw_host)
        if host is None:
            return False, None, None
        if not self.served.loaded:
            return self.fail_open, host, None
        matched = self.served.match(host)
        return matched is not None, host, matched

    # -- answers (shared by both front ends) -------------------------------------------------------------
    def check(self, raw_host: str | None) -> tuple[int, Headers]:
        """The auth_request answer: (204 or 403, headers), no body. The headers list is shared by every answer
        in the same second on the same set (front ends may cache what they make of it by identity)."""
        ok = self.decide(raw_host)[0]
        now = int(time.time())
        if now != self._check_second or self._check_version is not self._version:
            # nginx's proxy_cache_valid counts whole seconds (an entry lives 1-2 s); an absolute expiry at the
            # current second keeps a cached decision about a second old at most (measured 0.6-1.0 s, bench).
            headers = [("x-accel-expires", f"@{now}")]
            if self._version is not None:
                # The version of the set the decision was made on: beian-gate-lua.conf keeps a decision only
                # while the version holds (none before the load: a fail-closed answer is never kept).
                headers.append(("x-beian-version", self._version))
            self._check_second, self._check_version, self._check_headers = now, self._version, headers
        return (204 if ok else 403), self._check_headers

    def respond(self, path: str, query: str, raw_host: str | None = None) -> tuple[int, Headers, str | bytes]:
        """(status, headers, body) of any request; ``query`` is the raw query string (percent-encoded). The
        body is text (UTF-8 on the wire) or bytes."""
        if path == "/check":
            if query:
                return self._explain(query)
            status, headers = self.check(raw_host)
            return status, headers, b""
        if path == "/version":
            # Polled by beian-gate-lua.conf every 100 ms: any change of the served set changes it.
            if self.served.loaded:
                return 200, PLAIN, str(self.served.version)
            return 503, PLAIN, "loading"
        if path == "/healthz":
            return self._health()
        if path == "/metrics":
            return self._metrics()
        return 404, JSON, '{"code": "not_found"}'

    def _explain(self, query_string: str) -> tuple[int, Headers, str]:
        query = parse_qs(query_string)
        raw = (query.get("host") or [""])[0][:300]
        ok, host, matched = self.decide(raw)
        if host is None:
            reason = "IP 地址或格式不正确的主机名一律拦截 / IP literals and malformed host names are blocked"
        elif not self.served.loaded:
            reason = "网关尚未加载备案数据 / the gate has not loaded the filings yet" + (
                " (fail-open)" if self.fail_open else " (fail-closed)"
            )
        elif ok:
            reason = f"由已备案域名 {matched} 覆盖（本服务商接入）/ covered by the filed domain {matched}, served here"
        else:
            reason = "该主机及其上级域名均无本服务商接入的有效备案 / no active filing served here covers this host or a parent domain"
        body = {
            "host": raw,
            "normalized": host,
            "served": ok,
            "matched": matched,
            "reason": reason,
            "lookup": f"/api/v1/public/filings?q={matched}" if matched else None,
            "position": self.served.position,
        }
        # 403 for a blocked host even here: an operator who points auth_request at /check?host=… by mistake
        # still blocks what should be blocked (nginx treats any 2xx as "allow").
        return 200 if ok else 403, JSON, json.dumps(body, ensure_ascii=False)

    def _health(self) -> tuple[int, Headers, str]:
        s = self.served
        lag = s.lag()
        # A follower stuck in a hung database call raises nothing: judge by how long ago it last synced too.
        stale = lag is not None and lag > self.stale_after
        status = "loading" if not s.loaded else ("degraded" if s.degraded or stale else "ok")
        body = {
            "status": status,
            "loaded": s.loaded,
            "degraded": s.degraded or stale,
            "position": s.position,
            "version": s.version,
            "size": len(s),
            "lag_seconds": s.lag(),
            "reloads": s.reloads,
            "fail_open": self.fail_open,
        }
        return 200 if status == "ok" else 503, JSON, json.dumps(body)

    def _metrics(self) -> tuple[int, Headers, bytes]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from beian.gate.metrics import registry_for

        return 200, [("content-type", CONTENT_TYPE_LATEST)], generate_latest(registry_for(self))

    # -- the RSGI front end (granian) --------------------------------------------------------------------
    async def __rsgi__(self, scope, proto) -> None:
        if scope.path == "/check" and not scope.query_string:
            status, headers = self.check(host_of(scope.headers))
            proto.response_empty(status, headers)
            return
        status, headers, body = self.respond(scope.path, scope.query_string, host_of(scope.headers))
        if isinstance(body, str):
            proto.response_str(status, headers, body)
        else:
            proto.response_bytes(status, headers, body)


app = Gate()
