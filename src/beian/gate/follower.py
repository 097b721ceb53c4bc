"""Keeping the served set fresh: a full load at start, then the change feed.

The feed is polled for ``seq > position`` every ``poll_interval`` seconds (100 ms by default, what SQLite
gets); on PostgreSQL the follower also LISTENs on the ``beian_feed`` channel, which every approving
transaction notifies on commit, so a change usually arrives within a few milliseconds and polling is only
the fallback. The load reads the feed position first and the served domains second; replaying the feed
from that position afterwards converges to the exact set even if approvals happened in between.

Faults: when the database is unreachable the set is kept (fail-static) and the gate reports itself
degraded; the follower retries with backoff. Nothing here runs on the request path.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from beian.gate.served import ServedSet

log = logging.getLogger("beian.gate")

SERVED_SQL = (
    "SELECT d.name FROM beian_domain d JOIN beian_website w ON w.id = d.website_id "
    "WHERE d.status = 'active' AND w.status = 'active' AND w.served_here"
)
FEED_SQL = "SELECT seq, domain, action FROM beian_feed WHERE seq > %s ORDER BY seq LIMIT 10000"


def load(served: ServedSet, *, batch: int = 50_000) -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM beian_feed")
        position = int(cur.fetchone()[0])
    # A server-side cursor on PostgreSQL: millions of names stream in batches instead of arriving at once.
    with connection.chunked_cursor() as cur:
        cur.execute(SERVED_SQL)

        def names():
            while rows := cur.fetchmany(batch):
                for (name,) in rows:
                    yield name

        served.replace(names(), position)
    catch_up(served)
    return len(served)


def catch_up(served: ServedSet) -> int:
    from django.db import connection

    applied = 0
    with connection.cursor() as cur:
        while True:
            cur.execute(FEED_SQL, [served.position])
            rows = cur.fetchall()
            applied += served.apply(rows)
            if len(rows) < 10000:
                break
    served.synced_at = time.time()
    return applied


class Follower(threading.Thread):
    def __init__(self, served: ServedSet, *, poll_interval: float = 0.1) -> None:
        super().__init__(name="beian-gate-follower", daemon=True)
        self.served = served
        self.poll_interval = poll_interval
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import close_old_connections, connection

        self.backoff = 0.2
        while not self.stop.is_set():
            try:
                if not self.served.loaded:
                    started = time.monotonic()
                    size = load(self.served)
                    log.warning(
                        "gate: loaded %d domains in %.2f s at feed position %d",
                        size,
                        time.monotonic() - started,
                        self.served.position,
                    )
                if connection.vendor == "postgresql":
                    self._listen_loop()
                else:
                    catch_up(self.served)
                    self.served.degraded = False
                    self.backoff = 0.2
                    self.stop.wait(self.poll_interval)
            except Exception as exc:  # the database went away: keep the last set, retry
                if not self.served.degraded:
                    log.warning("gate: database unreachable, serving the last known set: %s", exc)
                self.served.degraded = True
                close_old_connections()
                with contextlib.suppress(Exception):  # the connection is already broken
                    connection.close()
                self.stop.wait(self.backoff)
                self.backoff = min(self.backoff * 2, 5.0)

    def _listen_loop(self) -> None:
        """PostgreSQL: LISTEN on a dedicated autocommit connection; poll on every notification and at
        least once a second."""
        import psycopg
        from django.db import connection

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute("LISTEN beian_feed")
            catch_up(self.served)
            self.served.degraded = False
            self.backoff = 0.2
            while not self.stop.is_set():
                for _ in listener.notifies(timeout=1.0, stop_after=1):
                    break
                catch_up(self.served)
                self.served.degraded = False
