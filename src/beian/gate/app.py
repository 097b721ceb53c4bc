"""The gate: an RSGI application for granian with no framework on the request path.

nginx asks ``GET /check`` (``auth_request``) with the original host in ``X-Original-Host`` (or
``X-Forwarded-Host``, or ``Host``): 204 serve, 403 block. ``GET /check?host=NAME`` answers JSON for humans.
``/healthz`` reports the feed position, lag and set size (503 while not loaded or degraded); ``/version`` a
tag of the set's contents (polled by nginx in ``docs/nginx/beian-gate-lua.conf``);
``/metrics`` exports Prometheus metrics.

Start-up (``__rsgi_init__``) sets Django up for the database settings only and starts the follower thread
that loads the set and follows the feed; requests read the in-memory set and nothing else.
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
        self._version = ""
        self.stale_after = float(os.environ.get("BEIAN_GATE_STALE_AFTER", "5"))  # seconds without a sync

    # -- lifecycle -------------------------------------------------------------------------------------
    def __rsgi_init__(self, loop) -> None:
        if not self.follow:
            return
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
        import django

        django.setup()
        from beian.gate.follower import Follower

        interval = float(os.environ.get("BEIAN_GATE_POLL_INTERVAL", "0.1"))
        self.follower = Follower(self.served, poll_interval=interval)
        self.follower.start()

    def __rsgi_del__(self, loop) -> None:
        if self.follower is not None:
            self.follower.stop.set()

    # -- decisions -------------------------------------------------------------------------------------
    def decide(self, raw_host: str | None) -> tuple[bool, str | None, str | None]:
        """(serve?, normalised host, matched filing name), remembered per raw Host value until the set changes."""
        served = self.served
        if self._memo_generation != served.generation or not served.loaded:
            # A new dict, not clear(): a request that began on the old set writes into the discarded one.
            self._memo, self._memo_generation = {}, served.generation
            self._version = str(served.version)  # the X-Beian-Version of every answer until the next change
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

    async def __rsgi__(self, scope, proto) -> None:
        path = scope.path
        if path == "/check":
            if scope.query_string:
                return self._explain(scope, proto)
            headers = scope.headers
            host = headers.get("x-original-host") or headers.get("x-forwarded-host") or headers.get("host")
            ok, _, _ = self.decide(host)
            # nginx's proxy_cache_valid counts whole seconds (an entry lives 1-2 s); an absolute expiry at the
            # current second keeps a cached decision about a second old at most (measured 0.6-1.0 s, bench).
            headers = [("x-accel-expires", f"@{int(time.time())}")]
            if self.served.loaded:
                # The version of the set the decision was made on: beian-gate-lua.conf keeps a decision only
                # while the version holds (none before the load: a fail-closed answer is never kept).
                headers.append(("x-beian-version", self._version))
            proto.response_empty(204 if ok else 403, headers)
            return None
        if path == "/version":
            # Polled by beian-gate-lua.conf every 100 ms: any change of the served set changes it.
            if self.served.loaded:
                proto.response_str(200, PLAIN, str(self.served.version))
            else:
                proto.response_str(503, PLAIN, "loading")
            return None
        if path == "/healthz":
            return self._health(proto)
        if path == "/metrics":
            return self._metrics(proto)
        proto.response_str(404, JSON, '{"code": "not_found"}')
        return None

    def _explain(self, scope, proto) -> None:
        query = parse_qs(scope.query_string)
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
        proto.response_str(200 if ok else 403, JSON, json.dumps(body, ensure_ascii=False))

    def _health(self, proto) -> None:
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
        proto.response_str(200 if status == "ok" else 503, JSON, json.dumps(body))

    def _metrics(self, proto) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from beian.gate.metrics import registry_for

        proto.response_bytes(
            200, [("content-type", CONTENT_TYPE_LATEST)], generate_latest(registry_for(self))
        )


app = Gate()
