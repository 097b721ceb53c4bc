"""Per-IP token buckets for the public query, in the worker process (no database write per query).

Each worker keeps its own buckets, so with W workers an address gets at most W times the rate; the
figures are settings (``BEIAN_PUBLIC_RATE`` requests per second, ``BEIAN_PUBLIC_BURST``).
"""

from __future__ import annotations

import math
import threading
import time

_lock = threading.Lock()
_buckets: dict[str, tuple[float, float]] = {}
MAX_TRACKED = 100_000


def take(ip: str, *, rate: float, burst: int, cost: float = 1.0) -> float:
    """Take ``cost`` tokens for ``ip``; returns 0 when allowed, else the seconds to wait."""
    now = time.monotonic()
    with _lock:
        tokens, stamp = _buckets.get(ip, (float(burst), now))
        tokens = min(float(burst), tokens + (now - stamp) * rate)
        if tokens < cost:
            _buckets[ip] = (tokens, now)
            return max(1.0, math.ceil((cost - tokens) / rate))
        if len(_buckets) >= MAX_TRACKED and ip not in _buckets:
            _buckets.clear()  # a flood of addresses: forget them all rather than grow without bound
        _buckets[ip] = (tokens - cost, now)
        return 0.0


def reset() -> None:
    with _lock:
        _buckets.clear()
