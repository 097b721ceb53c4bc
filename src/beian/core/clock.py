"""The one source of "now" for services, so that tests can move time (lockouts, expiry, ETAs)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

_offset = dt.timedelta(0)


def now() -> dt.datetime:
    return timezone.now() + _offset


def today() -> dt.date:
    """Today in China (Asia/Shanghai): working days are the bureaus' days."""
    return timezone.localdate(now())


def advance(delta: dt.timedelta) -> None:
    """Tests only: move the clock forward (or back with a negative delta)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = dt.timedelta(0)
